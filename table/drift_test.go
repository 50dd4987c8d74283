package table_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/table"
)

// ContactV1 stores email signed in plaintext; ContactV2, the same table a
// release later, encrypts it.
type ContactV1 struct {
	Tenant string `dynamodbav:"tenant" seal:"pk,tenant"`
	ID     string `dynamodbav:"id"     seal:"sk"`
	Email  string `dynamodbav:"email"`
}

type ContactV2 struct {
	Tenant string `dynamodbav:"tenant" seal:"pk,tenant"`
	ID     string `dynamodbav:"id"     seal:"sk"`
	Email  string `dynamodbav:"email"  seal:"encrypt"`
}

// TestSchemaDrift: an item sealed before a field became encrypted is
// refused with ErrSchemaMismatch by default; with the migration policy
// passed through WithSealerConfig it reads, the drift hook reports it, and
// an Update re-seals it under the new schema.
func TestSchemaDrift(t *testing.T) {
	e := newEnv(t)
	name := createTable[ContactV1](t, e, "contacts", nil)
	ctx := context.Background()
	v1, err := table.New[ContactV1](e.c, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := v1.For("tenant-a").Put(ctx, &ContactV1{Tenant: "tenant-a", ID: "c1", Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	strict, err := table.New[ContactV2](e.c, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strict.For("tenant-a").Get(ctx, sk("c1")); !errors.Is(err, table.ErrSchemaMismatch) {
		t.Fatalf("strict reader: %v, want ErrSchemaMismatch", err)
	}
	var drifted []string
	migrating, err := table.New[ContactV2](e.c, name, e.rec,
		table.WithSealerConfig(func(c *attrcrypt.Config) { c.AllowPlaintextMigration = true }),
		table.WithDriftHook(func(_ context.Context, k table.Key, r attrcrypt.OpenResult) {
			for _, d := range r.Drift {
				drifted = append(drifted, d.Name)
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	s := migrating.For("tenant-a")
	c, err := s.Get(ctx, sk("c1"))
	if err != nil || c.Email != "a@example.com" {
		t.Fatalf("migrating reader: %v", err)
	}
	if len(drifted) != 1 || drifted[0] != "email" {
		t.Fatalf("drift hook saw %v, want [email]", drifted)
	}
	if _, err := s.Update(ctx, sk("c1"), func(*ContactV2) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := strict.For("tenant-a").Get(ctx, sk("c1")); err != nil {
		t.Fatalf("strict reader after re-seal: %v", err)
	}
}
