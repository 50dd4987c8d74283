package table_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dynaseal/dynaseal/table"
)

// TestTransactWriteAcrossTables writes to two tables of different item
// types in one transaction, reads both back in one transaction, and checks
// that a failed condition cancels everything.
func TestTransactWriteAcrossTables(t *testing.T) {
	e := newEnv(t)
	pt, _ := patients(t, e)
	dt, _ := docs(t, e)
	ctx := context.Background()
	ps, ds := pt.For("tenant-a"), dt.For("tenant-a")
	p := &Patient{Tenant: "tenant-a", ID: "p1", Name: "Ada"}
	d := &Doc{PK: "x", SK: "d1", Org: "tenant-a", Body: "note"}
	if err := table.TransactWrite(ctx, e.c, ps.TxCreate(p), ds.TxPut(d)); err != nil {
		t.Fatal(err)
	}
	if p.Version != 1 {
		t.Fatalf("version after TxCreate: %d", p.Version)
	}
	rp, rd := ps.TxGet(sk("p1")), ds.TxGet(table.Key{PK: table.S("x"), SK: table.S("d1")})
	rm := ps.TxGet(sk("missing"))
	if err := table.TransactGet(ctx, e.c, rp, rd, rm); err != nil {
		t.Fatal(err)
	}
	if rp.Item == nil || rp.Item.Name != "Ada" || rd.Item == nil || rd.Item.Body != "note" || rm.Item != nil {
		t.Fatalf("TransactGet: %+v %+v %+v", rp.Item, rd.Item, rm.Item)
	}

	// TxCreate of an existing item cancels the whole transaction.
	d2 := &Doc{PK: "x", SK: "d2", Org: "tenant-a"}
	err := table.TransactWrite(ctx, e.c, ps.TxCreate(&Patient{Tenant: "tenant-a", ID: "p1"}), ds.TxPut(d2))
	var te *table.TxError
	if !errors.Is(err, table.ErrAlreadyExists) || !errors.As(err, &te) || te.Reasons[0] != "ConditionalCheckFailed" {
		t.Fatalf("TxCreate of existing: %v", err)
	}
	if _, err := ds.Get(ctx, table.Key{PK: table.S("x"), SK: table.S("d2")}); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("d2 written by a cancelled transaction: %v", err)
	}

	// TxUpdate + condition check on a stale version: ErrConflict.
	err = table.TransactWrite(ctx, e.c,
		ps.TxUpdate(sk("p1"), func(p *Patient) error { p.Plan = "x"; return nil }),
		ds.TxConditionCheck(table.Key{PK: table.S("x"), SK: table.S("d1")}),
		ps.TxConditionCheck(sk("p1"), table.IfVersion(5)),
	)
	if !errors.Is(err, table.ErrConflict) {
		t.Fatalf("stale condition: %v, want ErrConflict", err)
	}
	// TxUpdate and TxDelete together.
	if err := table.TransactWrite(ctx, e.c,
		ps.TxUpdate(sk("p1"), func(p *Patient) error { p.Plan = "updated"; return nil }),
		ds.TxDelete(table.Key{PK: table.S("x"), SK: table.S("d1")}),
	); err != nil {
		t.Fatal(err)
	}
	got, err := ps.Get(ctx, sk("p1"))
	if err != nil || got.Plan != "updated" || got.Version != 2 {
		t.Fatalf("after TxUpdate: %v %+v", err, got)
	}
	if _, err := ds.Get(ctx, table.Key{PK: table.S("x"), SK: table.S("d1")}); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("after TxDelete: %v", err)
	}
	// Another tenant's TxGet of the item: ErrWrongTenant, no key fetched.
	e.rec.reset()
	if err := table.TransactGet(ctx, e.c, dt.For("tenant-b").TxGet(table.Key{PK: table.S("x"), SK: table.S("d1")})); err != nil {
		t.Fatalf("TxGet of a deleted item: %v", err)
	}
	if err := ds.Put(ctx, &Doc{PK: "x", SK: "d3", Org: "tenant-a"}); err != nil {
		t.Fatal(err)
	}
	e.rec.reset()
	err = table.TransactGet(ctx, e.c, dt.For("tenant-b").TxGet(table.Key{PK: table.S("x"), SK: table.S("d3")}))
	if !errors.Is(err, table.ErrWrongTenant) || e.rec.asked("tenant-a") {
		t.Fatalf("cross-tenant TxGet: %v (tenant-a key fetched: %v)", err, e.rec.asked("tenant-a"))
	}
}
