package table_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest/faultproxy"
	"github.com/dynaseal/dynaseal/table"
)

// plainPatient writes p as a plaintext table would hold it (no dynaseal).
func plainPatient(t testing.TB, c *dynamodb.Client, name string, p Patient) map[string]types.AttributeValue {
	t.Helper()
	m, err := attributevalue.MarshalMap(p)
	if err != nil {
		t.Fatal(err)
	}
	rawPut(t, c, name, m)
	return m
}

// marks records the keys a read marked unverified.
type marks struct {
	mu   sync.Mutex
	keys []string
}

func (m *marks) mark(k table.Key) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys = append(m.keys, skID(k))
}

func (m *marks) got() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.keys...)
}

func skID(k table.Key) string {
	id := ""
	if s, ok := k.SK.(*types.AttributeValueMemberS); ok {
		id = s.Value
	}
	return id
}

// secrets are values of the plaintext rows that no error may print.
var secrets = []string{"Grace Hopper", "078-05-1120", "cobol notes"}

func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error contains a value: %v", err)
		}
	}
}

func wantNotSealed(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, table.ErrNotSealed) {
		t.Fatalf("%s: %v, want ErrNotSealed", what, err)
	}
	if errors.Is(err, table.ErrTampered) {
		t.Fatalf("%s: %v matches ErrTampered", what, err)
	}
	assertNoSecret(t, err)
}

// TestUnsealedReadsRefused: without migration mode (or without the
// per-call opt-in) every read of a plaintext row fails with ErrNotSealed,
// value-free, and returns nothing of it; AllowUnsealed alone does nothing.
func TestUnsealedReadsRefused(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	plainTb, name := patients(t, e)
	migTb, err := table.New[Patient](e.c, name, e.rec, table.WithMigration())
	if err != nil {
		t.Fatal(err)
	}
	plainPatient(t, e.c, name, Patient{Tenant: "t1", ID: "p1", Name: "Grace Hopper", SSN: "078-05-1120", Notes: "cobol notes", Version: 3})
	var m marks
	for _, c := range []struct {
		name string
		tb   *table.Table[Patient]
		ro   []table.ReadOption
		q    func(*table.QueryInput)
	}{
		{"no migration, no opt-in", plainTb, nil, func(*table.QueryInput) {}},
		{"no migration, opt-in", plainTb, []table.ReadOption{table.AllowUnsealed(m.mark)}, func(in *table.QueryInput) { in.AllowUnsealed = m.mark }},
		{"migration, no opt-in", migTb, nil, func(*table.QueryInput) {}},
		{"migration, nil mark", migTb, []table.ReadOption{table.AllowUnsealed(nil)}, func(in *table.QueryInput) { in.AllowUnsealed = nil }},
	} {
		s := c.tb.For("t1")
		v, err := s.Get(ctx, sk("p1"), c.ro...)
		wantNotSealed(t, c.name+": Get", err)
		if v != nil {
			t.Fatalf("%s: Get returned data", c.name)
		}
		vs, err := s.BatchGet(ctx, []table.Key{sk("p1")}, c.ro...)
		wantNotSealed(t, c.name+": BatchGet", err)
		if vs[0] != nil {
			t.Fatalf("%s: BatchGet returned data", c.name)
		}
		in := table.QueryInput{}
		c.q(&in)
		for v, err := range s.Query(ctx, in) {
			wantNotSealed(t, c.name+": Query", err)
			if v != nil {
				t.Fatalf("%s: Query returned data", c.name)
			}
		}
		_, err = s.QueryPage(ctx, in)
		wantNotSealed(t, c.name+": QueryPage", err)
		_, err = s.Count(ctx, in)
		wantNotSealed(t, c.name+": Count", err)
		si := table.ScanInput{AllowUnsealed: in.AllowUnsealed}
		for v, err := range c.tb.Scan(ctx, si) {
			wantNotSealed(t, c.name+": Scan", err)
			if v != nil {
				t.Fatalf("%s: Scan returned data", c.name)
			}
		}
		if c.tb == plainTb { // in migration mode Update seals the row (TestUpdateUnsealed)
			_, err = s.Update(ctx, sk("p1"), func(p *Patient) error { return nil })
			wantNotSealed(t, c.name+": Update", err)
		}
	}
	if got := m.got(); len(got) != 0 {
		t.Fatalf("marked %v without migration mode", got)
	}
}

