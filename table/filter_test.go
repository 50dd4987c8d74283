package table_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/dynaseal/dynaseal/table"
)

// seedPlans writes tenant-a's patients with plans and Seen counts, and a
// tenant-b patient that matches every filter below.
func seedPlans(t *testing.T, tb *table.Table[Patient]) {
	t.Helper()
	ctx := context.Background()
	for i, p := range []struct{ id, plan string }{{"a1", "gold"}, {"a2", "basic"}, {"a3", "gold"}, {"a4", "gold"}, {"a5", "basic"}} {
		if err := tb.For("tenant-a").Create(ctx, &Patient{ID: p.id, Plan: p.plan, Seen: int64(i), Name: "secret"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.For("tenant-b").Create(ctx, &Patient{ID: "a1", Plan: "gold", Seen: 9}); err != nil {
		t.Fatal(err)
	}
}

// TestQueryFilter filters on a signed and a plain attribute, alone, with a
// sort condition, descending and in pages, and counts the same items.
func TestQueryFilter(t *testing.T) {
	e := newEnv(t)
	tb, _ := patients(t, e)
	seedPlans(t, tb)
	ctx := context.Background()
	a := tb.For("tenant-a")
	gold := expression.Name("plan").Equal(expression.Value("gold"))
	cases := []struct {
		name string
		in   table.QueryInput
		want []string
	}{
		{"signed", table.QueryInput{Filter: gold}, []string{"a1", "a3", "a4"}},
		{"signed descending", table.QueryInput{Filter: gold, Descending: true}, []string{"a4", "a3", "a1"}},
		{"plain", table.QueryInput{Filter: expression.Name("seen").GreaterThanEqual(expression.Value(2))}, []string{"a3", "a4", "a5"}},
		{"and sort", table.QueryInput{Filter: gold.And(expression.Name("seen").LessThan(expression.Value(3))), Sort: table.GreaterThan(table.S("a1"))}, []string{"a3"}},
		{"page size 1", table.QueryInput{Filter: gold, PageSize: 1}, []string{"a1", "a3", "a4"}},
		{"none match", table.QueryInput{Filter: expression.Name("plan").Equal(expression.Value("platinum"))}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(t, a.Query(ctx, tc.in)); !slices.Equal(got, tc.want) {
				t.Fatalf("Query: got %v, want %v", got, tc.want)
			}
			if got := pageAll(ctx, t, a, tc.in, func(p *Patient) string { return p.ID }); !slices.Equal(got, tc.want) {
				t.Fatalf("QueryPage: got %v, want %v", got, tc.want)
			}
			n, err := a.Count(ctx, tc.in)
			if err != nil || n != len(tc.want) {
				t.Fatalf("Count: %d, %v; want %d", n, err, len(tc.want))
			}
		})
	}
}

// TestQueryFilterRefused: a filter naming an encrypted, unknown or nested
// attribute fails with ErrInvalidFilter before any request reaches
// DynamoDB, and the error names no operand value.
func TestQueryFilterRefused(t *testing.T) {
	e := newEnv(t)
	name := createTable[Patient](t, e, "patients", nil)
	qc := &queryCounter{Client: e.c}
	tb, err := table.New[Patient](qc, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := tb.For("tenant-a")
	cases := map[string]expression.ConditionBuilder{
		"encrypted":          expression.Name("ssn").Equal(expression.Value("123-45-6789")),
		"encrypted in or":    expression.Name("plan").Equal(expression.Value("gold")).Or(expression.Name("name").BeginsWith("123-45-6789")),
		"encrypted exists":   expression.AttributeExists(expression.Name("notes")),
		"unknown":            expression.Name("nope").Equal(expression.Value("123-45-6789")),
		"nested":             expression.Name("plan.x").Equal(expression.Value("123-45-6789")),
		"engine attribute":   expression.AttributeExists(expression.Name("__s")),
		"encrypted in value": expression.Name("plan").Equal(expression.Name("ssn")),
	}
	for n, f := range cases {
		t.Run(n, func(t *testing.T) {
			yielded := 0
			for _, err := range a.Query(ctx, table.QueryInput{Filter: f}) {
				yielded++
				if !errors.Is(err, table.ErrInvalidFilter) {
					t.Fatalf("Query: %v, want ErrInvalidFilter", err)
				}
				if strings.Contains(err.Error(), "123-45-6789") {
					t.Fatalf("error carries an operand value: %v", err)
				}
			}
			if yielded != 1 {
				t.Fatalf("Query yielded %d results, want the one error", yielded)
			}
			if _, err := a.Count(ctx, table.QueryInput{Filter: f}); !errors.Is(err, table.ErrInvalidFilter) {
				t.Fatalf("Count: %v, want ErrInvalidFilter", err)
			}
			if _, err := a.QueryPage(ctx, table.QueryInput{Filter: f}); !errors.Is(err, table.ErrInvalidFilter) {
				t.Fatalf("QueryPage: %v, want ErrInvalidFilter", err)
			}
		})
	}
	if n := qc.n.Load(); n != 0 {
		t.Fatalf("%d Query calls reached DynamoDB", n)
	}
}

// TestQueryFilterSharedPartition: in a partition shared by tenants the
// caller's filter is ANDed with the engine's tenant filter; another
// tenant's matching items are neither yielded nor counted.
func TestQueryFilterSharedPartition(t *testing.T) {
	e := newEnv(t)
	tb, _ := docs(t, e)
	ctx := context.Background()
	for i, org := range []string{"org-a", "org-b", "org-a", "org-b", "org-a"} {
		tag := "x"
		if i == 4 {
			tag = "y"
		}
		d := &Doc{PK: "shared", SK: string(rune('a' + i)), Org: org, Body: "b", Tag: tag}
		if err := tb.For(org).Put(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	in := table.QueryInput{Partition: table.S("shared"), Filter: expression.Name("tag").Equal(expression.Value("x"))}
	var got []string
	for d, err := range tb.For("org-a").Query(ctx, in) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d.SK)
	}
	if !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("got %v", got)
	}
	if n, err := tb.For("org-a").Count(ctx, in); err != nil || n != 2 {
		t.Fatalf("Count: %d, %v", n, err)
	}
	if n, err := tb.For("org-c").Count(ctx, in); err != nil || n != 0 {
		t.Fatalf("Count for a tenant with no items: %d, %v", n, err)
	}
}

// TestCountVerifies: an item whose signed attribute was altered in the
// table to match the filter is not counted as matching; Count fails with
// ErrTampered, as Select=COUNT would not.
func TestCountVerifies(t *testing.T) {
	e := newEnv(t)
	tb, name := patients(t, e)
	seedPlans(t, tb)
	ctx := context.Background()
	raw := rawGet(t, e.c, name, pkey("tenant-a", "a2"))
	raw["plan"] = table.S("gold")
	rawPut(t, e.c, name, raw)
	in := table.QueryInput{Filter: expression.Name("plan").Equal(expression.Value("gold"))}
	n, err := tb.For("tenant-a").Count(ctx, in)
	if !errors.Is(err, table.ErrTampered) || n != 0 {
		t.Fatalf("Count: %d, %v; want ErrTampered", n, err)
	}
	var ie *table.ItemError
	if !errors.As(err, &ie) {
		t.Fatalf("Count error %T is not an *ItemError", err)
	}
	// Unfiltered, the count fails the same way: no tampered item is counted.
	if _, err := tb.For("tenant-a").Count(ctx, table.QueryInput{}); !errors.Is(err, table.ErrTampered) {
		t.Fatalf("unfiltered Count: %v", err)
	}
}

// TestQueryFilterIndex filters an index query: on a full projection the
// filter holds with descending order and a count; a filter cannot widen
// the scope to another tenant (it is ANDed with the tenant filter); on a
// keys-only index a filter on an attribute the index lacks is refused.
func TestQueryFilterIndex(t *testing.T) {
	e := newEnv(t)
	tb, _ := gsiPatients(t, e)
	ctx := context.Background()
	for i, ten := range []string{"tenant-a", "tenant-b", "tenant-a", "tenant-a", "tenant-b"} {
		plan := "gold"
		if i == 2 {
			plan = "basic"
		}
		if err := tb.For(ten).Create(ctx, &Patient{ID: string(rune('a' + i)), Status: "active", Plan: plan}); err != nil {
			t.Fatal(err)
		}
	}
	a := tb.For("tenant-a")
	in := table.QueryInput{Index: "by-status", Partition: table.S("active"), Descending: true,
		Filter: expression.Name("plan").Equal(expression.Value("gold"))}
	if got := ids(t, a.Query(ctx, in)); !slices.Equal(got, []string{"d", "a"}) {
		t.Fatalf("got %v", got)
	}
	if n, err := a.Count(ctx, in); err != nil || n != 2 {
		t.Fatalf("Count: %d, %v", n, err)
	}
	in.Filter = expression.Name("tenant").Equal(expression.Value("tenant-b"))
	if got := ids(t, a.Query(ctx, in)); len(got) != 0 {
		t.Fatalf("a filter on another tenant yielded %v", got)
	}
	keys := table.QueryInput{Index: "by-status-keys", Partition: table.S("active"),
		Filter: expression.Name("plan").Equal(expression.Value("gold"))}
	if _, err := a.Count(ctx, keys); !errors.Is(err, table.ErrInvalidFilter) {
		t.Fatalf("keys-only index, unprojected attribute: %v, want ErrInvalidFilter", err)
	}
	keys.Filter = expression.Name("tenant").Equal(expression.Value("tenant-a"))
	if n, err := a.Count(ctx, keys); err != nil || n != 3 {
		t.Fatalf("keys-only index, projected attribute: %d, %v; want 3", n, err)
	}
}

// TestQueryOptions: options apply in order; two Filter options are ANDed.
func TestQueryOptions(t *testing.T) {
	e := newEnv(t)
	tb, _ := patients(t, e)
	seedPlans(t, tb)
	in := table.ApplyQueryOptions(table.QueryInput{},
		table.Filter(expression.Name("plan").Equal(expression.Value("gold"))),
		table.Filter(expression.Name("seen").LessThan(expression.Value(3))),
		table.Descending())
	if !in.Descending {
		t.Fatal("Descending not set")
	}
	if got := ids(t, tb.For("tenant-a").Query(context.Background(), in)); !slices.Equal(got, []string{"a3", "a1"}) {
		t.Fatalf("got %v, want [a3 a1]", got)
	}
}
