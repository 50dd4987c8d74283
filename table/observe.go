package table

import (
	"context"

	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// Instrument names of the table's counters (see WithMeterProvider).
const (
	// MetricConflicts counts writes that lost an optimistic-locking race
	// (a version or header that moved, a read item that changed before a
	// ReadModifyWrite commit, a concurrent transaction).
	MetricConflicts = "dynaseal.table.conflicts"
	// MetricRetries counts reruns of Update (RetryConflicts) and of
	// ReadModifyWrite after a conflict.
	MetricRetries = "dynaseal.table.retries"
	// MetricTampered counts stored items that failed verification
	// (ErrTampered).
	MetricTampered = "dynaseal.table.tampered"
	// MetricBeaconCollisions counts verified items a search (Find,
	// FindCompound) dropped because their value only shared the truncated
	// beacon of the searched one.
	MetricBeaconCollisions = "dynaseal.table.beacon_collisions"
	// SpanKeyLoad is the name of the span around each tenant key load.
	SpanKeyLoad = "dynaseal.KeyLoad"
)

// observer holds the table's tracer and counters; its zero value (no
// provider given) records nothing and costs one nil check per event.
type observer struct {
	tracer                                  tracing.Tracer
	conflicts, retries, tampers, collisions metrics.Int64Counter
}

// WithTracerProvider traces the table's work with tp (smithy-go's
// interface, the one aws-sdk-go-v2 clients take, so an OpenTelemetry
// adapter serves both): a span SpanKeyLoad around every tenant key load,
// with the key class and version as properties (never key bytes).
func WithTracerProvider(tp tracing.TracerProvider) Option {
	return func(o *config) { o.tracerProvider = tp }
}

// WithMeterProvider counts the table's events with mp (smithy-go's
// interface): MetricConflicts, MetricRetries and MetricTampered, Int64
// counters of the meter "github.com/dynaseal/dynaseal/table".
func WithMeterProvider(mp metrics.MeterProvider) Option {
	return func(o *config) { o.meterProvider = mp }
}

const instrumentationScope = "github.com/dynaseal/dynaseal/table"

func newObserver(c *config) (*observer, error) {
	o := &observer{}
	if c.tracerProvider != nil {
		o.tracer = c.tracerProvider.Tracer(instrumentationScope)
	}
	if c.meterProvider != nil {
		m := c.meterProvider.Meter(instrumentationScope)
		for name, dst := range map[string]*metrics.Int64Counter{MetricConflicts: &o.conflicts, MetricRetries: &o.retries, MetricTampered: &o.tampers, MetricBeaconCollisions: &o.collisions} {
			ctr, err := m.Int64Counter(name)
			if err != nil {
				return nil, err
			}
			*dst = ctr
		}
	}
	return o, nil
}

func (o *observer) add(ctx context.Context, c metrics.Int64Counter) {
	if o != nil && c != nil {
		c.Add(ctx, 1)
	}
}

func (o *observer) conflict(ctx context.Context)  { o.add(ctx, o.conflicts) }
func (o *observer) retry(ctx context.Context)     { o.add(ctx, o.retries) }
func (o *observer) tampered(ctx context.Context)  { o.add(ctx, o.tampers) }
func (o *observer) collision(ctx context.Context) { o.add(ctx, o.collisions) }

// keySpan starts a SpanKeyLoad span; end records the outcome and ends it.
func (o *observer) keySpan(ctx context.Context, class string, version uint32) (context.Context, func(error)) {
	if o == nil || o.tracer == nil {
		return ctx, func(error) {}
	}
	ctx, sp := o.tracer.StartSpan(ctx, SpanKeyLoad)
	sp.SetProperty("dynaseal.key.class", class)
	if version != 0 {
		sp.SetProperty("dynaseal.key.version", int64(version))
	}
	return ctx, func(err error) {
		if err != nil {
			sp.SetStatus(tracing.SpanStatusError)
		} else {
			sp.SetStatus(tracing.SpanStatusOK)
		}
		sp.End()
	}
}

// currentKey is keys.CurrentKey inside a key-load span.
func (t *Table[T]) currentKey(ctx context.Context, tenant string) (attrcrypt.Key, error) {
	sctx, end := t.obs.keySpan(ctx, t.class, 0)
	k, err := t.keys.CurrentKey(sctx, tenant, t.class)
	end(err)
	return k, err
}

// keyByRef is keys.Key inside a key-load span.
func (t *Table[T]) keyByRef(ctx context.Context, ref attrcrypt.KeyRef) (attrcrypt.Key, error) {
	sctx, end := t.obs.keySpan(ctx, ref.Class, ref.Version)
	k, err := t.keys.Key(sctx, ref)
	end(err)
	return k, err
}
