package tenantkeys_test

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/dynaseal/dynaseal/tenantkeys"
)

// counting records Int64 counter adds and ended span names.
type counting struct {
	metrics.NopMeter
	mu     sync.Mutex
	counts map[string]int64
	props  []map[any]any
}

func (c *counting) Meter(string, ...metrics.MeterOption) metrics.Meter { return c }

func (c *counting) Int64Counter(name string, _ ...metrics.InstrumentOption) (metrics.Int64Counter, error) {
	return countingAdd{c, name}, nil
}

func (c *counting) Tracer(string, ...tracing.TracerOption) tracing.Tracer { return c }

func (c *counting) StartSpan(ctx context.Context, name string, _ ...tracing.SpanOption) (context.Context, tracing.Span) {
	return ctx, &countingSpan{c: c, name: name, props: map[any]any{}}
}

func (c *counting) get(name string) int64 { c.mu.Lock(); defer c.mu.Unlock(); return c.counts[name] }

type countingAdd struct {
	c    *counting
	name string
}

func (a countingAdd) Add(_ context.Context, n int64, _ ...metrics.RecordMetricOption) {
	a.c.mu.Lock()
	a.c.counts[a.name] += n
	a.c.mu.Unlock()
}

type countingSpan struct {
	c     *counting
	name  string
	props map[any]any
}

func (s *countingSpan) Name() string                            { return s.name }
func (s *countingSpan) Context() tracing.SpanContext            { return tracing.SpanContext{} }
func (s *countingSpan) AddEvent(string, ...tracing.EventOption) {}
func (s *countingSpan) SetStatus(tracing.SpanStatus)            {}
func (s *countingSpan) SetProperty(k, v any)                    { s.props[k] = v }
func (s *countingSpan) End() {
	s.c.mu.Lock()
	s.c.counts["span:"+s.name]++
	s.c.props = append(s.c.props, s.props)
	s.c.mu.Unlock()
}

// TestObservabilityCacheAndUnwrap: a Cache given a meter provider counts
// hits and misses; a Store given a tracer provider spans every unwrap.
func TestObservabilityCacheAndUnwrap(t *testing.T) {
	rec := &counting{counts: map[string]int64{}}
	st := tenantkeys.NewMemoryStore(testKeyring(t), tenantkeys.WithCreateOnFirstUse(true), tenantkeys.WithTracerProvider(rec))
	c := tenantkeys.NewCache(st, tenantkeys.WithMeterProvider(rec))
	ctx := context.Background()
	k, err := c.CurrentKey(ctx, "t1", "")
	if err != nil {
		t.Fatal(err)
	}
	k.Zero()
	for range 3 {
		k, err := c.CurrentKey(ctx, "t1", "")
		if err != nil {
			t.Fatal(err)
		}
		k.Zero()
	}
	if h, m := rec.get(tenantkeys.MetricCacheHits), rec.get(tenantkeys.MetricCacheMisses); h != 3 || m != 1 {
		t.Fatalf("hits %d misses %d, want 3 and 1", h, m)
	}
	// A Store read past the cache unwraps once more.
	k, err = st.Key(ctx, ref("t1", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	k.Zero()
	if n := rec.get("span:" + tenantkeys.SpanUnwrap); n < 1 {
		t.Fatalf("%d unwrap spans", n)
	}
	for _, p := range rec.props {
		if p["dynaseal.key.version"] != int64(1) {
			t.Fatalf("unwrap span properties %v", p)
		}
	}
}
