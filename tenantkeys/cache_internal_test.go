package tenantkeys

import (
	"context"
	"testing"
	"time"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

type stubProvider struct{}

func (stubProvider) CurrentKey(_ context.Context, tenant, class string) (attrcrypt.Key, error) {
	k := attrcrypt.Key{Ref: attrcrypt.KeyRef{Tenant: tenant, Class: class, Version: 1}}
	k.Material[0] = 0xAA
	return k, nil
}

func (stubProvider) Key(_ context.Context, ref attrcrypt.KeyRef) (attrcrypt.Key, error) {
	k := attrcrypt.Key{Ref: ref}
	k.Material[0] = 0xBB
	return k, nil
}

// TestCacheZeroesDroppedKeys looks inside the cache: the entries it drops
// (expired, evicted, purged, flushed) have their key bytes zeroed.
func TestCacheZeroesDroppedKeys(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	c := NewCache(stubProvider{}, WithTTL(time.Minute), WithMaxEntries(2), WithClock(func() time.Time { return now }))
	get := func(v uint32) *entry {
		t.Helper()
		if _, err := c.Key(ctx, attrcrypt.KeyRef{Tenant: "t", Version: v}); err != nil {
			t.Fatal(err)
		}
		return c.m[cacheKey{tenant: "t", version: v}]
	}
	e1 := get(1)
	if e1.k.IsZero() {
		t.Fatal("cached key is zero")
	}
	get(2)
	e3 := get(3) // evicts version 1
	if !e1.k.IsZero() {
		t.Fatal("evicted entry not zeroed")
	}
	now = now.Add(time.Minute)
	if _, err := c.CurrentKey(ctx, "u", ""); err != nil { // any lookup drops expired entries
		t.Fatal(err)
	}
	if !e3.k.IsZero() {
		t.Fatal("expired entry not zeroed")
	}
	cur := c.m[cacheKey{tenant: "u"}]
	c.Purge("u")
	if !cur.k.IsZero() || len(c.m) != 0 {
		t.Fatal("purged entry not zeroed")
	}
	e := get(4)
	c.Flush()
	if !e.k.IsZero() {
		t.Fatal("flushed entry not zeroed")
	}
}

// TestCacheCallResultZeroed: the copy a load hands to waiting goroutines
// is zeroed once the last of them has taken it.
func TestCacheCallResultZeroed(t *testing.T) {
	c := NewCache(stubProvider{})
	cl := &call{done: make(chan struct{}), waiters: 1}
	k, _ := stubProvider{}.Key(context.Background(), attrcrypt.KeyRef{Tenant: "t", Version: 1})
	c.finish(cacheKey{tenant: "t", version: 1}, cl, k, nil)
	got, err, _ := c.wait(context.Background(), cl)
	if err != nil || got.Material != k.Material {
		t.Fatalf("waiter got %v, %v", got, err)
	}
	if !cl.k.IsZero() {
		t.Fatal("shared call result not zeroed after the last waiter")
	}
}

// TestCacheDefaultClockExpires: with the default coarse clock, entries do
// expire (the clock goroutine advances time) and the clock never runs
// backwards.
func TestCacheDefaultClockExpires(t *testing.T) {
	ctx := context.Background()
	p := &countingStub{}
	c := NewCache(p, WithTTL(time.Millisecond))
	if _, err := c.CurrentKey(ctx, "t", ""); err != nil {
		t.Fatal(err)
	}
	last := processClock.Now()
	deadline := time.Now().Add(10 * time.Second)
	for p.calls < 2 {
		if time.Now().After(deadline) {
			t.Fatal("entry never expired under the default clock")
		}
		time.Sleep(2 * time.Millisecond)
		n := processClock.Now()
		if n < last {
			t.Fatalf("coarse clock went backwards: %d after %d", n, last)
		}
		last = n
		if _, err := c.CurrentKey(ctx, "t", ""); err != nil {
			t.Fatal(err)
		}
	}
}

type countingStub struct {
	stubProvider
	calls int // only touched by loads, which the test serialises
}

func (p *countingStub) CurrentKey(ctx context.Context, tenant, class string) (attrcrypt.Key, error) {
	p.calls++
	return p.stubProvider.CurrentKey(ctx, tenant, class)
}
