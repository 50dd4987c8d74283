package tenantkeys

import (
	"context"

	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// Instrument names (see WithMeterProvider and WithTracerProvider).
const (
	// MetricCacheHits and MetricCacheMisses count Cache lookups served from
	// memory and lookups that went to the provider (or waited for a load).
	MetricCacheHits   = "dynaseal.tenantkeys.cache.hits"
	MetricCacheMisses = "dynaseal.tenantkeys.cache.misses"
	// SpanUnwrap is the span around each unwrap of a stored tenant key by
	// the Store's Wrapper (a KMS Decrypt for the KMS wrapper).
	SpanUnwrap = "dynaseal.tenantkeys.Unwrap"
	// SpanCreate is the span around the creation of a tenant key's first
	// version (Admin.Create, the beacon key Create adds, and creation on
	// first use): key generation (a KMS GenerateDataKey) and the write.
	SpanCreate = "dynaseal.tenantkeys.Create"
	// SpanRotate is the span around the new version Admin.Rotate makes.
	SpanRotate = "dynaseal.tenantkeys.Rotate"
)

const instrumentationScope = "github.com/dynaseal/dynaseal/tenantkeys"

// WithTracerProvider traces with tp (smithy-go's interface, the one
// aws-sdk-go-v2 clients take) a span SpanUnwrap around every key unwrap,
// and SpanCreate and SpanRotate around every key creation and rotation
// (Store only), with the key class and version as properties (never the
// tenant id or key material).
func WithTracerProvider(tp tracing.TracerProvider) Option {
	return func(o *options) { o.tracerProvider = tp }
}

// WithMeterProvider counts cache hits and misses with mp (smithy-go's
// interface) as MetricCacheHits and MetricCacheMisses (Cache only).
func WithMeterProvider(mp metrics.MeterProvider) Option {
	return func(o *options) { o.meterProvider = mp }
}

// startSpan starts span name for ref when the Store traces; end records
// the outcome and ends it.
func (s *Store) startSpan(ctx context.Context, name string, ref attrcrypt.KeyRef) (context.Context, func(error)) {
	tp := s.opts.tracerProvider
	if tp == nil {
		return ctx, func(error) {}
	}
	ctx, sp := tp.Tracer(instrumentationScope).StartSpan(ctx, name)
	sp.SetProperty("dynaseal.key.class", ref.Class)
	sp.SetProperty("dynaseal.key.version", int64(ref.Version))
	return ctx, func(err error) {
		if err != nil {
			sp.SetStatus(tracing.SpanStatusError)
		} else {
			sp.SetStatus(tracing.SpanStatusOK)
		}
		sp.End()
	}
}

// cacheMeters returns the hit and miss counters, nil without a provider.
func cacheMeters(o options) (hits, misses metrics.Int64Counter) {
	if o.meterProvider == nil {
		return nil, nil
	}
	m := o.meterProvider.Meter(instrumentationScope)
	hits, err := m.Int64Counter(MetricCacheHits)
	if err != nil {
		hits = nil
	}
	misses, err = m.Int64Counter(MetricCacheMisses)
	if err != nil {
		misses = nil
	}
	return hits, misses
}

func count(ctx context.Context, c metrics.Int64Counter) {
	if c != nil {
		c.Add(ctx, 1)
	}
}