// TestUnsealedMigrationReads: in migration mode with the opt-in, every read
// returns the plaintext rows with their values and marks exactly them (by
// key, before returning them); sealed rows are verified and never marked.
func TestUnsealedMigrationReads(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := patients(t, e, table.WithMigration())
	s := tb.For("t1")
	for i := range 3 {
		plainPatient(t, e.c, name, Patient{Tenant: "t1", ID: fmt.Sprintf("u%d", i), Name: "Grace Hopper", Plan: "gold", Count: i, Version: 2})
		if err := s.Put(ctx, &Patient{ID: fmt.Sprintf("s%d", i), Name: "sealed", Count: i}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, got []*Patient, marked []string) {
		t.Helper()
		if len(got) != 6 {
			t.Fatalf("%s: %d items, want 6", what, len(got))
		}
		want := map[string]bool{}
		for _, p := range got {
			if strings.HasPrefix(p.ID, "u") {
				want[p.ID] = true
				if p.Name != "Grace Hopper" || p.Plan != "gold" || p.Version != 2 {
					t.Fatalf("%s: unsealed item decoded as %+v", what, p)
				}
			} else if p.Name != "sealed" {
				t.Fatalf("%s: sealed item %+v", what, p)
			}
		}
		if len(marked) != 3 {
			t.Fatalf("%s: marked %v, want the 3 unsealed keys", what, marked)
		}
		for _, k := range marked {
			if !want[k] {
				t.Fatalf("%s: marked %q, which is sealed or was not returned", what, k)
			}
		}
	}
	keys := []table.Key{sk("u0"), sk("s0"), sk("u1"), sk("s1"), sk("u2"), sk("s2")}
	var m marks
	var got []*Patient
	for _, k := range keys {
		before := len(m.got())
		v, err := s.Get(ctx, k, table.AllowUnsealed(m.mark))
		if err != nil {
			t.Fatal(err)
		}
		if after := len(m.got()); (after > before) != strings.HasPrefix(skID(k), "u") {
			t.Fatalf("Get %s: marked %d", skID(k), after-before)
		}
		got = append(got, v)
	}
	check("Get", got, m.got())

	m = marks{}
	got, err := s.BatchGet(ctx, keys, table.AllowUnsealed(m.mark))
	if err != nil {
		t.Fatal(err)
	}
	check("BatchGet", got, m.got())

	m = marks{}
	got = nil
	for v, err := range s.Query(ctx, table.ApplyQueryOptions(table.QueryInput{}, table.AllowUnsealedItems(m.mark))) {
		if err != nil {
			t.Fatal(err)
		}
		// mark runs before the item is yielded.
		if strings.HasPrefix(v.ID, "u") && (len(m.got()) == 0 || m.got()[len(m.got())-1] != v.ID) {
			t.Fatalf("Query yielded %s before marking it", v.ID)
		}
		got = append(got, v)
	}
	check("Query", got, m.got())

	m = marks{}
	pg, err := s.QueryPage(ctx, table.QueryInput{AllowUnsealed: m.mark})
	if err != nil {
		t.Fatal(err)
	}
	check("QueryPage", pg.Items, m.got())

	m = marks{}
	n, err := s.Count(ctx, table.QueryInput{AllowUnsealed: m.mark})
	if err != nil || n != 6 {
		t.Fatalf("Count = %d, %v", n, err)
	}

	m = marks{}
	got = nil
	for v, err := range tb.Scan(ctx, table.ScanInput{Segments: 2, AllowUnsealed: m.mark}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	check("Scan", got, m.got())
}

// TestUnsealedTenantCheck: the tenant check applies to unsealed rows: in a
// shared partition another tenant's plaintext row (or one without a tenant
// attribute) is never returned or marked, and reads as not found.
func TestUnsealedTenantCheck(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := docs(t, e, table.WithMigration())
	rawPut(t, e.c, name, map[string]types.AttributeValue{"pk": table.S("shared"), "sk": table.S("b1"), "org": table.S("org-b"), "body": table.S("Grace Hopper")})
	rawPut(t, e.c, name, map[string]types.AttributeValue{"pk": table.S("shared"), "sk": table.S("none"), "body": table.S("Grace Hopper")})
	var m marks
	a := tb.For("org-a")
	for _, id := range []string{"b1", "none"} {
		v, err := a.Get(ctx, table.Key{PK: table.S("shared"), SK: table.S(id)}, table.AllowUnsealed(m.mark))
		if v != nil || !errors.Is(err, table.ErrNotFound) || !errors.Is(err, table.ErrWrongTenant) {
			t.Fatalf("Get %s as org-a: %v, %v; want ErrNotFound and ErrWrongTenant", id, v, err)
		}
		assertNoSecret(t, err)
		_, err = a.Update(ctx, table.Key{PK: table.S("shared"), SK: table.S(id)}, func(d *Doc) error { d.Body = "x"; return nil })
		if !errors.Is(err, table.ErrNotFound) {
			t.Fatalf("Update %s as org-a: %v, want ErrNotFound", id, err)
		}
	}
	for v, err := range a.Query(ctx, table.QueryInput{Partition: table.S("shared"), AllowUnsealed: m.mark}) {
		t.Fatalf("org-a's query of the shared partition yielded %v, %v", v, err)
	}
	// A scan has no scope: the row without a tenant cannot be scoped and
	// fails with ErrNotSealed; org-b's row is returned, marked.
	var got []string
	for v, err := range tb.Scan(ctx, table.ScanInput{AllowUnsealed: m.mark}) {
		if err != nil {
			wantNotSealed(t, "scan of a row without tenant", err)
			continue
		}
		got = append(got, v.SK)
	}
	if len(got) != 1 || got[0] != "b1" || len(m.got()) != 1 || m.got()[0] != "b1" {
		t.Fatalf("scan returned %v, marked %v; want b1 once", got, m.got())
	}
	if b1 := rawGet(t, e.c, name, map[string]types.AttributeValue{"pk": table.S("shared"), "sk": table.S("b1")}); !attrcrypt.IsUnsealed(b1) {
		t.Fatal("org-a's refused Update changed org-b's row")
	}
}

// TestStrippedSealedItem: an attacker who removes __h and __s from a sealed
// item gets ErrNotSealed (not tampered), and in migration mode with the
// opt-in the item is never returned as verified: it is marked, or (here:
// the encrypted attributes are ciphertext, which does not decode into the
// struct's strings) refused. Removing only one of them is tampering.
func TestStrippedSealedItem(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := patients(t, e)
	mig, err := table.New[Patient](e.c, name, e.rec, table.WithMigration())
	if err != nil {
		t.Fatal(err)
	}
	s := tb.For("t1")
	if err := s.Put(ctx, &Patient{ID: "p1", Name: "Grace Hopper", SSN: "078-05-1120", Plan: "gold"}); err != nil {
		t.Fatal(err)
	}
	sealed := rawGet(t, e.c, name, pkey("t1", "p1"))
	strip := func(names ...string) {
		m := clone(sealed)
		for _, n := range names {
			delete(m, n)
		}
		rawPut(t, e.c, name, m)
	}
	strip(attrcrypt.HeaderAttribute)
	if _, err := s.Get(ctx, sk("p1")); !errors.Is(err, table.ErrTampered) || errors.Is(err, table.ErrNotSealed) {
		t.Fatalf("header stripped: %v, want ErrTampered", err)
	}
	strip(attrcrypt.SignatureAttribute)
	if _, err := s.Get(ctx, sk("p1")); !errors.Is(err, table.ErrTampered) || errors.Is(err, table.ErrNotSealed) {
		t.Fatalf("signature stripped: %v, want ErrTampered", err)
	}
	strip(attrcrypt.HeaderAttribute, attrcrypt.SignatureAttribute)
	_, err = s.Get(ctx, sk("p1"))
	wantNotSealed(t, "both stripped", err)
	_, err = mig.For("t1").Get(ctx, sk("p1"))
	wantNotSealed(t, "both stripped, migration mode without opt-in", err)
	var m marks
	v, err := mig.For("t1").Get(ctx, sk("p1"), table.AllowUnsealed(m.mark))
	switch {
	case err == nil && len(m.got()) != 1:
		t.Fatalf("stripped item returned without being marked unverified: %+v", v)
	case err != nil && !errors.Is(err, table.ErrDecode):
		t.Fatalf("stripped item in migration mode: %v", err)
	}
	assertNoSecret(t, err)
	// The migrate job refuses to adopt it: its encrypted attributes hold
	// ciphertext (binary) where the Go type holds strings.
	if _, err := table.MigrateItemForTest(ctx, mig, rawGet(t, e.c, name, pkey("t1", "p1"))); !errors.Is(err, table.ErrTampered) {
		t.Fatalf("migrating a stripped sealed item: %v, want ErrTampered", err)
	}
	if !attrcrypt.IsUnsealed(rawGet(t, e.c, name, pkey("t1", "p1"))) {
		t.Fatal("the stripped item was sealed again")
	}
	// A plain-text signed attribute edited along with the strip is still
	// only ever returned marked.
	m2 := clone(sealed)
	delete(m2, attrcrypt.HeaderAttribute)
	delete(m2, attrcrypt.SignatureAttribute)
	for _, n := range []string{"name", "ssn", "notes"} {
		m2[n] = table.S("forged")
	}
	m2["plan"] = table.S("platinum")
	rawPut(t, e.c, name, m2)
	m = marks{}
	v, err = mig.For("t1").Get(ctx, sk("p1"), table.AllowUnsealed(m.mark))
	if err != nil || v.Plan != "platinum" || len(m.got()) != 1 {
		t.Fatalf("forged unsealed item: %+v, %v, marked %v; want it returned marked", v, err, m.got())
	}
	if _, err := s.Get(ctx, sk("p1")); !errors.Is(err, table.ErrNotSealed) {
		t.Fatalf("forged unsealed item outside migration mode: %v", err)
	}
}

// TestUpdateUnsealed: in migration mode Update seals a plaintext row it
// changes (readable verified afterwards, the version moved on once), and
// loses to a concurrent sealing (ErrConflict, never an overwrite).
func TestUpdateUnsealed(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := patients(t, e, table.WithMigration())
	s := tb.For("t1")
	plainPatient(t, e.c, name, Patient{Tenant: "t1", ID: "p1", Name: "Grace Hopper", Count: 1, Seen: 5, Version: 4})
	v, err := s.Update(ctx, sk("p1"), func(p *Patient) error { p.Count++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if v.Count != 2 || v.Version != 5 {
		t.Fatalf("updated %+v", v)
	}
	got, err := s.Get(ctx, sk("p1"))
	if err != nil || got.Count != 2 || got.Name != "Grace Hopper" || got.Version != 5 || got.Seen != 5 {
		t.Fatalf("verified read after the update: %+v, %v", got, err)
	}

	// A concurrent writer seals the row between Update's read and write.
	plainPatient(t, e.c, name, Patient{Tenant: "t1", ID: "p2", Name: "Ada", Count: 1})
	_, err = s.Update(ctx, sk("p2"), func(p *Patient) error {
		p.Count = 100
		if _, err := table.MigrateItemForTest(ctx, tb, rawGet(t, e.c, name, pkey("t1", "p2"))); err != nil {
			t.Fatal(err)
		}
		return nil
	})
	if !errors.Is(err, table.ErrConflict) {
		t.Fatalf("update racing a seal: %v, want ErrConflict", err)
	}
	got, err = s.Get(ctx, sk("p2"))
	if err != nil || got.Count != 1 {
		t.Fatalf("after the lost race: %+v, %v (the seal must stand)", got, err)
	}
}

// TestSealInPlace: the migrate step seals a plaintext row in place (every
// attribute kept, version untouched, readable verified), skips a sealed
// row, gives up on a row changed on every attempt, and never overwrites
// a concurrent application write.
func TestSealInPlace(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := patients(t, e, table.WithMigration())
	s := tb.For("t1")
	row := plainPatient(t, e.c, name, Patient{Tenant: "t1", ID: "p1", Name: "Grace Hopper", SSN: "078-05-1120", Plan: "gold", Seen: 9, Version: 7})
	st, err := table.MigrateItemForTest(ctx, tb, row)
	if err != nil || st.Sealed != 1 {
		t.Fatalf("seal: %+v, %v", st, err)
	}
	got, err := s.Get(ctx, sk("p1"))
	if err != nil || got.Name != "Grace Hopper" || got.SSN != "078-05-1120" || got.Plan != "gold" || got.Seen != 9 || got.Version != 7 {
		t.Fatalf("sealed row reads %+v, %v", got, err)
	}
	stored := rawGet(t, e.c, name, pkey("t1", "p1"))
	if _, ok := stored["ssn"].(*types.AttributeValueMemberB); !ok {
		t.Fatal("ssn is not encrypted after sealing")
	}
	// The same (now stale) read again: the row is sealed, nothing written.
	st, err = table.MigrateItemForTest(ctx, tb, row)
	if err != nil || st.AlreadySealed != 1 || st.Sealed != 0 {
		t.Fatalf("second seal of the stale read: %+v, %v", st, err)
	}
	if now := rawGet(t, e.c, name, pkey("t1", "p1")); !sameSig(now, stored) {
		t.Fatal("the second pass rewrote the sealed row")
	}

	// An application write lands between the job's read and its write: the
	// job starts over on what is stored, and the write survives.
	old := plainPatient(t, e.c, name, Patient{Tenant: "t1", ID: "p2", Name: "Ada", Count: 1})
	if _, err := s.Update(ctx, sk("p2"), func(p *Patient) error { p.Count = 42; return nil }); err != nil {
		t.Fatal(err)
	}
	st, err = table.MigrateItemForTest(ctx, tb, old)
	if err != nil || st.AlreadySealed != 1 {
		t.Fatalf("seal after an application write: %+v, %v", st, err)
	}
	if got, err := s.Get(ctx, sk("p2")); err != nil || got.Count != 42 {
		t.Fatalf("application write lost: %+v, %v", got, err)
	}
	// A legacy writer changes the row (still unsealed) after the read: the
	// job re-reads and seals what is stored now.
	old = plainPatient(t, e.c, name, Patient{Tenant: "t1", ID: "p3", Name: "Ada", Count: 1})
	plainPatient(t, e.c, name, Patient{Tenant: "t1", ID: "p3", Name: "Ada", Count: 2})
	st, err = table.MigrateItemForTest(ctx, tb, old)
	if err != nil || st.Sealed != 1 {
		t.Fatalf("seal after a legacy write: %+v, %v", st, err)
	}
	if got, err := s.Get(ctx, sk("p3")); err != nil || got.Count != 2 {
		t.Fatalf("legacy write lost: %+v, %v", got, err)
	}
	// Deleted between read and write: counted gone, nothing re-created.
	old = plainPatient(t, e.c, name, Patient{Tenant: "t1", ID: "p4", Name: "Ada"})
	if err := s.Delete(ctx, sk("p4")); err != nil {
		t.Fatal(err)
	}
	st, err = table.MigrateItemForTest(ctx, tb, old)
	if err != nil || st.Gone != 1 {
		t.Fatalf("seal of a deleted row: %+v, %v", st, err)
	}
	if _, err := s.Get(ctx, sk("p4")); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("deleted row: %v", err)
	}
	// Rows that cannot be sealed: no tenant key without create-on-first-use,
	// an invalid value; the error matches ErrNotSealed's cause and says
	// nothing of the values.
	strict, err := table.New[Patient](e.c, name, newStoreNoCreate(t), table.WithMigration())
	if err != nil {
		t.Fatal(err)
	}
	row = plainPatient(t, e.c, name, Patient{Tenant: "t-new", ID: "p5", Name: "Grace Hopper"})
	if _, err := table.MigrateItemForTest(ctx, strict, row); !errors.Is(err, table.ErrKeyMissing) {
		t.Fatalf("no key: %v, want ErrKeyMissing", err)
	}
	if !attrcrypt.IsUnsealed(rawGet(t, e.c, name, pkey("t-new", "p5"))) {
		t.Fatal("a row that could not be sealed was written")
	}
}

func sameSig(a, b map[string]types.AttributeValue) bool {
	x, ok1 := a[attrcrypt.SignatureAttribute].(*types.AttributeValueMemberB)
	y, ok2 := b[attrcrypt.SignatureAttribute].(*types.AttributeValueMemberB)
	return ok1 && ok2 && string(x.Value) == string(y.Value)
}

// TestSealInPlaceLostResponses: with a fifth of UpdateItem answers dropped
// (the SDK resends), sealing still reports every row sealed exactly once
// (a resend that finds its own write is success, not a conflict).
func TestSealInPlaceLostResponses(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c, p := proxiedClient(t, 7)
	name := createTable[Patient](t, e, "patients", nil)
	tb, err := table.New[Patient](c, name, e.rec, table.WithMigration())
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]types.AttributeValue
	for i := range 60 {
		rows = append(rows, plainPatient(t, e.c, name, Patient{Tenant: "t1", ID: fmt.Sprintf("p%02d", i), Name: "Grace Hopper", Count: i}))
	}
	p.Add(faultproxy.Rule{Operation: "UpdateItem", Probability: 0.2, Action: faultproxy.DropResponse})
	var total table.MigrateStats
	for _, r := range rows {
		st, err := table.MigrateItemForTest(ctx, tb, r)
		if err != nil {
			t.Fatal(err)
		}
		total.Add(st)
	}
	if total.Sealed != int64(len(rows)) {
		t.Fatalf("stats %+v: want %d sealed", total, len(rows))
	}
	if dropped := p.Stats().Faults[faultproxy.DropResponse]; dropped < 3 {
		t.Fatalf("only %d responses dropped", dropped)
	}
	s := tb.For("t1")
	for i := range rows {
		if got, err := s.Get(ctx, sk(fmt.Sprintf("p%02d", i))); err != nil || got.Count != i {
			t.Fatalf("row %d: %+v, %v", i, got, err)
		}
	}
}
