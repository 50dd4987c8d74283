package searchtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }

// keys returns an in-memory key store that creates tenant keys on first
// use.
func keys(t *testing.T) tenantkeys.Provider {
	t.Helper()
	ring, err := tenantkeys.ParseKeyring([]byte("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"))
	if err != nil {
		t.Fatal(err)
	}
	return tenantkeys.NewMemoryStore(ring, tenantkeys.WithCreateOnFirstUse(true))
}

// newTable creates a table (with the indexes the schema declares) for T.
func newTable[T any](t *testing.T) string {
	t.Helper()
	s, err := schema.For[T]()
	if err != nil {
		t.Fatal(err)
	}
	return itest.NewTable(t, itest.DynamoDB(t), s.CreateTableInput("crm"))
}

func customers(t *testing.T) *CustomerRepository {
	t.Helper()
	repo, err := NewCustomerRepositoryNamed(itest.DynamoDB(t), newTable[Customer](t), keys(t))
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

// collect drains an iterator, failing the test on an error.
func collect[T any](t *testing.T, seq func(func(*T, error) bool)) []*T {
	t.Helper()
	var out []*T
	for v, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func ids(cs []*Customer) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

var base = time.Unix(1_750_000_000, 0)

// seedStatuses writes, for each tenant, ten customers c0..c9 created an
// hour apart, even ones "active", odd ones "lead".
func seedStatuses(t *testing.T, repo *CustomerRepository, tenants ...string) {
	t.Helper()
	ctx := context.Background()
	for _, tenant := range tenants {
		sc := repo.For(tenant)
		for i := 0; i < 10; i++ {
			status := "active"
			if i%2 == 1 {
				status = "lead"
			}
			c := &Customer{Org: tenant, ID: fmt.Sprintf("c%d", i), Email: fmt.Sprintf("c%d@%s.example", i, tenant), Name: "n", Status: status, Created: base.Add(time.Duration(i) * time.Hour)}
			if err := sc.Create(ctx, c); err != nil {
				t.Fatalf("Create %s/%s: %v", tenant, c.ID, err)
			}
		}
	}
}

// TestQueryByIndex queries a declared index on a signed attribute whose
// partition spans tenants (status), with a typed sort condition on the
// index's sort key, descending order, pages and a count: each returns
// exactly the scope tenant's matching items, in index order.
func TestQueryByIndex(t *testing.T) {
	ctx := context.Background()
	repo := customers(t)
	seedStatuses(t, repo, "t1", "t2")
	sc := repo.For("t1")

	got := ids(collect(t, sc.QueryByStatus(ctx, "active", CustomerCreatedGreaterOrEqual(base.Add(4*time.Hour)))))
	if want := []string{"c4", "c6", "c8"}; !slices.Equal(got, want) {
		t.Fatalf("QueryByStatus(active, created >= +4h) = %v, want %v", got, want)
	}
	got = ids(collect(t, sc.QueryByStatus(ctx, "lead", table.SortCondition{}, table.Descending())))
	if want := []string{"c9", "c7", "c5", "c3", "c1"}; !slices.Equal(got, want) {
		t.Fatalf("QueryByStatus(lead, descending) = %v, want %v", got, want)
	}
	got = ids(collect(t, sc.QueryByStatus(ctx, "lead", CustomerCreatedBetween(base.Add(2*time.Hour), base.Add(6*time.Hour)))))
	if want := []string{"c3", "c5"}; !slices.Equal(got, want) {
		t.Fatalf("QueryByStatus(lead, between +2h and +6h) = %v, want %v", got, want)
	}
	for _, c := range collect(t, sc.QueryByStatus(ctx, "active", table.SortCondition{})) {
		if c.Org != "t1" || c.Email != c.ID+"@t1.example" {
			t.Fatalf("QueryByStatus returned %s/%s with email %q", c.Org, c.ID, c.Email)
		}
	}
	n, err := sc.CountByStatus(ctx, "active", CustomerCreatedLessThan(base.Add(5*time.Hour)))
	if err != nil || n != 3 {
		t.Fatalf("CountByStatus(active, created < +5h) = %d, %v; want 3", n, err)
	}
	if n, err := repo.For("t3").CountByStatus(ctx, "active", table.SortCondition{}); err != nil || n != 0 {
		t.Fatalf("CountByStatus in a tenant without items = %d, %v; want 0", n, err)
	}

	// Pages of two, followed by cursor, give the whole result in order.
	var paged []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("QueryByStatusPage does not end")
		}
		p, err := sc.QueryByStatusPage(ctx, "active", table.SortCondition{}, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, ids(p.Items)...)
		if p.Cursor == "" {
			break
		}
		cursor = p.Cursor
	}
	if want := []string{"c0", "c2", "c4", "c6", "c8"}; !slices.Equal(paged, want) {
		t.Fatalf("QueryByStatusPage pages = %v, want %v", paged, want)
	}
}

