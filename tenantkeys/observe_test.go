package tenantkeys_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/dynaseal/dynaseal/attrcrypt"
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
func (s *countingSpan) SetStatus(st tracing.SpanStatus)         { s.props["status"] = st }
func (s *countingSpan) SetProperty(k, v any)                    { s.props[k] = v }
func (s *countingSpan) End() {
	s.c.mu.Lock()
	s.c.counts["span:"+s.name]++
	s.props["name"] = s.name
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
		if p["name"] != tenantkeys.SpanUnwrap {
			continue // the first-use creation's span
		}
		if p["dynaseal.key.version"] != int64(1) {
			t.Fatalf("unwrap span properties %v", p)
		}
	}
}

// failingWrapper fails every key generation.
type failingWrapper struct{ tenantkeys.Wrapper }

func (failingWrapper) GenerateKey(context.Context, attrcrypt.KeyRef) (attrcrypt.Key, tenantkeys.Wrapped, error) {
	return attrcrypt.Key{}, tenantkeys.Wrapped{}, tenantkeys.ErrKMSUnavailable
}

// TestObservabilityKeyCreationSpans: a Store given a tracer provider spans
// every key creation (Create, the beacon key it adds, first use) and
// rotation, with class, version and outcome, and no tenant id.
func TestObservabilityKeyCreationSpans(t *testing.T) {
	ctx := context.Background()
	rec := &counting{counts: map[string]int64{}}
	kr := testKeyring(t)
	st := tenantkeys.NewMemoryStore(kr, tenantkeys.WithTracerProvider(rec))
	spans := func() []map[any]any {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		out := rec.props
		rec.props = nil
		return out
	}
	want := func(step string, got []map[any]any, names []string, classes []string, versions []int64, status tracing.SpanStatus) {
		t.Helper()
		var create []map[any]any
		for _, p := range got {
			if p["name"] != tenantkeys.SpanUnwrap {
				create = append(create, p)
			}
		}
		if len(create) != len(names) {
			t.Fatalf("%s: %d creation spans %v, want %v", step, len(create), create, names)
		}
		for i, p := range create {
			if p["name"] != names[i] || p["dynaseal.key.class"] != classes[i] || p["dynaseal.key.version"] != versions[i] || p["status"] != status {
				t.Fatalf("%s: span %d = %v, want %s class %q version %d status %v", step, i, p, names[i], classes[i], versions[i], status)
			}
			for k, v := range p {
				if v == "acme" || v == "fresh" {
					t.Fatalf("%s: span property %v carries the tenant id", step, k)
				}
			}
		}
	}
	if _, err := st.Create(ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	want("Create", spans(), []string{tenantkeys.SpanCreate, tenantkeys.SpanCreate}, []string{tenantkeys.BeaconClass(""), ""}, []int64{1, 1}, tracing.SpanStatusOK)
	if _, err := st.Rotate(ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	want("Rotate", spans(), []string{tenantkeys.SpanRotate}, []string{""}, []int64{2}, tracing.SpanStatusOK)
	first := tenantkeys.SameBackend(st, kr, tenantkeys.WithCreateOnFirstUse(true), tenantkeys.WithTracerProvider(rec))
	k, err := first.CurrentKey(ctx, "fresh", "pay")
	if err != nil {
		t.Fatal(err)
	}
	k.Zero()
	want("first use", spans(), []string{tenantkeys.SpanCreate}, []string{"pay"}, []int64{1}, tracing.SpanStatusOK)
	failing := tenantkeys.SameBackend(st, failingWrapper{kr}, tenantkeys.WithTracerProvider(rec))
	if _, err := failing.Create(ctx, "other", "x"); !errors.Is(err, tenantkeys.ErrKMSUnavailable) {
		t.Fatalf("failing Create: err = %v", err)
	}
	want("failed Create", spans(), []string{tenantkeys.SpanCreate}, []string{tenantkeys.BeaconClass("x")}, []int64{1}, tracing.SpanStatusError)
}
