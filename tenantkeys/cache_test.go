package tenantkeys_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest/kmslocal"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// kmsStore is an in-memory key store whose keys are wrapped by kmslocal
// through the real KMS client, one KMS key shared by all tenants.
func kmsStore(t testing.TB, srv *kmslocal.Server, opts ...tenantkeys.Option) *tenantkeys.Store {
	t.Helper()
	w := tenantkeys.NewKMSWrapper(srv.Client(), tenantkeys.SharedKey(srv.CreateKey("shared")))
	return tenantkeys.NewMemoryStore(w, opts...)
}

func TestCacheOneKMSCallFor1000Goroutines(t *testing.T) {
	ctx := context.Background()
	srv := startKMS(t)
	store := kmsStore(t, srv)
	if _, err := store.Create(ctx, "hot", ""); err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	// Slow KMS answers keep the load in flight while all goroutines ask.
	srv.SetLatency(100 * time.Millisecond)
	c := tenantkeys.NewCache(store)
	const n = 1000
	var wg sync.WaitGroup
	start := make(chan struct{})
	keys := make([]attrcrypt.Key, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			keys[i], errs[i] = c.CurrentKey(ctx, "hot", "")
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || keys[i].Material != keys[0].Material || keys[i].IsZero() {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
	}
	if got := srv.Calls("Decrypt"); got != 1 {
		t.Fatalf("KMS Decrypt calls = %d, want 1", got)
	}
	st := c.Stats()
	if st.Loads != 1 || st.Hits+st.Misses != n {
		t.Fatalf("stats = %+v", st)
	}
	// The current key also answers Key(ref) for its version.
	srv.SetLatency(0)
	if _, err := c.Key(ctx, ref("hot", "", 1)); err != nil || srv.Calls("Decrypt") != 1 {
		t.Fatalf("Key(current version) called KMS again: %v, %d calls", err, srv.Calls("Decrypt"))
	}
}

func TestCacheTTLSeesRotation(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := tenantkeys.NewMemoryStore(testKeyring(t), tenantkeys.WithCreateOnFirstUse(true))
	c := tenantkeys.NewCache(store, tenantkeys.WithTTL(time.Minute), tenantkeys.WithClock(clk.Now))
	k1 := mustKey(t)(c.CurrentKey(ctx, "t", ""))
	if _, err := store.Rotate(ctx, "t", ""); err != nil { // another process
		t.Fatal(err)
	}
	clk.Advance(59 * time.Second)
	if k := mustKey(t)(c.CurrentKey(ctx, "t", "")); k.Ref.Version != 1 || k.Material != k1.Material {
		t.Fatalf("before TTL: %s", k.Ref)
	}
	clk.Advance(time.Second)
	if k := mustKey(t)(c.CurrentKey(ctx, "t", "")); k.Ref.Version != 2 {
		t.Fatalf("after TTL: %s, want version 2", k.Ref)
	}
	// The old version is still served.
	if k := mustKey(t)(c.Key(ctx, ref("t", "", 1))); k.Material != k1.Material {
		t.Fatal("old version has other material")
	}
	if st := c.Stats(); st.Expirations < 2 || st.Loads != 3 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestCacheKMSOutage(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	srv := startKMS(t)
	store := kmsStore(t, srv)
	for _, tenant := range []string{"warm", "cold"} {
		if _, err := store.Create(ctx, tenant, ""); err != nil {
			t.Fatal(err)
		}
	}
	c := tenantkeys.NewCache(store, tenantkeys.WithTTL(time.Minute), tenantkeys.WithClock(clk.Now))
	warm := mustKey(t)(c.CurrentKey(ctx, "warm", ""))
	modes := []kmslocal.OutageMode{kmslocal.OutageRefuse, kmslocal.OutageDrop, kmslocal.Outage503}
	for _, mode := range modes {
		if err := srv.SetOutage(mode); err != nil {
			t.Fatal(err)
		}
		// Warm: served from the cache during the outage.
		if k := mustKey(t)(c.CurrentKey(ctx, "warm", "")); k.Material != warm.Material {
			t.Fatal("warm key changed")
		}
		// Cold: fails with ErrKMSUnavailable.
		if _, err := c.CurrentKey(ctx, "cold", ""); !errors.Is(err, tenantkeys.ErrKMSUnavailable) {
			t.Fatalf("cold key during outage %d: err = %v, want ErrKMSUnavailable", mode, err)
		}
	}
	// Past the TTL the warm key must be refetched, and that fails too.
	clk.Advance(time.Minute)
	if _, err := c.CurrentKey(ctx, "warm", ""); !errors.Is(err, tenantkeys.ErrKMSUnavailable) {
		t.Fatalf("warm key after TTL during outage: err = %v, want ErrKMSUnavailable", err)
	}
	if err := srv.SetOutage(kmslocal.OutageNone); err != nil {
		t.Fatal(err)
	}
	mustKey(t)(c.CurrentKey(ctx, "warm", ""))
	if st := c.Stats(); st.LoadErrors != uint64(len(modes)+1) {
		t.Fatalf("load errors = %d, want %d", st.LoadErrors, len(modes)+1)
	}
}

func TestCacheTenantDisablesItsKMSKey(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	srv := startKMS(t)
	for _, tenant := range []string{"a", "b"} {
		if err := srv.SetAlias("alias/tenant-"+tenant, srv.CreateKey(tenant)); err != nil {
			t.Fatal(err)
		}
	}
	w := tenantkeys.NewKMSWrapper(srv.Client(), tenantkeys.AliasPattern("alias/tenant-{tenant}"))
	store := tenantkeys.NewMemoryStore(w, tenantkeys.WithCreateOnFirstUse(true))
	c := tenantkeys.NewCache(store, tenantkeys.WithTTL(time.Minute), tenantkeys.WithClock(clk.Now))
	mustKey(t)(c.CurrentKey(ctx, "a", ""))
	mustKey(t)(c.CurrentKey(ctx, "b", ""))
	// Tenant a revokes access to its own key.
	if _, err := srv.Client().DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String("alias/tenant-a")}); err != nil {
		t.Fatal(err)
	}
	mustKey(t)(c.CurrentKey(ctx, "a", "")) // still cached
	clk.Advance(time.Minute)
	if _, err := c.CurrentKey(ctx, "a", ""); !errors.Is(err, tenantkeys.ErrKeyDisabled) {
		t.Fatalf("tenant a after TTL: err = %v, want ErrKeyDisabled", err)
	}
	if _, err := c.Key(ctx, ref("a", "", 1)); !errors.Is(err, tenantkeys.ErrKeyDisabled) {
		t.Fatalf("tenant a Key after TTL: err = %v, want ErrKeyDisabled", err)
	}
	mustKey(t)(c.CurrentKey(ctx, "b", ""))
	mustKey(t)(c.Key(ctx, ref("b", "", 1)))
}

