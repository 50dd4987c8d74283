package table_test

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// withClass returns a copy of header h (default class "") naming class.
func withClass(h []byte, class string) []byte {
	out := append([]byte{h[0], byte(len(class))}, class...)
	return append(out, h[2+int(h[1]):]...)
}

// withVersion returns a copy of header h naming key version v.
func withVersion(h []byte, v uint32) []byte {
	out := slices.Clone(h)
	binary.BigEndian.PutUint32(out[2+int(h[1]):], v)
	return out
}

// readAll reads the item with id through every read path of the scope
// (Get, Query, QueryPage, BatchGet, TransactGet, Scan) and returns each
// error.
func readAll(ctx context.Context, t *testing.T, e *env, tb *table.Table[Patient], tenant, id string) map[string]error {
	t.Helper()
	s := tb.For(tenant)
	errs := map[string]error{}
	_, errs["Get"] = s.Get(ctx, sk(id))
	errs["Query"] = nil
	for _, err := range s.Query(ctx, table.QueryInput{Sort: table.Equal(table.S(id))}) {
		errs["Query"] = err
	}
	_, errs["QueryPage"] = s.QueryPage(ctx, table.QueryInput{Sort: table.Equal(table.S(id))})
	_, errs["BatchGet"] = s.BatchGet(ctx, []table.Key{sk(id)})
	errs["TransactGet"] = table.TransactGet(ctx, e.c, s.TxGet(sk(id)))
	errs["Scan"] = nil
	for _, err := range tb.Scan(ctx, table.ScanInput{}) {
		var ie *table.ItemError
		if errors.As(err, &ie) && slices.Equal(keyStrings(ie.Key), []string{tenant, id}) {
			errs["Scan"] = err
		}
	}
	return errs
}

func keyStrings(k table.Key) []string {
	var out []string
	for _, v := range []types.AttributeValue{k.PK, k.SK} {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			out = append(out, s.Value)
		}
	}
	return out
}

// expect asserts that every read path's error is want and, for
// ErrTampered, a *TamperError; a key-lifecycle error must not also match
// ErrTampered and the reverse.
func expect(t *testing.T, errs map[string]error, want error) {
	t.Helper()
	lifecycle := []error{table.ErrKeyShredded, table.ErrKeyRetired, table.ErrKeyMissing, table.ErrKeyDisabled}
	for op, err := range errs {
		if !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", op, err, want)
			continue
		}
		if want == table.ErrTampered {
			var te *attrcrypt.TamperError
			if !errors.As(err, &te) {
				t.Errorf("%s: %v has no *TamperError", op, err)
			}
			for _, l := range lifecycle {
				if errors.Is(err, l) {
					t.Errorf("%s: tampered item also reads as %v", op, l)
				}
			}
		} else if errors.Is(err, table.ErrTampered) {
			t.Errorf("%s: genuine key state %v reads as tampered", op, want)
		}
	}
}

