package table_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/dynaseal/dynaseal/table"
)

// recMeter is a meter provider whose Int64 counters add into a map.
type recMeter struct {
	metrics.NopMeter
	mu     sync.Mutex
	counts map[string]int64
}

func (m *recMeter) Meter(string, ...metrics.MeterOption) metrics.Meter { return m }

func (m *recMeter) Int64Counter(name string, _ ...metrics.InstrumentOption) (metrics.Int64Counter, error) {
	return recCounter{m, name}, nil
}

func (m *recMeter) get(name string) int64 { m.mu.Lock(); defer m.mu.Unlock(); return m.counts[name] }

type recCounter struct {
	m    *recMeter
	name string
}

func (c recCounter) Add(_ context.Context, n int64, _ ...metrics.RecordMetricOption) {
	c.m.mu.Lock()
	c.m.counts[c.name] += n
	c.m.mu.Unlock()
}

// recTracer is a tracer provider that records ended spans.
type recTracer struct {
	mu    sync.Mutex
	spans []*recSpan
}

func (r *recTracer) Tracer(string, ...tracing.TracerOption) tracing.Tracer { return r }

func (r *recTracer) StartSpan(ctx context.Context, name string, _ ...tracing.SpanOption) (context.Context, tracing.Span) {
	return ctx, &recSpan{r: r, name: name, props: map[any]any{}}
}

func (r *recTracer) ended(name string) []*recSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*recSpan
	for _, s := range r.spans {
		if s.name == name {
			out = append(out, s)
		}
	}
	return out
}

type recSpan struct {
	r      *recTracer
	name   string
	props  map[any]any
	status tracing.SpanStatus
}

func (s *recSpan) Name() string                            { return s.name }
func (s *recSpan) Context() tracing.SpanContext            { return tracing.SpanContext{} }
func (s *recSpan) AddEvent(string, ...tracing.EventOption) {}
func (s *recSpan) SetStatus(st tracing.SpanStatus)         { s.status = st }
func (s *recSpan) SetProperty(k, v any)                    { s.props[k] = v }
func (s *recSpan) End()                                    { s.r.mu.Lock(); s.r.spans = append(s.r.spans, s); s.r.mu.Unlock() }

// TestObservabilitySpansAndCounters checks the spans and counters of key
// loads, conflicts, retries and tamper events, through providers given as
// options.
func TestObservabilitySpansAndCounters(t *testing.T) {
	e := newEnv(t)
	tr, mt := &recTracer{}, &recMeter{counts: map[string]int64{}}
	pt, name := patients(t, e, table.WithTracerProvider(tr), table.WithMeterProvider(mt), table.WithKeyClass(""))
	ctx := context.Background()
	ps := pt.For("tenant-a")

	p := &Patient{ID: "p1", Name: "Ada"}
	if err := ps.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.Get(ctx, sk("p1")); err != nil {
		t.Fatal(err)
	}
	spans := tr.ended(table.SpanKeyLoad)
	if len(spans) != 2 || spans[0].status != tracing.SpanStatusOK || spans[1].props["dynaseal.key.version"] != int64(1) {
		t.Fatalf("key-load spans after a write and a read: %d %+v", len(spans), spans)
	}
	for _, sp := range spans {
		for k, v := range sp.props {
			if v == "Ada" || v == "tenant-a" {
				t.Fatalf("span property %v carries item data", k)
			}
		}
	}

	// A stale Put is a conflict.
	stale := *p
	stale.Version = 0
	p.Plan = "x"
	if err := ps.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	stale.Version = 1
	if err := ps.Put(ctx, &stale); !errors.Is(err, table.ErrConflict) {
		t.Fatalf("stale put: %v", err)
	}
	if got := mt.get(table.MetricConflicts); got != 1 {
		t.Fatalf("conflicts after a stale put: %d, want 1", got)
	}

	// An Update that loses one race is retried once.
	runs := 0
	if _, err := ps.Update(ctx, sk("p1"), func(v *Patient) error {
		runs++
		if runs == 1 {
			if _, err := ps.Update(ctx, sk("p1"), func(v *Patient) error { v.Count++; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		v.Plan = "y"
		return nil
	}, table.RetryConflicts(3)); err != nil {
		t.Fatal(err)
	}
	if got := mt.get(table.MetricRetries); got != 1 || mt.get(table.MetricConflicts) != 2 {
		t.Fatalf("retries %d conflicts %d after one lost race, want 1 and 2", got, mt.get(table.MetricConflicts))
	}

	// A ReadModifyWrite that loses one race is retried once.
	runs = 0
	if err := table.ReadModifyWrite(ctx, e.c, 3, func(ctx context.Context, tx *table.TxBuilder) error {
		runs++
		v, err := ps.ReadIn(ctx, tx, sk("p1"))
		if err != nil {
			return err
		}
		if runs == 1 {
			if _, err := ps.Update(ctx, sk("p1"), func(v *Patient) error { v.Count++; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		v.Plan = "z"
		tx.Write(ps.TxPut(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := mt.get(table.MetricRetries); got != 2 || mt.get(table.MetricConflicts) != 3 {
		t.Fatalf("retries %d conflicts %d after a lost RMW race, want 2 and 3", got, mt.get(table.MetricConflicts))
	}

	// A tampered item is counted.
	item := rawGet(t, e.c, name, pkey("tenant-a", "p1"))
	item["plan"] = table.S("edited")
	rawPut(t, e.c, name, item)
	if _, err := ps.Get(ctx, sk("p1")); !errors.Is(err, table.ErrTampered) {
		t.Fatalf("tampered get: %v", err)
	}
	if got := mt.get(table.MetricTampered); got != 1 {
		t.Fatalf("tampered counter %d, want 1", got)
	}
}

// conflicting answers every TransactWriteItems as cancelled by another
// transaction, the way DynamoDB does when two transactions touch one item.
type conflicting struct {
	*dynamodb.Client
	whole bool // the whole call fails with TransactionConflictException
}

func (c *conflicting) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if c.whole {
		return nil, &types.TransactionConflictException{Message: aws.String("conflict")}
	}
	reasons := make([]types.CancellationReason, len(in.TransactItems))
	for i := range reasons {
		reasons[i] = types.CancellationReason{Code: aws.String("None")}
	}
	reasons[0].Code = aws.String("TransactionConflict")
	return nil, &types.TransactionCanceledException{Message: aws.String("cancelled"), CancellationReasons: reasons}
}

// TestObservabilityTransactionConflicts: a transaction cancelled by another
// one (for one op or for the whole call) counts one conflict on each table
// it writes, and reads as ErrConflict.
func TestObservabilityTransactionConflicts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, whole := range []bool{false, true} {
		mt := &recMeter{counts: map[string]int64{}}
		name := createTable[Patient](t, e, "patients", nil)
		c := &conflicting{Client: e.c, whole: whole}
		pt, err := table.New[Patient](c, name, e.rec, table.WithMeterProvider(mt))
		if err != nil {
			t.Fatal(err)
		}
		ps := pt.For("tenant-a")
		err = table.TransactWrite(ctx, c, ps.TxCreate(&Patient{ID: "p1"}), ps.TxCreate(&Patient{ID: "p2"}))
		if !errors.Is(err, table.ErrConflict) {
			t.Fatalf("whole=%v: %v, want ErrConflict", whole, err)
		}
		if got := mt.get(table.MetricConflicts); got != 1 {
			t.Fatalf("whole=%v: conflicts %d, want 1 (one per table, not per op)", whole, got)
		}
	}
}
