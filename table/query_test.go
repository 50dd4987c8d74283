package table_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/table"
)

func ids(t *testing.T, seq func(func(*Patient, error) bool)) []string {
	t.Helper()
	var out []string
	for p, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.ID)
	}
	return out
}

// TestQuerySortConditions tests every sort key condition and the direction.
func TestQuerySortConditions(t *testing.T) {
	e := newEnv(t)
	tb, _ := patients(t, e)
	ctx := context.Background()
	a := tb.For("tenant-a")
	for _, id := range []string{"a1", "a2", "b1", "b2", "c1"} {
		if err := a.Create(ctx, &Patient{Tenant: "tenant-a", ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.For("tenant-b").Create(ctx, &Patient{Tenant: "tenant-b", ID: "a1"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		in   table.QueryInput
		want []string
	}{
		{"none", table.QueryInput{}, []string{"a1", "a2", "b1", "b2", "c1"}},
		{"=", table.QueryInput{Sort: table.Equal(table.S("b1"))}, []string{"b1"}},
		{"<", table.QueryInput{Sort: table.LessThan(table.S("b1"))}, []string{"a1", "a2"}},
		{"<=", table.QueryInput{Sort: table.LessOrEqual(table.S("b1"))}, []string{"a1", "a2", "b1"}},
		{">", table.QueryInput{Sort: table.GreaterThan(table.S("b1"))}, []string{"b2", "c1"}},
		{">=", table.QueryInput{Sort: table.GreaterOrEqual(table.S("b1"))}, []string{"b1", "b2", "c1"}},
		{"between", table.QueryInput{Sort: table.Between(table.S("a2"), table.S("b2"))}, []string{"a2", "b1", "b2"}},
		{"begins_with", table.QueryInput{Sort: table.BeginsWith(table.S("b"))}, []string{"b1", "b2"}},
		{"descending", table.QueryInput{Descending: true}, []string{"c1", "b2", "b1", "a2", "a1"}},
		{"begins_with descending page size 1", table.QueryInput{Sort: table.BeginsWith(table.S("a")), Descending: true, PageSize: 1}, []string{"a2", "a1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(t, a.Query(ctx, tc.in)); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestQueryLargePages: items of ~100 KB cross DynamoDB's 1 MB page limit;
// the iterator and the cursor pages both return every item exactly once.
func TestQueryLargePages(t *testing.T) {
	e := newEnv(t)
	name := createTable[Patient](t, e, "patients", nil)
	fc := &flaky{Client: e.c}
	tb, err := table.New[Patient](fc, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := tb.For("tenant-a")
	const n = 18
	for i := range n {
		p := &Patient{Tenant: "tenant-a", ID: fmt.Sprintf("big%02d", i), Notes: strings.Repeat(string(rune('a'+i)), 100*1024)}
		if err := a.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	for p, err := range a.Query(ctx, table.QueryInput{}) {
		if err != nil {
			t.Fatal(err)
		}
		if p.Notes[0] != p.Notes[len(p.Notes)-1] || len(p.Notes) != 100*1024 {
			t.Fatalf("%s: notes damaged", p.ID)
		}
		seen[p.ID]++
	}
	if q := fc.queries.Load(); q < 2 {
		t.Fatalf("%d Query calls, want several pages", q)
	}
	if len(seen) != n {
		t.Fatalf("iterator saw %d distinct items, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("%s seen %d times", id, c)
		}
	}
	// The same with explicit pages and cursors.
	clear(seen)
	pages := 0
	in := table.QueryInput{}
	for {
		pg, err := a.QueryPage(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, p := range pg.Items {
			seen[p.ID]++
		}
		if pg.Cursor == "" {
			break
		}
		in.Cursor = pg.Cursor
	}
	if pages < 2 || len(seen) != n {
		t.Fatalf("%d pages, %d items, want >= 2 pages and %d items", pages, len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("%s seen %d times across pages", id, c)
		}
	}
}

// TestCursor: a forged, edited, cross-tenant or cross-query cursor is
// ErrInvalidCursor; a genuine one resumes.
func TestCursor(t *testing.T) {
	e := newEnv(t)
	tb, _ := patients(t, e)
	tb2, _ := patients(t, e)
	ctx := context.Background()
	for _, ten := range []string{"tenant-a", "tenant-b"} {
		for i := range 4 {
			if err := tb.For(ten).Create(ctx, &Patient{Tenant: ten, ID: fmt.Sprintf("p%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	a := tb.For("tenant-a")
	first, err := a.QueryPage(ctx, table.QueryInput{PageSize: 2})
	if err != nil || first.Cursor == "" || len(first.Items) != 2 {
		t.Fatalf("first page: %v, %d items, cursor %q", err, len(first.Items), first.Cursor)
	}
	if strings.Contains(first.Cursor, "p1") {
		t.Fatal("cursor shows the key in clear")
	}
	next, err := a.QueryPage(ctx, table.QueryInput{PageSize: 2, Cursor: first.Cursor})
	if err != nil || len(next.Items) != 2 || next.Items[0].ID != "p2" {
		t.Fatalf("second page: %v %v", err, next.Items)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(first.Cursor)
	flipped := slices.Clone(raw)
	flipped[len(flipped)-1] ^= 1
	forged := slices.Clone(raw)
	forged[10] ^= 1
	bad := map[string]struct {
		scope table.Scope[Patient]
		in    table.QueryInput
	}{
		"tag flipped":            {a, table.QueryInput{PageSize: 2, Cursor: base64.RawURLEncoding.EncodeToString(flipped)}},
		"nonce edited":           {a, table.QueryInput{PageSize: 2, Cursor: base64.RawURLEncoding.EncodeToString(forged)}},
		"garbage":                {a, table.QueryInput{Cursor: "not-a-cursor"}},
		"truncated":              {a, table.QueryInput{Cursor: first.Cursor[:20]}},
		"another tenant":         {tb.For("tenant-b"), table.QueryInput{PageSize: 2, Cursor: first.Cursor}},
		"another table":          {tb2.For("tenant-a"), table.QueryInput{PageSize: 2, Cursor: first.Cursor}},
		"another sort condition": {a, table.QueryInput{PageSize: 2, Cursor: first.Cursor, Sort: table.BeginsWith(table.S("p"))}},
		"another direction":      {a, table.QueryInput{PageSize: 2, Cursor: first.Cursor, Descending: true}},
	}
	for name, c := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := c.scope.QueryPage(ctx, c.in); !errors.Is(err, table.ErrInvalidCursor) {
				t.Fatalf("QueryPage: %v, want ErrInvalidCursor", err)
			}
			for _, err := range c.scope.Query(ctx, c.in) {
				if !errors.Is(err, table.ErrInvalidCursor) {
					t.Fatalf("Query: %v, want ErrInvalidCursor", err)
				}
			}
		})
	}
	// A cursor survives a key rotation (it names its key version).
	if _, err := e.store.Rotate(ctx, "tenant-a", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.QueryPage(ctx, table.QueryInput{PageSize: 2, Cursor: first.Cursor}); err != nil {
		t.Fatalf("cursor after rotation: %v", err)
	}
}

// gsiPatients creates a patients table with two indexes on status: one
// projecting everything and one keys only.
func gsiPatients(t *testing.T, e *env) (*table.Table[Patient], string) {
	name := createTable[Patient](t, e, "patients", func(in *dynamodbCreateTableInput) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: strp("status"), AttributeType: types.ScalarAttributeTypeS})
		for _, ix := range []struct {
			name string
			proj types.ProjectionType
		}{{"by-status", types.ProjectionTypeAll}, {"by-status-keys", types.ProjectionTypeKeysOnly}} {
			in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
				IndexName: strp(ix.name),
				KeySchema: []types.KeySchemaElement{
					{AttributeName: strp("status"), KeyType: types.KeyTypeHash},
					{AttributeName: strp("id"), KeyType: types.KeyTypeRange},
				},
				Projection: &types.Projection{ProjectionType: ix.proj},
			})
		}
	})
	tb, err := table.New[Patient](e.c, name, e.rec,
		table.WithIndex(table.Index{Name: "by-status", PartitionKey: "status", SortKey: "id", Projection: types.ProjectionTypeAll}),
		table.WithIndex(table.Index{Name: "by-status-keys", PartitionKey: "status", SortKey: "id", Projection: types.ProjectionTypeKeysOnly}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return tb, name
}

// TestIndexQuery: a GSI keyed by status spans tenants; queries on it return
// only the scope's verified items, with a full projection directly and with
// a keys-only projection by fetching the full items.
func TestIndexQuery(t *testing.T) {
	e := newEnv(t)
	tb, name := gsiPatients(t, e)
	ctx := context.Background()
	for _, ten := range []string{"tenant-a", "tenant-b"} {
		for i, st := range []string{"active", "active", "closed"} {
			p := &Patient{Tenant: ten, ID: fmt.Sprintf("%s-%d", ten, i), Status: st, Name: "n" + ten}
			if err := tb.For(ten).Create(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	a := tb.For("tenant-a")
	for _, ix := range []string{"by-status", "by-status-keys"} {
		t.Run(ix, func(t *testing.T) {
			e.rec.reset()
			var got []string
			for p, err := range a.Query(ctx, table.QueryInput{Index: ix, Partition: table.S("active")}) {
				if err != nil {
					t.Fatal(err)
				}
				if p.Name != "ntenant-a" {
					t.Fatalf("%s: name not decrypted", p.ID)
				}
				got = append(got, p.ID)
			}
			if want := []string{"tenant-a-0", "tenant-a-1"}; !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			if e.rec.asked("tenant-b") {
				t.Fatal("a key of tenant-b was fetched")
			}
		})
	}
	// A tampered item fails through both indexes.
	it := rawGet(t, e.c, name, pkey("tenant-a", "tenant-a-0"))
	it["plan"] = table.S("edited")
	rawPut(t, e.c, name, it)
	for _, ix := range []string{"by-status", "by-status-keys"} {
		var tampered int
		for _, err := range a.Query(ctx, table.QueryInput{Index: ix, Partition: table.S("active")}) {
			if err != nil {
				wantTampered(t, err)
				tampered++
			}
		}
		if tampered != 1 {
			t.Fatalf("%s: %d tampered errors, want 1", ix, tampered)
		}
	}
	if _, err := a.QueryPage(ctx, table.QueryInput{Index: "nope", Partition: table.S("x")}); err == nil {
		t.Fatal("undeclared index accepted")
	}
}

// TestIndexProjectionRefused: a keys-only index that does not carry the
// tenant attribute cannot be tenant-scoped before fetching; it is refused.
func TestIndexProjectionRefused(t *testing.T) {
	e := newEnv(t)
	name := createTable[Doc](t, e, "docs", func(in *dynamodbCreateTableInput) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: strp("tag"), AttributeType: types.ScalarAttributeTypeS})
		in.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{{
			IndexName:  strp("by-tag"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: strp("tag"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}}
	})
	tb, err := table.New[Doc](e.c, name, e.rec, table.WithIndex(table.Index{Name: "by-tag", PartitionKey: "tag", Projection: types.ProjectionTypeKeysOnly}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tb.For("org-a").QueryPage(context.Background(), table.QueryInput{Index: "by-tag", Partition: table.S("x")})
	if !errors.Is(err, table.ErrIndexProjection) || !strings.Contains(err.Error(), "org") {
		t.Fatalf("QueryPage: %v, want ErrIndexProjection naming the tenant attribute", err)
	}
}