// TestClassificationDecisionTable tests every row of the decision table in
// the package doc through DynamoDB Local: whatever the item's own bytes
// cause is ErrTampered; a key sentinel only when the key a genuine item
// names really is in that state.
func TestClassificationDecisionTable(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tb, name := patients(t, e)
	seed := func(t *testing.T, tenant, id string) map[string]types.AttributeValue {
		t.Helper()
		must(t, tb.For(tenant).Put(ctx, &Patient{Tenant: tenant, ID: id, Name: "Ada Lovelace", SSN: "123-45-6789"}))
		return rawGet(t, e.c, name, pkey(tenant, id))
	}
	editHeader := func(t *testing.T, it map[string]types.AttributeValue, f func([]byte) []byte) {
		t.Helper()
		it = clone(it)
		it[hdr] = &types.AttributeValueMemberB{Value: f(bval(t, it[hdr]))}
		rawPut(t, e.c, name, it)
	}

	t.Run("header names another class without a key", func(t *testing.T) {
		it := seed(t, "c1", "p")
		editHeader(t, it, func(h []byte) []byte { return withClass(h, "other") })
		expect(t, readAll(ctx, t, e, tb, "c1", "p"), table.ErrTampered)
	})
	t.Run("header names an invalid class", func(t *testing.T) {
		it := seed(t, "c2", "p")
		editHeader(t, it, func(h []byte) []byte { return withClass(h, "a#b") })
		expect(t, readAll(ctx, t, e, tb, "c2", "p"), table.ErrTampered)
	})
	t.Run("header names another class whose key exists", func(t *testing.T) {
		it := seed(t, "c3", "p")
		must(t, errOf(e.store.Create(ctx, "c3", "other")))
		editHeader(t, it, func(h []byte) []byte { return withClass(h, "other") })
		expect(t, readAll(ctx, t, e, tb, "c3", "p"), table.ErrTampered)
	})
	t.Run("header names another class whose key is disabled", func(t *testing.T) {
		it := seed(t, "c4", "p")
		must(t, errOf(e.store.Create(ctx, "c4", "other")))
		must(t, e.store.Disable(ctx, "c4", "other"))
		editHeader(t, it, func(h []byte) []byte { return withClass(h, "other") })
		expect(t, readAll(ctx, t, e, tb, "c4", "p"), table.ErrTampered)
	})
	t.Run("key version edited above the newest", func(t *testing.T) {
		it := seed(t, "v1", "p")
		editHeader(t, it, func(h []byte) []byte { return withVersion(h, 99) })
		expect(t, readAll(ctx, t, e, tb, "v1", "p"), table.ErrTampered)
	})
	t.Run("key version edited to 0", func(t *testing.T) {
		it := seed(t, "v2", "p")
		editHeader(t, it, func(h []byte) []byte { return withVersion(h, 0) })
		expect(t, readAll(ctx, t, e, tb, "v2", "p"), table.ErrTampered)
	})
	t.Run("key version edited to another live version", func(t *testing.T) {
		it := seed(t, "v3", "p")
		must(t, errOf(e.store.Rotate(ctx, "v3", "")))
		editHeader(t, it, func(h []byte) []byte { return withVersion(h, 2) })
		expect(t, readAll(ctx, t, e, tb, "v3", "p"), table.ErrTampered)
	})
	t.Run("item moved into the partition of a tenant without a key", func(t *testing.T) {
		it := clone(seed(t, "m1", "p"))
		it["tenant"] = table.S("m1-nokey")
		rawPut(t, e.c, name, it)
		expect(t, readAll(ctx, t, e, tb, "m1-nokey", "p"), table.ErrTampered)
		if vs, err := e.store.Versions(ctx, "m1-nokey", ""); err != nil || len(vs) > 0 {
			t.Fatalf("the read created a key: %v %v", vs, err)
		}
	})
	t.Run("item moved into the partition of a tenant with an invalid name", func(t *testing.T) {
		it := clone(seed(t, "m2", "p"))
		it["tenant"] = table.S("m2#bad")
		rawPut(t, e.c, name, it)
		expect(t, readAll(ctx, t, e, tb, "m2#bad", "p"), table.ErrTampered)
	})
	t.Run("tenant shredded", func(t *testing.T) {
		it := seed(t, "s1", "p")
		seed(t, "s1", "q")
		must(t, e.store.Shred(ctx, "s1"))
		expect(t, readAll(ctx, t, e, tb, "s1", "p"), table.ErrKeyShredded)
		// Its version edited: still a destroyed key whatever it names.
		editHeader(t, it, func(h []byte) []byte { return withVersion(h, 7) })
		expect(t, readAll(ctx, t, e, tb, "s1", "p"), table.ErrKeyShredded)
	})
	t.Run("shredded, reopened: old item shredded, live item naming a destroyed version tampered", func(t *testing.T) {
		seed(t, "s2", "old")
		must(t, errOf(e.store.Rotate(ctx, "s2", "")))
		must(t, e.store.Shred(ctx, "s2"))
		must(t, e.store.ReopenAfterShred(ctx, "s2"))
		live := seed(t, "s2", "live") // sealed under version 3
		must(t, errOf(tb.For("s2").Get(ctx, sk("live"))))
		expect(t, readAll(ctx, t, e, tb, "s2", "old"), table.ErrKeyShredded)
		editHeader(t, live, func(h []byte) []byte { return withVersion(h, 1) })
		expect(t, readAll(ctx, t, e, tb, "s2", "live"), table.ErrTampered)
	})
	t.Run("reopened after shred, no key yet: old item shredded, no key created", func(t *testing.T) {
		seed(t, "s3", "old")
		must(t, e.store.Shred(ctx, "s3"))
		must(t, e.store.ReopenAfterShred(ctx, "s3"))
		expect(t, readAll(ctx, t, e, tb, "s3", "old"), table.ErrKeyShredded)
		if vs, err := e.store.Versions(ctx, "s3", ""); err == nil && len(vs) > 0 {
			t.Fatalf("the read created a key: %v", vs)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		it := seed(t, "d1", "p")
		must(t, e.store.Disable(ctx, "d1", ""))
		expect(t, readAll(ctx, t, e, tb, "d1", "p"), table.ErrKeyDisabled)
		// Its version edited: the key the genuine item names is disabled
		// too, so the answer stays true.
		editHeader(t, it, func(h []byte) []byte { return withVersion(h, 5) })
		errs := readAll(ctx, t, e, tb, "d1", "p")
		for op, err := range errs {
			if !errors.Is(err, table.ErrKeyDisabled) && !errors.Is(err, table.ErrTampered) {
				t.Errorf("%s: %v, want ErrKeyDisabled or ErrTampered", op, err)
			}
		}
	})
}

// retiring is a Provider that retires every version of a tenant below a
// floor, as tenantkeys' Retire does (ErrKeyRetired).
type retiring struct {
	tenantkeys.Provider
	floor map[string]uint32
}

func (r *retiring) Key(ctx context.Context, ref attrcrypt.KeyRef) (attrcrypt.Key, error) {
	if ref.Version > 0 && ref.Version < r.floor[ref.Tenant] {
		return attrcrypt.Key{}, tenantkeys.ErrKeyRetired
	}
	return r.Provider.Key(ctx, ref)
}

// retiredRows seals item "old" under version 1 of tenant, rotates three
// times, seals "live" under version 4, calls retire (versions 1 and 2
// retired), and checks the two rows: old is ErrKeyRetired, live with its
// header edited to name version 2 is tampered.
func retiredRows(ctx context.Context, t *testing.T, e *env, tb *table.Table[Patient], name, tenant string, retire func()) {
	t.Helper()
	s := tb.For(tenant)
	must(t, s.Put(ctx, &Patient{Tenant: tenant, ID: "old", Name: "Grace Hopper"}))
	for range 3 {
		must(t, errOf(e.store.Rotate(ctx, tenant, "")))
	}
	must(t, s.Put(ctx, &Patient{Tenant: tenant, ID: "live", Name: "Grace Hopper"}))
	retire()
	expect(t, readAll(ctx, t, e, tb, tenant, "old"), table.ErrKeyRetired)
	live := clone(rawGet(t, e.c, name, pkey(tenant, "live")))
	live[hdr] = &types.AttributeValueMemberB{Value: withVersion(bval(t, live[hdr]), 2)}
	rawPut(t, e.c, name, live)
	expect(t, readAll(ctx, t, e, tb, tenant, "live"), table.ErrTampered)
}

// TestClassificationRetired: an item sealed under a retired version is
// ErrKeyRetired; a live item whose header was edited to name a retired
// version is tampered. With a provider that retires by itself, and with
// the key store's Retire.
func TestClassificationRetired(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	t.Run("provider", func(t *testing.T) {
		name := createTable[Patient](t, e, "retired", nil)
		keys := &retiring{Provider: e.store, floor: map[string]uint32{}}
		tb, err := table.New[Patient](e.c, name, keys)
		if err != nil {
			t.Fatal(err)
		}
		retiredRows(ctx, t, e, tb, name, "r1", func() { keys.floor["r1"] = 3 })
	})
	t.Run("store", func(t *testing.T) {
		tb, name := patients(t, e)
		retiredRows(ctx, t, e, tb, name, "r2", func() {
			must(t, e.store.Retire(ctx, "r2", "", 3))
		})
	})
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// errOf drops a call's value and keeps its error.
func errOf[V any](_ V, err error) error { return err }
