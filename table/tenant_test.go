package table_test

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// TestWrongTenantRead reads tenant A's item through tenant B's scope, on a
// table whose partition key is not the tenant, and checks that no key of
// tenant A was fetched.
func TestWrongTenantRead(t *testing.T) {
	e := newEnv(t)
	tb, _ := docs(t, e)
	ctx := context.Background()
	if err := tb.For("org-a").Put(ctx, &Doc{PK: "shared", SK: "d1", Org: "org-a", Body: "secret of a"}); err != nil {
		t.Fatal(err)
	}
	if err := tb.For("org-b").Put(ctx, &Doc{PK: "shared", SK: "d2", Org: "org-b", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	k := table.Key{PK: table.S("shared"), SK: table.S("d1")}
	b := tb.For("org-b")

	e.rec.reset()
	_, err := b.Get(ctx, k)
	if !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("Get: %v, want ErrWrongTenant", err)
	}
	_, err = b.BatchGet(ctx, []table.Key{k})
	if !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("BatchGet: %v, want ErrWrongTenant", err)
	}
	var got []string
	for d, err := range b.Query(ctx, table.QueryInput{Partition: table.S("shared")}) {
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		got = append(got, d.SK)
	}
	if len(got) != 1 || got[0] != "d2" {
		t.Fatalf("query of a shared partition returned %v, want only org-b's d2", got)
	}
	if _, err := b.Update(ctx, k, func(d *Doc) error { d.Body = "x"; return nil }); !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("Update: %v, want ErrWrongTenant", err)
	}
	if err := b.Delete(ctx, k); !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("Delete: %v, want ErrWrongTenant", err)
	}
	if err := b.Put(ctx, &Doc{PK: "shared", SK: "d1", Org: "org-b", Body: "overwrite"}); !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("Put over another tenant's item: %v, want ErrWrongTenant", err)
	}
	if e.rec.asked("org-a") {
		t.Fatalf("a key of org-a was fetched by org-b's requests: %v", e.rec.tenants)
	}
	// org-a's item is intact.
	if d, err := tb.For("org-a").Get(ctx, k); err != nil || d.Body != "secret of a" {
		t.Fatalf("org-a read after the attempts: %v", err)
	}

	// Writing an item that names another tenant is refused, not rewritten.
	if err := b.Put(ctx, &Doc{PK: "p", SK: "s", Org: "org-a"}); !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("Put of org-a's item in org-b's scope: %v", err)
	}
	// An empty tenant field is filled from the scope (issue 13.6).
	if d := (&Doc{PK: "p", SK: "s"}); b.Create(ctx, d) != nil || d.Org != "org-b" {
		t.Fatalf("Create with an empty tenant field: tenant %q", d.Org)
	}
}

