package table_test

import (
	"context"
	"errors"
	"testing"

	genpatients "github.com/dynaseal/dynaseal/examples/patients"
	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/table"
)

// TestWriteFillsEmptyTenant: a write of an item whose tenant field is empty
// stores it under the scope's tenant and sets the caller's field, through
// Create, Put, TxCreate, TxPut and BatchWrite, and whether the tenant is the
// partition key (Patient) or a separate attribute (Doc); an item naming
// another tenant is still refused with ErrWrongTenant and nothing is stored.
func TestWriteFillsEmptyTenant(t *testing.T) {
	e := newEnv(t)
	pt, _ := patients(t, e)
	dt, _ := docs(t, e)
	ctx := context.Background()
	ps, ds := pt.For("tenant-a"), dt.For("tenant-a")

	p1 := &Patient{ID: "p1", Name: "Ada"}
	if err := ps.Create(ctx, p1); err != nil {
		t.Fatal(err)
	}
	p2 := &Patient{ID: "p2"}
	if err := ps.Put(ctx, p2); err != nil {
		t.Fatal(err)
	}
	d1 := &Doc{PK: "x", SK: "d1", Body: "b"}
	if err := ds.Put(ctx, d1); err != nil {
		t.Fatal(err)
	}
	p3, d2 := &Patient{ID: "p3"}, &Doc{PK: "x", SK: "d2"}
	if err := table.TransactWrite(ctx, e.c, ps.TxCreate(p3), ds.TxPut(d2)); err != nil {
		t.Fatal(err)
	}
	p4 := &Patient{ID: "p4"}
	if err := ps.BatchWrite(ctx, []*Patient{p4}, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*Patient{p1, p2, p3, p4} {
		if p.Tenant != "tenant-a" {
			t.Errorf("%s: caller's tenant field %q, want tenant-a", p.ID, p.Tenant)
		}
		got, err := ps.Get(ctx, sk(p.ID))
		if err != nil || got.Tenant != "tenant-a" {
			t.Errorf("%s stored: %v %+v", p.ID, err, got)
		}
	}
	for _, d := range []*Doc{d1, d2} {
		if d.Org != "tenant-a" {
			t.Errorf("%s: caller's tenant field %q", d.SK, d.Org)
		}
		got, err := ds.Get(ctx, table.Key{PK: table.S("x"), SK: table.S(d.SK)})
		if err != nil || got.Org != "tenant-a" {
			t.Errorf("%s stored: %v %+v", d.SK, err, got)
		}
		// Another tenant cannot read it: it really is tenant-a's.
		if _, err := dt.For("tenant-b").Get(ctx, table.Key{PK: table.S("x"), SK: table.S(d.SK)}); !errors.Is(err, table.ErrWrongTenant) {
			t.Errorf("%s read by tenant-b: %v", d.SK, err)
		}
	}

	// Update whose function empties the tenant: filled, not a key change.
	if _, err := ps.Update(ctx, sk("p1"), func(p *Patient) error { p.Tenant = ""; p.Plan = "gold"; return nil }); err != nil {
		t.Fatalf("update emptying the tenant: %v", err)
	}

	// Another tenant named in the item is still refused, on every path.
	other := func() *Patient { return &Patient{Tenant: "tenant-b", ID: "x1"} }
	for name, err := range map[string]error{
		"Create":        ps.Create(ctx, other()),
		"Put":           ps.Put(ctx, other()),
		"TxPut":         table.TransactWrite(ctx, e.c, ps.TxPut(other())),
		"DocPut":        ds.Put(ctx, &Doc{PK: "x", SK: "d9", Org: "tenant-b"}),
		"BatchWrite":    ps.BatchWrite(ctx, []*Patient{other()}, nil),
		"UpdateOther":   updateErr(ps.Update(ctx, sk("p2"), func(p *Patient) error { p.Tenant = "tenant-b"; return nil })),
		"ScopeNoTenant": pt.For("").Create(ctx, &Patient{ID: "x2"}),
	} {
		want := table.ErrWrongTenant
		if name == "ScopeNoTenant" {
			want = table.ErrNoTenant
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	if _, err := pt.For("tenant-b").Get(ctx, sk("x1")); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("a refused write stored an item: %v", err)
	}
}

func updateErr(_ *Patient, err error) error { return err }

// TestGeneratedWriteFillsEmptyTenant: the generated codec and repository
// (examples/patients) get the same filling: an empty TenantID is stored as
// the scope's tenant and set in the struct; another tenant is refused.
func TestGeneratedWriteFillsEmptyTenant(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s, err := schema.For[genpatients.Patient]()
	if err != nil {
		t.Fatal(err)
	}
	name := itest.NewTable(t, e.c, s.CreateTableInput(genpatients.PatientTable))
	repo, err := genpatients.NewPatientRepositoryNamed(e.c, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	clinic := repo.For("clinic-1")
	p := &genpatients.Patient{ID: "p-1", Name: "Ada"}
	if err := clinic.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	p2 := &genpatients.Patient{ID: "p-2"}
	if err := table.TransactWrite(ctx, e.c, clinic.TxPut(p2)); err != nil {
		t.Fatal(err)
	}
	for _, v := range []*genpatients.Patient{p, p2} {
		if v.TenantID != "clinic-1" {
			t.Errorf("%s: struct tenant %q", v.ID, v.TenantID)
		}
		got, err := clinic.Get(ctx, v.ID)
		if err != nil || got.TenantID != "clinic-1" {
			t.Errorf("%s stored: %v %+v", v.ID, err, got)
		}
	}
	if err := clinic.Put(ctx, &genpatients.Patient{TenantID: "clinic-2", ID: "p-3"}); !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("another tenant: %v, want ErrWrongTenant", err)
	}
}
