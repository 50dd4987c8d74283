package table_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynaseal/dynaseal/table"
)

// queryCounter counts the Query calls that reach DynamoDB.
type queryCounter struct {
	table.Client
	n atomic.Int64
}

func (c *queryCounter) Query(ctx context.Context, in *dynamodb.QueryInput, opt ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.n.Add(1)
	return c.Client.Query(ctx, in, opt...)
}

// pageAll pages through in with QueryPage and returns id of every item. It
// fails the test if a page that has a cursor is not full: a short page
// with a cursor would reveal other tenants' items.
func pageAll[T any](ctx context.Context, t *testing.T, s table.Scope[T], in table.QueryInput, id func(*T) string) []string {
	t.Helper()
	var got []string
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("no end")
		}
		p, err := s.QueryPage(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range p.Items {
			got = append(got, id(v))
		}
		if p.Cursor != "" && len(p.Items) != int(in.PageSize) {
			t.Fatalf("page %d: %d items with a cursor (page size %d): reveals other tenants' items", pages, len(p.Items), in.PageSize)
		}
		if p.Cursor == "" {
			return got
		}
		in.Cursor = p.Cursor
	}
}

// TestSharedPartitionWrongTenantIsNotFound: in the shared-partition layout a
// read of another tenant's item matches ErrNotFound (so a 404 mapping
// conceals that the key exists) and still ErrWrongTenant.
func TestSharedPartitionWrongTenantIsNotFound(t *testing.T) {
	e := newEnv(t)
	tb, _ := docs(t, e)
	ctx := context.Background()
	if err := tb.For("org-a").Put(ctx, &Doc{PK: "shared", SK: "d1", Org: "org-a", Body: "a"}); err != nil {
		t.Fatal(err)
	}
	b := tb.For("org-b")
	k := table.Key{PK: table.S("shared"), SK: table.S("d1")}
	missing := table.Key{PK: table.S("shared"), SK: table.S("nobody")}
	_, errTaken := b.Get(ctx, k)
	_, errFree := b.Get(ctx, missing)
	for _, err := range []error{errTaken, errFree} {
		if !errors.Is(err, table.ErrNotFound) {
			t.Fatalf("Get: %v, want ErrNotFound", err)
		}
	}
	if !errors.Is(errTaken, table.ErrWrongTenant) || errors.Is(errFree, table.ErrWrongTenant) {
		t.Fatalf("ErrWrongTenant: taken %v, free %v", errTaken, errFree)
	}
	_, err := b.BatchGet(ctx, []table.Key{k})
	if !errors.Is(err, table.ErrNotFound) || !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("BatchGet: %v", err)
	}
	err = table.TransactGet(ctx, e.c, b.TxGet(k))
	if !errors.Is(err, table.ErrNotFound) || !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("TransactGet: %v", err)
	}
}

// TestSharedPartitionPagesRevealNothing interleaves one tenant's items with
// many of other tenants in one partition and pages through with PageSize 1
// and 3: every page that has a cursor is full, so a tenant cannot count
// other tenants' items, and the pages together hold exactly its items.
func TestSharedPartitionPagesRevealNothing(t *testing.T) {
	e := newEnv(t)
	name := createTable[Doc](t, e, "shared", nil)
	qc := &queryCounter{Client: e.c}
	tb, err := table.New[Doc](qc, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var mine []string
	for i := range 40 {
		org := fmt.Sprintf("other-%d", i%3)
		if i%7 == 3 {
			org = "me"
		}
		d := &Doc{PK: "p", SK: fmt.Sprintf("k%03d", i), Org: org, Body: "x"}
		if err := tb.For(org).Put(ctx, d); err != nil {
			t.Fatal(err)
		}
		if org == "me" {
			mine = append(mine, d.SK)
		}
	}
	for _, size := range []int32{1, 3} {
		t.Run(fmt.Sprint("page size ", size), func(t *testing.T) {
			got := pageAll(ctx, t, tb.For("me"), table.QueryInput{Partition: table.S("p"), PageSize: size}, func(d *Doc) string { return d.SK })
			if fmt.Sprint(got) != fmt.Sprint(mine) {
				t.Fatalf("pages hold %v, want %v", got, mine)
			}
		})
	}

	// The bound: with more than 255×PageSize other items before the first
	// of its own, QueryPage stops after maxPageCalls (8) calls and returns
	// an empty page with a cursor; the residual leak is "at least 255 other
	// items", never an item count per page.
	bulk, err := table.New[Doc](e.c, name, e.rec, table.WithUnguardedBatchWrite())
	if err != nil {
		t.Fatal(err)
	}
	crowd := make([]*Doc, 300)
	for i := range crowd {
		crowd[i] = &Doc{PK: "q", SK: fmt.Sprintf("a%03d", i), Org: "crowd"}
	}
	if err := bulk.For("crowd").BatchWrite(ctx, crowd, nil); err != nil {
		t.Fatal(err)
	}
	if err := tb.For("me").Put(ctx, &Doc{PK: "q", SK: "z", Org: "me"}); err != nil {
		t.Fatal(err)
	}
	qc.n.Store(0)
	p, err := tb.For("me").QueryPage(ctx, table.QueryInput{Partition: table.S("q"), PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 0 || p.Cursor == "" || qc.n.Load() != 8 {
		t.Fatalf("first page past 300 other items: %d items, cursor %v, %d calls; want 0, a cursor, 8 calls", len(p.Items), p.Cursor != "", qc.n.Load())
	}
	p, err = tb.For("me").QueryPage(ctx, table.QueryInput{Partition: table.S("q"), PageSize: 1, Cursor: p.Cursor})
	if err != nil || len(p.Items) != 1 || p.Items[0].SK != "z" {
		t.Fatalf("second page: %v, %d items", err, len(p.Items))
	}
}

// TestSharedIndexPagesRevealNothing pages through a GSI that spans tenants
// (full and keys-only projections): a page cut inside DynamoDB's results
// resumes after its last item, every page with a cursor is full, and the
// pages together hold exactly the tenant's items in index order.
func TestSharedIndexPagesRevealNothing(t *testing.T) {
	e := newEnv(t)
	tb, _ := gsiPatients(t, e)
	ctx := context.Background()
	var mine []string
	for i := range 30 {
		ten := "tenant-b"
		if i%4 == 1 || i == 2 {
			ten = "tenant-a"
		}
		p := &Patient{Tenant: ten, ID: fmt.Sprintf("x%03d", i), Status: "active"}
		if err := tb.For(ten).Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		if ten == "tenant-a" {
			mine = append(mine, p.ID)
		}
	}
	for _, ix := range []string{"by-status", "by-status-keys"} {
		t.Run(ix, func(t *testing.T) {
			got := pageAll(ctx, t, tb.For("tenant-a"), table.QueryInput{Index: ix, Partition: table.S("active"), PageSize: 2}, func(p *Patient) string { return p.ID })
			if fmt.Sprint(got) != fmt.Sprint(mine) {
				t.Fatalf("pages hold %v, want %v", got, mine)
			}
		})
	}
}