// TestQueryByTenantIndex queries a declared index whose partition key is
// the tenant (no partition argument) with a sort condition and a filter on
// a signed attribute.
func TestQueryByTenantIndex(t *testing.T) {
	ctx := context.Background()
	repo := customers(t)
	seedStatuses(t, repo, "t1", "t2")
	sc := repo.For("t2")
	got := collect(t, sc.QueryByRecent(ctx, CustomerCreatedGreaterThan(base.Add(6*time.Hour)), table.Descending()))
	if want := []string{"c9", "c8", "c7"}; !slices.Equal(ids(got), want) {
		t.Fatalf("QueryByRecent(> +6h, descending) = %v, want %v", ids(got), want)
	}
	for _, c := range got {
		if c.Org != "t2" {
			t.Fatalf("QueryByRecent in t2 returned an item of %s", c.Org)
		}
	}
	leads := ids(collect(t, sc.QueryByRecent(ctx, table.SortCondition{}, table.Filter(expression.Name("status").Equal(expression.Value("lead"))))))
	if want := []string{"c1", "c3", "c5", "c7", "c9"}; !slices.Equal(leads, want) {
		t.Fatalf("QueryByRecent filtered on status = %v, want %v", leads, want)
	}
	if n, err := sc.CountByRecent(ctx, CustomerCreatedLessOrEqual(base.Add(time.Hour))); err != nil || n != 2 {
		t.Fatalf("CountByRecent(<= +1h) = %d, %v; want 2", n, err)
	}
}

// TestTicketKeysAndIndex uses the key-struct methods of a composite key and
// an index without a sort key whose partition (priority, a number) spans
// tenants and accounts.
func TestTicketKeysAndIndex(t *testing.T) {
	ctx := context.Background()
	db := itest.DynamoDB(t)
	repo, err := NewTicketRepositoryNamed(db, newTable[Ticket](t), keys(t))
	if err != nil {
		t.Fatal(err)
	}
	t1, t2 := repo.For("t1"), repo.For("t2")
	for i := int64(1); i <= 6; i++ {
		if err := t1.Put(ctx, &Ticket{Account: "acct-1", N: i, Org: "t1", Priority: int(i % 3), Body: fmt.Sprint("body ", i)}); err != nil {
			t.Fatal(err)
		}
		if err := t2.Put(ctx, &Ticket{Account: "acct-2", N: i, Org: "t2", Priority: int(i % 3), Body: "other"}); err != nil {
			t.Fatal(err)
		}
	}
	k := TicketKey{Account: "acct-1", N: 4}
	got, err := t1.GetKey(ctx, k)
	if err != nil || got.Body != "body 4" || got.Account != "acct-1" || got.N != 4 {
		t.Fatalf("GetKey(%+v) = %+v, %v", k, got, err)
	}
	if _, err := t2.GetKey(ctx, k); !errors.Is(err, table.ErrNotFound) && !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("GetKey of t1's ticket from t2: %v", err)
	}
	if _, err := t1.UpdateKey(ctx, k, func(tk *Ticket) error { tk.Body = "edited"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, err := t1.Get(ctx, "acct-1", 4); err != nil || got.Body != "edited" {
		t.Fatalf("Get after UpdateKey = %+v, %v", got, err)
	}
	if err := table.TransactWrite(ctx, db,
		t1.TxUpdateKey(TicketKey{Account: "acct-1", N: 5}, func(tk *Ticket) error { tk.Body = "tx"; return nil }),
		t1.TxDeleteKey(TicketKey{Account: "acct-1", N: 6}),
		t1.TxConditionCheckKey(TicketKey{Account: "acct-1", N: 1}),
	); err != nil {
		t.Fatal(err)
	}
	r5, r6 := t1.TxGetKey(TicketKey{Account: "acct-1", N: 5}), t1.TxGetKey(TicketKey{Account: "acct-1", N: 6})
	if err := table.TransactGet(ctx, db, r5, r6); err != nil {
		t.Fatal(err)
	}
	if r5.Item == nil || r5.Item.Body != "tx" || r6.Item != nil {
		t.Fatalf("after the transaction: ticket 5 = %+v, ticket 6 = %+v", r5.Item, r6.Item)
	}
	if err := t1.DeleteKey(ctx, k, table.MustExist()); err != nil {
		t.Fatal(err)
	}
	if _, err := t1.GetKey(ctx, k); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("GetKey after DeleteKey: %v", err)
	}

	// Priority 2: tickets 2 and 5 of each tenant; ticket 5 of t1 was
	// edited, ticket 6 (priority 0) deleted.
	var bodies []string
	for tk, err := range t1.QueryByPriority(ctx, 2) {
		if err != nil {
			t.Fatal(err)
		}
		if tk.Org != "t1" {
			t.Fatalf("QueryByPriority in t1 returned a ticket of %s", tk.Org)
		}
		bodies = append(bodies, tk.Body)
	}
	slices.Sort(bodies)
	if want := []string{"body 2", "tx"}; !slices.Equal(bodies, want) {
		t.Fatalf("QueryByPriority(2) bodies = %v, want %v", bodies, want)
	}
	if n, err := t2.CountByPriority(ctx, 0); err != nil || n != 2 {
		t.Fatalf("CountByPriority(0) in t2 = %d, %v; want 2", n, err)
	}
	if n, err := t1.CountByPriority(ctx, 0); err != nil || n != 1 {
		t.Fatalf("CountByPriority(0) in t1 after deleting ticket 6 = %d, %v; want 1", n, err)
	}
}