// TestWrongTenantTenantPartition: when the partition key is the tenant, a
// key naming another tenant is refused before any call.
func TestWrongTenantTenantPartition(t *testing.T) {
	e := newEnv(t)
	tb, _ := patients(t, e)
	ctx := context.Background()
	if err := tb.For("tenant-a").Create(ctx, &Patient{Tenant: "tenant-a", ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	e.rec.reset()
	_, err := tb.For("tenant-b").Get(ctx, table.Key{PK: table.S("tenant-a"), SK: table.S("p1")})
	if !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("Get with another tenant's partition: %v", err)
	}
	for _, err := range tb.For("tenant-b").Query(ctx, table.QueryInput{Partition: table.S("tenant-a")}) {
		if !errors.Is(err, table.ErrWrongTenant) {
			t.Fatalf("Query of another tenant's partition: %v", err)
		}
	}
	if e.rec.asked("tenant-a") {
		t.Fatal("a key of tenant-a was fetched")
	}
	if _, err := tb.For("").Get(ctx, sk("p1")); !errors.Is(err, table.ErrNoTenant) {
		t.Fatalf("empty tenant: %v", err)
	}
}

// TestWrongKeyFailsAnyway shows, at the attrcrypt level, what the engine's
// tenant check protects in depth: an item opened with another tenant's key
// fails even if it were relabelled to that tenant.
func TestWrongKeyFailsAnyway(t *testing.T) {
	e := newEnv(t)
	tb, name := patients(t, e)
	ctx := context.Background()
	if err := tb.For("tenant-a").Create(ctx, &Patient{Tenant: "tenant-a", ID: "p1", SSN: "123"}); err != nil {
		t.Fatal(err)
	}
	it := rawGet(t, e.c, name, pkey("tenant-a", "p1"))
	s, err := attrcrypt.NewSealer(attrcrypt.Config{Table: name, TenantAttribute: "tenant", Actions: tb.Schema().Actions()})
	if err != nil {
		t.Fatal(err)
	}
	kb, err := e.store.CurrentKey(ctx, "tenant-b", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(it, kb); !errors.Is(err, attrcrypt.ErrWrongTenant) {
		t.Fatalf("open with another tenant's key: %v", err)
	}
	relabelled := clone(it)
	relabelled["tenant"] = table.S("tenant-b")
	_, _, err = s.Open(relabelled, kb)
	wantTampered(t, err, attrcrypt.ReasonCommitment)
}

// TestShreddedTenant: after Shred every item of the tenant fails with
// ErrKeyShredded (not ErrTampered); other tenants are unaffected.
func TestShreddedTenant(t *testing.T) {
	e := newEnv(t)
	tb, name := patients(t, e)
	ctx := context.Background()
	for _, ten := range []string{"tenant-a", "tenant-b"} {
		for _, id := range []string{"p1", "p2"} {
			if err := tb.For(ten).Create(ctx, &Patient{Tenant: ten, ID: id, Name: "n"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// p2 also names a key version that never existed: after the shred it
	// is still reported as shredded, not as tampered.
	it := rawGet(t, e.c, name, pkey("tenant-a", "p2"))
	h := bval(t, it[hdr])
	binary.BigEndian.PutUint32(h[2:], 9)
	it[hdr] = &types.AttributeValueMemberB{Value: h}
	rawPut(t, e.c, name, it)
	if err := e.store.Shred(ctx, "tenant-a"); err != nil {
		t.Fatal(err)
	}
	a := tb.For("tenant-a")
	_, err := a.Get(ctx, sk("p1"))
	if !errors.Is(err, table.ErrKeyShredded) || errors.Is(err, table.ErrTampered) {
		t.Fatalf("Get of a shredded tenant: %v, want ErrKeyShredded and not ErrTampered", err)
	}
	if _, err := a.Get(ctx, sk("p2")); !errors.Is(err, table.ErrKeyShredded) || errors.Is(err, table.ErrTampered) {
		t.Fatalf("Get of a shredded tenant's item with an edited version: %v, want ErrKeyShredded", err)
	}
	for _, err := range a.Query(ctx, table.QueryInput{}) {
		if !errors.Is(err, table.ErrKeyShredded) {
			t.Fatalf("Query of a shredded tenant: %v", err)
		}
	}
	if err := a.Put(ctx, &Patient{Tenant: "tenant-a", ID: "p2"}); !errors.Is(err, table.ErrKeyShredded) {
		t.Fatalf("Put for a shredded tenant: %v", err)
	}
	if _, err := tb.For("tenant-b").Get(ctx, sk("p1")); err != nil {
		t.Fatalf("other tenant after shred: %v", err)
	}
}

// TestRotatedKeys: items sealed under every key version still read after
// rotations, new writes use the newest version, and a header edited to name
// another existing version is tampering.
func TestRotatedKeys(t *testing.T) {
	e := newEnv(t)
	tb, name := patients(t, e)
	ctx := context.Background()
	a := tb.For("tenant-a")
	versionOf := func(id string) uint32 {
		h := bval(t, rawGet(t, e.c, name, pkey("tenant-a", id))[hdr])
		return binary.BigEndian.Uint32(h[2:]) // class "" -> version at 2
	}
	ids := []string{"v1", "v2", "v3"}
	for i, id := range ids {
		if i > 0 {
			if _, err := e.store.Rotate(ctx, "tenant-a", ""); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Create(ctx, &Patient{Tenant: "tenant-a", ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
		if got := versionOf(id); got != uint32(i+1) {
			t.Fatalf("%s sealed with key version %d, want %d", id, got, i+1)
		}
	}
	for _, id := range ids {
		p, err := a.Get(ctx, sk(id))
		if err != nil || p.Name != id {
			t.Fatalf("read %s after rotation: %v", id, err)
		}
	}
	// An update re-seals an old item under the current version.
	if _, err := a.Update(ctx, sk("v1"), func(p *Patient) error { p.Plan = "x"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := versionOf("v1"); got != 3 {
		t.Fatalf("updated item sealed with version %d, want 3", got)
	}
	// Edit v2's header to name version 1 (exists): tampered.
	it := rawGet(t, e.c, name, pkey("tenant-a", "v2"))
	h := bval(t, it[hdr])
	binary.BigEndian.PutUint32(h[2:], 1)
	it[hdr] = &types.AttributeValueMemberB{Value: h}
	rawPut(t, e.c, name, it)
	_, err := a.Get(ctx, sk("v2"))
	wantTampered(t, err, attrcrypt.ReasonCommitment)
}

// TestKeyMissing: a tenant without keys (and a provider that does not
// create them) is ErrKeyMissing.
func TestKeyMissing(t *testing.T) {
	e := newEnv(t)
	name := createTable[Patient](t, e, "patients", nil)
	st := newStoreNoCreate(t)
	tb, err := table.New[Patient](e.c, name, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.For("nobody").Put(context.Background(), &Patient{Tenant: "nobody", ID: "x"}); !errors.Is(err, table.ErrKeyMissing) {
		t.Fatalf("Put without a key: %v, want ErrKeyMissing", err)
	}
	if !errors.Is(table.ErrKeyMissing, tenantkeys.ErrKeyNotFound) {
		t.Fatal("ErrKeyMissing is not tenantkeys.ErrKeyNotFound")
	}
}

// TestKeyClass: a table with a key class seals with (tenant, class) keys,
// separate from the tenant's default-class key, and records the class in
// the header.
func TestKeyClass(t *testing.T) {
	e := newEnv(t)
	tb, name := patients(t, e, table.WithKeyClass("phi"))
	ctx := context.Background()
	if err := tb.For("tenant-a").Create(ctx, &Patient{Tenant: "tenant-a", ID: "p1", SSN: "1"}); err != nil {
		t.Fatal(err)
	}
	h := bval(t, rawGet(t, e.c, name, pkey("tenant-a", "p1"))[hdr])
	if int(h[1]) != 3 || string(h[2:5]) != "phi" {
		t.Fatalf("header class = %q, want phi", h[2:2+int(h[1])])
	}
	def, err := e.store.CurrentKey(ctx, "tenant-a", "")
	if err != nil {
		t.Fatal(err)
	}
	phi, err := e.store.CurrentKey(ctx, "tenant-a", "phi")
	if err != nil {
		t.Fatal(err)
	}
	if def.Material == phi.Material {
		t.Fatal("the phi class key equals the default key")
	}
	if p, err := tb.For("tenant-a").Get(ctx, sk("p1")); err != nil || p.SSN != "1" {
		t.Fatalf("read: %v", err)
	}
}
