package table_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/table"
)

func TestCreateGetPutDelete(t *testing.T) {
	e := newEnv(t)
	tb, name := patients(t, e)
	ctx := context.Background()
	a := tb.For("tenant-a")
	p := &Patient{Tenant: "tenant-a", ID: "p1", Name: "Ada Lovelace", SSN: "123-45-6789", Plan: "gold", Seen: 7}
	if err := a.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if p.Version != 1 {
		t.Fatalf("version after create = %d, want 1", p.Version)
	}
	raw := rawGet(t, e.c, name, pkey("tenant-a", "p1"))
	if b, ok := raw["name"].(*types.AttributeValueMemberB); !ok || bytes.Contains(b.Value, []byte("Lovelace")) {
		t.Fatalf("stored name is not ciphertext: %T", raw["name"])
	}
	if s, ok := raw["plan"].(*types.AttributeValueMemberS); !ok || s.Value != "gold" {
		t.Fatalf("stored plan = %v, want signed plaintext", raw["plan"])
	}
	got, err := a.Get(ctx, sk("p1"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != p.Name || got.SSN != p.SSN || got.Plan != "gold" || got.Version != 1 || got.Seen != 7 {
		t.Fatalf("got %+v", got)
	}
	// Create again: ErrAlreadyExists.
	if err := a.Create(ctx, &Patient{Tenant: "tenant-a", ID: "p1"}); !errors.Is(err, table.ErrAlreadyExists) {
		t.Fatalf("second create: %v, want ErrAlreadyExists", err)
	}
	// Put with the current version succeeds and bumps it.
	got.Plan = "silver"
	if err := a.Put(ctx, got); err != nil || got.Version != 2 {
		t.Fatalf("put: %v, version %d", err, got.Version)
	}
	// Put with a stale version: ErrConflict.
	p.Plan = "stale"
	if err := a.Put(ctx, p); !errors.Is(err, table.ErrConflict) {
		t.Fatalf("stale put: %v, want ErrConflict", err)
	}
	// Delete with a wrong version: ErrConflict; right version: gone.
	if err := a.Delete(ctx, sk("p1"), table.IfVersion(1)); !errors.Is(err, table.ErrConflict) {
		t.Fatalf("delete v1: %v", err)
	}
	if err := a.Delete(ctx, sk("p1"), table.IfVersion(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, sk("p1")); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("get after delete: %v, want ErrNotFound", err)
	}
	if err := a.Delete(ctx, sk("p1"), table.MustExist()); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("delete missing with MustExist: %v", err)
	}
	if err := a.Delete(ctx, sk("p1")); err != nil {
		t.Fatalf("idempotent delete: %v", err)
	}
}