func TestCacheShreddedTenantAfterTTL(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := tenantkeys.NewMemoryStore(testKeyring(t), tenantkeys.WithCreateOnFirstUse(true))
	c := tenantkeys.NewCache(store, tenantkeys.WithTTL(time.Minute), tenantkeys.WithClock(clk.Now))
	mustKey(t)(c.CurrentKey(ctx, "gone", ""))
	mustKey(t)(c.CurrentKey(ctx, "stays", ""))
	if err := store.Shred(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if _, err := c.CurrentKey(ctx, "gone", ""); !errors.Is(err, tenantkeys.ErrKeyShredded) {
		t.Fatalf("CurrentKey after shred and TTL: err = %v, want ErrKeyShredded", err)
	}
	if _, err := c.Key(ctx, ref("gone", "", 1)); !errors.Is(err, tenantkeys.ErrKeyShredded) {
		t.Fatalf("Key after shred and TTL: err = %v, want ErrKeyShredded", err)
	}
	mustKey(t)(c.CurrentKey(ctx, "stays", ""))
}

// countingProvider hands out distinct keys and counts calls.
type countingProvider struct {
	calls atomic.Int64
	fail  atomic.Bool
	block chan struct{}
}

func (p *countingProvider) key(ref attrcrypt.KeyRef) (attrcrypt.Key, error) {
	n := p.calls.Add(1)
	if p.block != nil {
		<-p.block
	}
	if p.fail.Load() {
		return attrcrypt.Key{}, tenantkeys.ErrKMSUnavailable
	}
	k := attrcrypt.Key{Ref: ref}
	k.Material[0], k.Material[1] = byte(n), 1
	return k, nil
}

func (p *countingProvider) CurrentKey(_ context.Context, tenant, class string) (attrcrypt.Key, error) {
	return p.key(attrcrypt.KeyRef{Tenant: tenant, Class: class, Version: 7})
}

func (p *countingProvider) Key(_ context.Context, r attrcrypt.KeyRef) (attrcrypt.Key, error) {
	return p.key(r)
}

func TestCacheBoundAndErrorsNotCached(t *testing.T) {
	ctx := context.Background()
	p := &countingProvider{}
	var evicted atomic.Int64
	c := tenantkeys.NewCache(p, tenantkeys.WithMaxEntries(3), tenantkeys.WithAudit(func(_ context.Context, e tenantkeys.Event) {
		if e.Type == tenantkeys.EventEvict {
			evicted.Add(1)
		}
	}))
	for v := uint32(1); v <= 5; v++ {
		mustKey(t)(c.Key(ctx, ref("t", "", v)))
	}
	st := c.Stats()
	if st.Entries != 3 || st.Evictions != 2 || evicted.Load() != 2 {
		t.Fatalf("stats = %+v, evict events = %d", st, evicted.Load())
	}
	// Version 1 was evicted: asking again loads it again.
	mustKey(t)(c.Key(ctx, ref("t", "", 1)))
	if p.calls.Load() != 6 {
		t.Fatalf("provider calls = %d, want 6", p.calls.Load())
	}
	p.fail.Store(true)
	for range 2 {
		if _, err := c.Key(ctx, ref("t", "", 9)); !errors.Is(err, tenantkeys.ErrKMSUnavailable) {
			t.Fatalf("err = %v", err)
		}
	}
	if p.calls.Load() != 8 {
		t.Fatalf("errors were cached: provider calls = %d, want 8", p.calls.Load())
	}
	c.Purge("t")
	if st := c.Stats(); st.Entries != 0 {
		t.Fatalf("after Purge entries = %d", st.Entries)
	}
	if _, err := c.Key(ctx, ref("t", "", 0)); !errors.Is(err, tenantkeys.ErrKeyNotFound) {
		t.Fatalf("version 0: err = %v", err)
	}
}

func TestCacheWaiterContext(t *testing.T) {
	p := &countingProvider{block: make(chan struct{})}
	c := tenantkeys.NewCache(p)
	done := make(chan error, 1)
	go func() {
		_, err := c.CurrentKey(context.Background(), "t", "")
		done <- err
	}()
	for p.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.CurrentKey(ctx, "t", ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiter with cancelled context: err = %v", err)
	}
	close(p.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p.calls.Load() != 1 {
		t.Fatalf("provider calls = %d", p.calls.Load())
	}
}

func BenchmarkProviderCachedKey(b *testing.B) {
	ctx := context.Background()
	store := tenantkeys.NewMemoryStore(testKeyring(b), tenantkeys.WithCreateOnFirstUse(true))
	c := tenantkeys.NewCache(store)
	k := mustKey(b)(c.CurrentKey(ctx, "tenant-0042", ""))
	if _, err := c.Key(ctx, k.Ref); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got, err := c.Key(ctx, k.Ref)
		if err != nil || got.Ref.Version != 1 {
			b.Fatal(err)
		}
	}
}

func BenchmarkProviderCachedCurrentKeyParallel(b *testing.B) {
	ctx := context.Background()
	store := tenantkeys.NewMemoryStore(testKeyring(b), tenantkeys.WithCreateOnFirstUse(true))
	c := tenantkeys.NewCache(store)
	mustKey(b)(c.CurrentKey(ctx, "tenant-0042", ""))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.CurrentKey(ctx, "tenant-0042", ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestCacheColdKMSThrottled(t *testing.T) {
	ctx := context.Background()
	srv := startKMS(t)
	store := kmsStore(t, srv)
	if _, err := store.Create(ctx, "t", ""); err != nil {
		t.Fatal(err)
	}
	c := tenantkeys.NewCache(store)
	srv.ThrottleRate(1)
	if _, err := c.CurrentKey(ctx, "t", ""); !errors.Is(err, tenantkeys.ErrKMSUnavailable) {
		t.Fatalf("throttled cold key: err = %v, want ErrKMSUnavailable", err)
	}
	srv.ThrottleRate(0)
	srv.ResetCalls()
	srv.ThrottleNext(1) // absorbed by the client's one retry
	mustKey(t)(c.CurrentKey(ctx, "t", ""))
	if got := srv.Calls("Decrypt"); got != 2 {
		t.Fatalf("Decrypt calls = %d, want 2 (throttled + retry)", got)
	}
}

// TestCacheOneKMSCallMixedRequests: however CurrentKey and Key requests for
// the same tenant keys interleave on a cold cache, KMS is asked once per
// distinct key (version), counted at the KMS endpoint.
func TestCacheOneKMSCallMixedRequests(t *testing.T) {
	ctx := context.Background()
	srv := startKMS(t)
	store := kmsStore(t, srv)
	const tenants = 4
	for i := range tenants {
		tn := fmt.Sprintf("mixed-%d", i)
		if _, err := store.Create(ctx, tn, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Rotate(ctx, tn, ""); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 5 {
		srv.ResetCalls()
		srv.SetLatency(time.Duration(round*5) * time.Millisecond)
		c := tenantkeys.NewCache(store)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, 400)
		for g := range 400 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				tn := fmt.Sprintf("mixed-%d", g%tenants)
				var k attrcrypt.Key
				var err error
				switch g / tenants % 3 {
				case 0:
					k, err = c.CurrentKey(ctx, tn, "")
				case 1:
					k, err = c.Key(ctx, ref(tn, "", 2))
				default:
					k, err = c.Key(ctx, ref(tn, "", 1))
				}
				if err == nil && k.Ref.Tenant != tn {
					err = fmt.Errorf("got %s for %s", k.Ref, tn)
				}
				if err != nil {
					errs <- err
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		// Two distinct keys per tenant: versions 1 and 2 (the current).
		if got := srv.Calls("Decrypt"); got != 2*tenants {
			t.Fatalf("round %d: %d Decrypt calls for %d distinct tenant keys", round, got, 2*tenants)
		}
	}
}

// rollbackProvider answers CurrentKey with whatever version it is set to.
type rollbackProvider struct{ current atomic.Uint32 }

func (p *rollbackProvider) CurrentKey(_ context.Context, tenant, class string) (attrcrypt.Key, error) {
	k := attrcrypt.Key{Ref: attrcrypt.KeyRef{Tenant: tenant, Class: class, Version: p.current.Load()}}
	k.Material[0] = byte(k.Ref.Version)
	return k, nil
}

func (p *rollbackProvider) Key(_ context.Context, r attrcrypt.KeyRef) (attrcrypt.Key, error) {
	k := attrcrypt.Key{Ref: r}
	k.Material[0] = byte(r.Version)
	return k, nil
}

// TestCacheNeverGoesBack: a Cache that served version 2 as current refuses
// an older current version from its provider after the TTL (a rolled-back
// key store seen through a provider without memory of its own).
func TestCacheNeverGoesBack(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	p := &rollbackProvider{}
	p.current.Store(2)
	c := tenantkeys.NewCache(p, tenantkeys.WithClock(clk.Now), tenantkeys.WithTTL(time.Minute))
	if k := mustKey(t)(c.CurrentKey(ctx, "acme", "")); k.Ref.Version != 2 {
		t.Fatal(k.Ref)
	}
	p.current.Store(1)
	clk.Advance(2 * time.Minute)
	if _, err := c.CurrentKey(ctx, "acme", ""); !errors.Is(err, tenantkeys.ErrKeyRecordTampered) {
		t.Fatalf("rolled back current version: err = %v, want ErrKeyRecordTampered", err)
	}
	// Old versions still open items sealed under them, and moving forward
	// is fine.
	mustKey(t)(c.Key(ctx, ref("acme", "", 1)))
	p.current.Store(3)
	if k := mustKey(t)(c.CurrentKey(ctx, "acme", "")); k.Ref.Version != 3 {
		t.Fatal(k.Ref)
	}
}
