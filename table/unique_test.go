package table_test

import (
	"errors"
	"testing"

	"github.com/dynaseal/dynaseal/table"
)

// Customer has a unique e-mail; the partition key is the tenant.
type Customer struct {
	Tenant  string `dynamodbav:"tenant"          seal:"pk,tenant"`
	ID      string `dynamodbav:"id"              seal:"sk"`
	Email   string `dynamodbav:"email,omitempty" seal:"encrypt,unique,lower,trim"`
	Name    string `dynamodbav:"name"            seal:"encrypt"`
	Version int64  `dynamodbav:"v"               seal:"version"`
}

// Account has a unique handle; the tenant is a separate attribute and the
// table has no version attribute.
type Account struct {
	PK     string `dynamodbav:"pk"                seal:"pk"`
	SK     string `dynamodbav:"sk"                seal:"sk"`
	Org    string `dynamodbav:"org"               seal:"tenant"`
	Handle string `dynamodbav:"handle,omitempty"  seal:"unique"`
	Body   string `dynamodbav:"body"              seal:"encrypt"`
}

func customers(t testing.TB, e *env, opts ...table.Option) (*table.Table[Customer], string) {
	t.Helper()
	name := createTable[Customer](t, e, "customers", nil)
	tb, err := table.New[Customer](e.c, name, e.rec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tb, name
}

func TestUniqueCreateGet(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, _ := customers(t, e)
	a := tb.For("tenant-a")
	if err := a.Create(ctx, &Customer{ID: "c1", Email: "Ada@Example.com", Name: "Ada"}); err != nil {
		t.Fatal(err)
	}
	err := a.Create(ctx, &Customer{ID: "c2", Email: " ada@example.com ", Name: "Eve"})
	var ue *table.UniqueError
	if !errors.Is(err, table.ErrUniqueTaken) || !errors.Is(err, table.ErrAlreadyExists) || !errors.As(err, &ue) || ue.Attribute != "email" {
		t.Fatalf("second create: %v", err)
	}
	got, err := a.GetUnique(ctx, "email", table.S("ADA@example.com"))
	if err != nil || got.ID != "c1" {
		t.Fatalf("GetUnique: %v %+v", err, got)
	}
}
