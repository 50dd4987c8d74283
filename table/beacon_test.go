package table_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/table"
)

// Customer has an encrypted, searchable email (lower-cased and trimmed),
// a signed status, and a compound of status and the email's beacon under
// an index keyed by the tenant.
type Customer struct {
	Tenant  string   `dynamodbav:"tenant" seal:"pk,tenant"`
	ID      string   `dynamodbav:"id" seal:"sk"`
	Email   string   `dynamodbav:"email,omitempty" seal:"encrypt,beacon,lower,trim,index=by_email"`
	Name    string   `dynamodbav:"name" seal:"encrypt"`
	Status  string   `dynamodbav:"status,omitempty"`
	Version int64    `dynamodbav:"v" seal:"version"`
	_       struct{} `seal:"compound=status_email,parts=status+email"`
	_       struct{} `seal:"index=by_status_email,pk=tenant,sk=status_email"`
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

func findIDs[T any](t *testing.T, seq func(func(*T, error) bool), id func(*T) string) []string {
	t.Helper()
	var out []string
	for v, err := range seq {
		if err != nil {
			t.Fatalf("find: %v", err)
		}
		out = append(out, id(v))
	}
	slices.Sort(out)
	return out
}

func customerID(c *Customer) string { return c.ID }

func TestFindSmoke(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tb, name := customers(t, e)
	s := tb.For("acme")
	for i := range 5 {
		c := &Customer{ID: fmt.Sprint("c", i), Email: fmt.Sprintf(" User%d@Example.com ", i%2), Name: "n", Status: "active"}
		if err := s.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	raw := rawGet(t, e.c, name, pkey("acme", "c0"))
	bv, ok := raw["email#b"].(*types.AttributeValueMemberS)
	if !ok || !strings.HasPrefix(bv.Value, "acme"+attrcrypt.IndexSeparator) {
		t.Fatalf("beacon attribute: %#v", raw["email#b"])
	}
	got := findIDs(t, s.Find(ctx, "email", table.S("user0@example.com")), customerID)
	if !slices.Equal(got, []string{"c0", "c2", "c4"}) {
		t.Fatalf("find: %v", got)
	}
	got = findIDs(t, s.FindCompound(ctx, "status_email", []types.AttributeValue{table.S("active"), table.S("USER1@example.com")}), customerID)
	if !slices.Equal(got, []string{"c1", "c3"}) {
		t.Fatalf("find compound: %v", got)
	}
	got = findIDs(t, s.FindCompound(ctx, "status_email", []types.AttributeValue{table.S("active")}), customerID)
	if len(got) != 5 {
		t.Fatalf("find compound prefix: %v", got)
	}
	_ = errors.New
}
