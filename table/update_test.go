package table_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dynaseal/dynaseal/table"
)

// TestNoLostUpdate: 8 goroutines each do 50 read-modify-write increments
// on one item; with retries on ErrConflict the counter ends at exactly 400.
func TestNoLostUpdate(t *testing.T) {
	e := newEnv(t)
	tb, _ := patients(t, e)
	ctx := context.Background()
	a := tb.For("tenant-a")
	if err := a.Create(ctx, &Patient{Tenant: "tenant-a", ID: "counter"}); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 50
	var calls atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				_, err := a.Update(ctx, sk("counter"), func(p *Patient) error {
					calls.Add(1)
					p.Count++
					return nil
				}, table.RetryConflicts(1000))
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	p, err := a.Get(ctx, sk("counter"), table.ConsistentRead())
	if err != nil {
		t.Fatal(err)
	}
	if p.Count != workers*each || p.Version != workers*each+1 {
		t.Fatalf("count %d version %d, want %d and %d", p.Count, p.Version, workers*each, workers*each+1)
	}
	t.Logf("%d increments took %d attempts (conflicts retried: %d)", workers*each, calls.Load(), calls.Load()-workers*each)
}

// TestUpdateConflictWithoutRetry: a write between the read and the write of
// an Update is ErrConflict, for a versioned type and for a type without a
// version attribute (the header is the condition).
func TestUpdateConflictWithoutRetry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tb, _ := patients(t, e)
	a := tb.For("tenant-a")
	if err := a.Create(ctx, &Patient{Tenant: "tenant-a", ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	_, err := a.Update(ctx, sk("p1"), func(p *Patient) error {
		// A concurrent writer gets in first.
		if _, err := a.Update(ctx, sk("p1"), func(q *Patient) error { q.Plan = "other"; return nil }); err != nil {
			t.Fatal(err)
		}
		p.Plan = "mine"
		return nil
	})
	if !errors.Is(err, table.ErrConflict) {
		t.Fatalf("Update: %v, want ErrConflict", err)
	}

	dt, _ := docs(t, e)
	d := dt.For("org-a")
	k := table.Key{PK: table.S("x"), SK: table.S("y")}
	if err := d.Put(ctx, &Doc{PK: "x", SK: "y", Org: "org-a", Body: "v1"}); err != nil {
		t.Fatal(err)
	}
	_, err = d.Update(ctx, k, func(doc *Doc) error {
		if err := d.Put(ctx, &Doc{PK: "x", SK: "y", Org: "org-a", Body: "concurrent"}); err != nil {
			t.Fatal(err)
		}
		doc.Body = "mine"
		return nil
	})
	if !errors.Is(err, table.ErrConflict) {
		t.Fatalf("Update without version attribute: %v, want ErrConflict", err)
	}
	got, err := d.Get(ctx, k)
	if err != nil || got.Body != "concurrent" {
		t.Fatalf("after conflict: %v %+v", err, got)
	}
	if _, err := d.Update(ctx, k, func(doc *Doc) error { doc.Body = "v3"; return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestUpdateRefusals: fn cannot move the item or hand it to another tenant,
// and an error from fn aborts the update.
func TestUpdateRefusals(t *testing.T) {
	e := newEnv(t)
	tb, _ := patients(t, e)
	ctx := context.Background()
	a := tb.For("tenant-a")
	if err := a.Create(ctx, &Patient{Tenant: "tenant-a", ID: "p1", Plan: "gold"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Update(ctx, sk("p1"), func(p *Patient) error { p.ID = "p2"; return nil }); !errors.Is(err, table.ErrKeyChanged) {
		t.Fatalf("changed key: %v", err)
	}
	if _, err := a.Update(ctx, sk("p1"), func(p *Patient) error { p.Tenant = "tenant-b"; return nil }); !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("changed tenant: %v", err)
	}
	boom := errors.New("boom")
	if _, err := a.Update(ctx, sk("p1"), func(p *Patient) error { p.Plan = "x"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("fn error: %v", err)
	}
	if _, err := a.Update(ctx, sk("missing"), func(p *Patient) error { return nil }); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("missing item: %v", err)
	}
	p, err := a.Get(ctx, sk("p1"))
	if err != nil || p.Plan != "gold" || p.Version != 1 {
		t.Fatalf("item changed by refused updates: %v %+v", err, p)
	}
}

// TestFromContext: middleware puts the tenant in the context.
func TestFromContext(t *testing.T) {
	e := newEnv(t)
	tb, _ := patients(t, e)
	if _, err := tb.FromContext(context.Background()); !errors.Is(err, table.ErrNoTenant) {
		t.Fatalf("no tenant: %v", err)
	}
	ctx := table.WithTenant(context.Background(), "tenant-a")
	s, err := tb.FromContext(ctx)
	if err != nil || s.Tenant() != "tenant-a" {
		t.Fatalf("FromContext: %v %q", err, s.Tenant())
	}
	if err := s.Create(ctx, &Patient{Tenant: "tenant-a", ID: "p1"}); err != nil {
		t.Fatal(err)
	}
}
