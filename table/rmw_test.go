package table_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dynaseal/dynaseal/table"
)

// claimKey is the key of the Doc that claims an email address for a user.
func claimKey(email string) table.Key {
	return table.Key{PK: table.S("email#" + email), SK: table.S("claim")}
}

var errTaken = errors.New("email taken")

func TestReadModifyWriteMovesClaim(t *testing.T) {
	e := newEnv(t)
	pt, _ := patients(t, e)
	dt, _ := docs(t, e)
	ctx := context.Background()
	ps, cs := pt.For("tenant-a"), dt.For("tenant-a")
	if err := ps.Create(ctx, &Patient{ID: "u1", Plan: "a@x"}); err != nil {
		t.Fatal(err)
	}
	if err := cs.Create(ctx, &Doc{PK: "email#a@x", SK: "claim", Body: "u1"}); err != nil {
		t.Fatal(err)
	}
	runs := 0
	err := table.ReadModifyWrite(ctx, e.c, 3, func(ctx context.Context, tx *table.TxBuilder) error {
		runs++
		u, err := ps.ReadIn(ctx, tx, sk("u1"))
		if err != nil {
			return err
		}
		if _, err := cs.ReadIn(ctx, tx, claimKey("b@x")); !errors.Is(err, table.ErrNotFound) {
			return errTaken
		}
		if runs == 1 { // a concurrent writer changes the user after the read
			if _, err := ps.Update(ctx, sk("u1"), func(p *Patient) error { p.Name = "Ada"; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		old := u.Plan
		u.Plan = "b@x"
		tx.Write(ps.TxPut(u), cs.TxDelete(claimKey(old), table.MustExist()), cs.TxCreate(&Doc{PK: "email#b@x", SK: "claim", Body: "u1"}))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if runs != 2 {
		t.Fatalf("fn ran %d times, want 2 (one conflict)", runs)
	}
	u, err := ps.Get(ctx, sk("u1"))
	if err != nil || u.Plan != "b@x" || u.Name != "Ada" || u.Version != 3 {
		t.Fatalf("user after move: %v %+v (the concurrent Name must survive)", err, u)
	}
	if _, err := cs.Get(ctx, claimKey("a@x")); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("old claim: %v, want ErrNotFound", err)
	}
	if c, err := cs.Get(ctx, claimKey("b@x")); err != nil || c.Body != "u1" {
		t.Fatalf("new claim: %v %+v", err, c)
	}
}

// TestReadModifyWriteReadOnlyItemGuarded: an item only read (no write
// queued) is guarded by a condition check, including an item read as
// missing; with one attempt the conflict is returned and nothing written.
func TestReadModifyWriteReadOnlyItemGuarded(t *testing.T) {
	e := newEnv(t)
	pt, _ := patients(t, e)
	dt, _ := docs(t, e)
	ctx := context.Background()
	ps, cs := pt.For("tenant-a"), dt.For("tenant-a")
	if err := ps.Create(ctx, &Patient{ID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if err := cs.Create(ctx, &Doc{PK: "d", SK: "1", Body: "v1"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		read    table.Key
		perturb func() error
	}{
		{"changed", table.Key{PK: table.S("d"), SK: table.S("1")}, func() error {
			return cs.Put(ctx, &Doc{PK: "d", SK: "1", Body: "v2"})
		}},
		{"appeared", table.Key{PK: table.S("d"), SK: table.S("2")}, func() error {
			return cs.Create(ctx, &Doc{PK: "d", SK: "2", Body: "new"})
		}},
		{"deleted", table.Key{PK: table.S("d"), SK: table.S("1")}, func() error {
			return cs.Delete(ctx, table.Key{PK: table.S("d"), SK: table.S("1")})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := table.ReadModifyWrite(ctx, e.c, 1, func(ctx context.Context, tx *table.TxBuilder) error {
				u, err := ps.ReadIn(ctx, tx, sk("u1"))
				if err != nil {
					return err
				}
				if _, err := cs.ReadIn(ctx, tx, tc.read); err != nil && !errors.Is(err, table.ErrNotFound) {
					return err
				}
				if err := tc.perturb(); err != nil {
					t.Fatal(err)
				}
				u.Count++
				tx.Write(ps.TxPut(u))
				return nil
			})
			var te *table.TxError
			if !errors.Is(err, table.ErrConflict) || !errors.As(err, &te) {
				t.Fatalf("got %v, want a *TxError matching ErrConflict", err)
			}
			u, err := ps.Get(ctx, sk("u1"))
			if err != nil || u.Count != 0 {
				t.Fatalf("user written by a cancelled commit: %v %+v", err, u)
			}
		})
	}
}

// TestReadModifyWriteFnErrorAborts: an error from fn is returned as is and
// nothing is written; a wrong tenant's item read through ReadIn is refused.
func TestReadModifyWriteFnErrorAborts(t *testing.T) {
	e := newEnv(t)
	dt, _ := docs(t, e)
	ctx := context.Background()
	if err := dt.For("tenant-b").Create(ctx, &Doc{PK: "d", SK: "1", Body: "b's"}); err != nil {
		t.Fatal(err)
	}
	cs := dt.For("tenant-a")
	runs := 0
	err := table.ReadModifyWrite(ctx, e.c, 5, func(ctx context.Context, tx *table.TxBuilder) error {
		runs++
		d, err := cs.ReadIn(ctx, tx, table.Key{PK: table.S("d"), SK: table.S("1")})
		if d != nil {
			t.Fatal("another tenant's item opened")
		}
		return err
	})
	if !errors.Is(err, table.ErrWrongTenant) || runs != 1 {
		t.Fatalf("got %v after %d runs, want ErrWrongTenant after 1", err, runs)
	}
}

// TestReadModifyWriteConcurrentNoLostUpdate: goroutines move units between
// two versioned items and increment a counter on an unversioned one, each
// through ReadModifyWrite; every commit's effect is kept.
func TestReadModifyWriteConcurrentNoLostUpdate(t *testing.T) {
	e := newEnv(t)
	pt, _ := patients(t, e)
	ctx := context.Background()
	ps := pt.For("tenant-a")
	for _, id := range []string{"a", "b"} {
		if err := ps.Create(ctx, &Patient{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	const workers, each = 6, 5
	var conflicts atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				runs := 0
				err := table.ReadModifyWrite(ctx, e.c, 100, func(ctx context.Context, tx *table.TxBuilder) error {
					runs++
					a, err := ps.ReadIn(ctx, tx, sk("a"))
					if err != nil {
						return err
					}
					b, err := ps.ReadIn(ctx, tx, sk("b"))
					if err != nil {
						return err
					}
					a.Count--
					if w%2 == 0 { // half only read b: its condition check guards it
						tx.Write(ps.TxPut(a))
						return nil
					}
					b.Count++
					tx.Write(ps.TxPut(a), ps.TxPut(b))
					return nil
				})
				conflicts.Add(int64(runs - 1))
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	a, err := ps.Get(ctx, sk("a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ps.Get(ctx, sk("b"))
	if err != nil {
		t.Fatal(err)
	}
	// Odd workers move one unit from a to b; even workers take one from a.
	odd := int64(workers / 2 * each)
	even := int64((workers - workers/2) * each)
	if int64(b.Count) != odd || int64(a.Count) != -(odd+even) {
		t.Fatalf("a=%d b=%d, want a=%d b=%d (lost update)", a.Count, b.Count, -(odd + even), odd)
	}
	if a.Version != 1+int64(workers*each) {
		t.Fatalf("a's version %d, want %d", a.Version, 1+workers*each)
	}
	t.Logf("%d conflicts retried", conflicts.Load())
}

// TestReadModifyWriteClaimRace: goroutines race to claim one email for
// different users; exactly one wins, the others see it taken after a retry.
func TestReadModifyWriteClaimRace(t *testing.T) {
	e := newEnv(t)
	dt, _ := docs(t, e)
	ctx := context.Background()
	cs := dt.For("tenant-a")
	const n = 6
	var wins, taken atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := table.ReadModifyWrite(ctx, e.c, 50, func(ctx context.Context, tx *table.TxBuilder) error {
				if _, err := cs.ReadIn(ctx, tx, claimKey("c@x")); !errors.Is(err, table.ErrNotFound) {
					return errTaken
				}
				tx.Write(cs.TxCreate(&Doc{PK: "email#c@x", SK: "claim", Body: string(rune('0' + i))}))
				return nil
			})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, errTaken), errors.Is(err, table.ErrAlreadyExists):
				taken.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || taken.Load() != n-1 {
		t.Fatalf("wins %d taken %d, want 1 and %d", wins.Load(), taken.Load(), n-1)
	}
}

// TestReadModifyWriteRereadAndDoubleWrite: a key read twice in one attempt
// is read once (the second read sees the first, even after a concurrent
// change, and the commit still catches that change); two writes of one
// read item are refused before anything is sent.
func TestReadModifyWriteRereadAndDoubleWrite(t *testing.T) {
	e := newEnv(t)
	pt, _ := patients(t, e)
	ctx := context.Background()
	ps := pt.For("tenant-a")
	if err := ps.Create(ctx, &Patient{ID: "u1", Plan: "one"}); err != nil {
		t.Fatal(err)
	}
	err := table.ReadModifyWrite(ctx, e.c, 1, func(ctx context.Context, tx *table.TxBuilder) error {
		if _, err := ps.ReadIn(ctx, tx, sk("u1")); err != nil {
			return err
		}
		if err := ps.Put(ctx, &Patient{ID: "u1", Plan: "two", Version: 1}); err != nil {
			t.Fatal(err)
		}
		again, err := ps.ReadIn(ctx, tx, sk("u1"))
		if err != nil || again.Plan != "one" || again.Version != 1 {
			t.Fatalf("second read: %v %+v, want the first read", err, again)
		}
		again.Plan = "three"
		tx.Write(ps.TxPut(again))
		return nil
	})
	if !errors.Is(err, table.ErrConflict) {
		t.Fatalf("commit over a concurrent change: %v, want ErrConflict", err)
	}
	if u, err := ps.Get(ctx, sk("u1")); err != nil || u.Plan != "two" {
		t.Fatalf("after: %v %+v", err, u)
	}
	err = table.ReadModifyWrite(ctx, e.c, 3, func(ctx context.Context, tx *table.TxBuilder) error {
		u, err := ps.ReadIn(ctx, tx, sk("u1"))
		if err != nil {
			return err
		}
		tx.Write(ps.TxPut(u), ps.TxDelete(sk("u1")))
		return nil
	})
	if err == nil || errors.Is(err, table.ErrConflict) {
		t.Fatalf("two writes of one item: %v, want a refusal", err)
	}
	if u, err := ps.Get(ctx, sk("u1")); err != nil || u.Version != 2 {
		t.Fatalf("item changed by a refused commit: %v %+v", err, u)
	}
}
