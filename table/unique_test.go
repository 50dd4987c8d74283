package table_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest/faultproxy"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// UCustomer has a unique e-mail; the partition key is the tenant.
type UCustomer struct {
	Tenant  string `dynamodbav:"tenant"          seal:"pk,tenant"`
	ID      string `dynamodbav:"id"              seal:"sk"`
	Email   string `dynamodbav:"email,omitempty" seal:"encrypt,unique,lower,trim"`
	Name    string `dynamodbav:"name"            seal:"encrypt"`
	Version int64  `dynamodbav:"v"               seal:"version"`
}

// Account has a unique handle and a unique encrypted phone; the tenant is
// a separate attribute and the table has no version attribute.
type Account struct {
	PK     string `dynamodbav:"pk"               seal:"pk"`
	SK     string `dynamodbav:"sk"               seal:"sk"`
	Org    string `dynamodbav:"org"              seal:"tenant"`
	Handle string `dynamodbav:"handle,omitempty" seal:"unique"`
	Phone  string `dynamodbav:"phone,omitempty"  seal:"encrypt,unique"`
	Body   string `dynamodbav:"body"             seal:"encrypt"`
}

// newTable creates a table for T's schema and returns its handle.
func newTable[T any](t testing.TB, e *env, prefix string, opts ...table.Option) (*table.Table[T], string) {
	t.Helper()
	name := createTable[T](t, e, prefix, nil)
	tb, err := table.New[T](e.c, name, e.rec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tb, name
}

func ucustomers(t testing.TB, e *env) (*table.Table[UCustomer], string) {
	return newTable[UCustomer](t, e, "ucustomers")
}

func accounts(t testing.TB, e *env) (*table.Table[Account], string) {
	return newTable[Account](t, e, "accounts")
}

// rawItems scans the physical table: every stored item, claims included.
func rawItems(t testing.TB, c *dynamodb.Client, name string) (items, claims []map[string]types.AttributeValue) {
	t.Helper()
	var start map[string]types.AttributeValue
	for {
		out, err := c.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(name), ExclusiveStartKey: start, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			if table.IsClaimItem(it) {
				claims = append(claims, it)
			} else {
				items = append(items, it)
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return items, claims
		}
		start = out.LastEvaluatedKey
	}
}

// wantStored fails unless the table holds items sealed items and claims
// claim items.
func wantStored(t testing.TB, c *dynamodb.Client, name string, items, claims int) {
	t.Helper()
	if i, c := rawItems(t, c, name); len(i) != items || len(c) != claims {
		t.Fatalf("table holds %d items and %d claims; want %d and %d", len(i), len(c), items, claims)
	}
}

func isTaken(err error, attr string) bool {
	var ue *table.UniqueError
	return errors.Is(err, table.ErrUniqueTaken) && errors.Is(err, table.ErrAlreadyExists) && errors.As(err, &ue) && ue.Attribute == attr
}

func getByEmail(ctx context.Context, s table.Scope[UCustomer], email string) (string, error) {
	c, err := s.GetUnique(ctx, "email", table.S(email))
	if err != nil {
		return "", err
	}
	return c.ID, nil
}

// wantOwner fails unless GetUnique(email) finds id ("" means not found).
func wantOwner(t *testing.T, s table.Scope[UCustomer], email, id string) {
	t.Helper()
	got, err := getByEmail(t.Context(), s, email)
	switch {
	case id == "" && !errors.Is(err, table.ErrNotFound):
		t.Fatalf("GetUnique(%q): %q, %v; want ErrNotFound", email, got, err)
	case id != "" && (err != nil || got != id):
		t.Fatalf("GetUnique(%q): %q, %v; want %q", email, got, err, id)
	}
}

// TestUniqueCreateGet: a second item with the same normalised value is
// ErrUniqueTaken naming the attribute; GetUnique finds the owner by any
// spelling the normaliser maps to the value; tenants are independent.
func TestUniqueCreateGet(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := ucustomers(t, e)
	a, b := tb.For("tenant-a"), tb.For("tenant-b")
	if err := a.Create(ctx, &UCustomer{ID: "c1", Email: "Ada@Example.com", Name: "Ada"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Create(ctx, &UCustomer{ID: "c2", Email: " ada@example.com ", Name: "Eve"}); !isTaken(err, "email") {
		t.Fatalf("second create: %v, want ErrUniqueTaken naming email", err)
	}
	if _, err := a.Get(ctx, sk("c2")); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("the refused item was written: %v", err)
	}
	wantOwner(t, a, "ADA@example.com", "c1")
	wantOwner(t, a, "bob@example.com", "")
	// Another tenant may hold the same value and never sees tenant-a's.
	wantOwner(t, b, "ada@example.com", "")
	if err := b.Create(ctx, &UCustomer{ID: "c1b", Email: "ada@example.com"}); err != nil {
		t.Fatalf("same value in another tenant: %v", err)
	}
	wantOwner(t, b, "ada@example.com", "c1b")
	wantOwner(t, a, "ada@example.com", "c1")
	// Items without a value (absent, or blank after trim) take no claim.
	for _, id := range []string{"n1", "n2"} {
		if err := a.Create(ctx, &UCustomer{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"w1", "w2"} {
		if err := a.Create(ctx, &UCustomer{ID: id, Email: "   "}); err != nil {
			t.Fatal(err)
		}
	}
	wantOwner(t, a, "", "")
	wantOwner(t, a, "  ", "")
	if _, err := a.GetUnique(ctx, "name", table.S("Ada")); !errors.Is(err, table.ErrNotUnique) {
		t.Fatalf("GetUnique on a non-unique attribute: %v", err)
	}
	// Claims never hold the value.
	_, claims := rawItems(t, e.c, name)
	if len(claims) != 2 {
		t.Fatalf("%d claim items, want 2", len(claims))
	}
	for _, c := range claims {
		if s := fmt.Sprint(c); strings.Contains(strings.ToLower(s), "ada@") {
			t.Fatalf("claim item carries the value: %s", s)
		}
	}
}

// TestUniqueConcurrentCreates: 12 goroutines create different items with
// one value (in different spellings): exactly one succeeds, every other
// one is ErrUniqueTaken / ErrAlreadyExists, and one claim exists.
func TestUniqueConcurrentCreates(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := ucustomers(t, e)
	a := tb.For("tenant-a")
	for round := range 3 {
		const n = 12
		email := fmt.Sprintf("race%d@example.com", round)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				spelling := email
				if i%2 == 1 {
					spelling = " " + strings.ToUpper(email)
				}
				errs[i] = a.Create(ctx, &UCustomer{ID: fmt.Sprintf("r%d-%d", round, i), Email: spelling})
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("round %d: creates %d and %d both succeeded", round, winner, i)
				}
				winner = i
			case !isTaken(err, "email"):
				t.Fatalf("round %d: create %d: %v, want ErrUniqueTaken", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no create succeeded", round)
		}
		wantOwner(t, a, email, fmt.Sprintf("r%d-%d", round, winner))
	}
	wantStored(t, e.c, name, 3, 3)
}

// TestUniqueRacingUpdates: two items race to move to one value; exactly
// one gets it, the other keeps its old value and claim.
func TestUniqueRacingUpdates(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := ucustomers(t, e)
	a := tb.For("tenant-a")
	for _, id := range []string{"x", "y", "z"} {
		if err := a.Create(ctx, &UCustomer{ID: id, Email: id + "0@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	for round := 1; round <= 5; round++ {
		target := fmt.Sprintf("target%d@example.com", round)
		ids := []string{"x", "y", "z"}
		errs := make([]error, len(ids))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = a.Update(ctx, sk(id), func(c *UCustomer) error { c.Email = target; return nil }, table.RetryConflicts(5))
			}()
		}
		close(start)
		wg.Wait()
		winner := ""
		for i, err := range errs {
			switch {
			case err == nil:
				if winner != "" {
					t.Fatalf("round %d: %s and %s both took the value", round, winner, ids[i])
				}
				winner = ids[i]
			case !isTaken(err, "email"):
				t.Fatalf("round %d: update of %s: %v", round, ids[i], err)
			}
		}
		if winner == "" {
			t.Fatalf("round %d: nobody took the value", round)
		}
		wantOwner(t, a, target, winner)
		// Every loser still owns what it had; the winner released its old value.
		for _, id := range ids {
			c, err := a.Get(ctx, sk(id), table.ConsistentRead())
			if err != nil {
				t.Fatal(err)
			}
			wantOwner(t, a, c.Email, id)
		}
	}
	wantStored(t, e.c, name, 3, 3)
}

// TestUniqueMoveReleaseDelete: an update that moves a value releases the
// old claim and takes the new one in one step; an update to a taken value
// changes nothing; Put moves claims too; a delete releases its claims.
func TestUniqueMoveReleaseDelete(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := ucustomers(t, e)
	a := tb.For("tenant-a")
	c1 := &UCustomer{ID: "c1", Email: "one@example.com", Name: "n"}
	if err := a.Create(ctx, c1); err != nil {
		t.Fatal(err)
	}
	if err := a.Create(ctx, &UCustomer{ID: "c2", Email: "two@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Update(ctx, sk("c1"), func(c *UCustomer) error { c.Email = "uno@example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	wantOwner(t, a, "one@example.com", "")
	wantOwner(t, a, "uno@example.com", "c1")
	if err := a.Create(ctx, &UCustomer{ID: "c3", Email: "ONE@example.com"}); err != nil {
		t.Fatalf("the released value is not creatable: %v", err)
	}
	wantOwner(t, a, "one@example.com", "c3")
	// An update to a taken value fails and leaves item and claims alone.
	if _, err := a.Update(ctx, sk("c1"), func(c *UCustomer) error { c.Email = "two@example.com"; c.Name = "changed"; return nil }); !isTaken(err, "email") {
		t.Fatalf("update to a taken value: %v", err)
	}
	got, err := a.Get(ctx, sk("c1"), table.ConsistentRead())
	if err != nil || got.Email != "uno@example.com" || got.Name != "n" {
		t.Fatalf("after a refused update: %+v %v", got, err)
	}
	wantOwner(t, a, "uno@example.com", "c1")
	wantOwner(t, a, "two@example.com", "c2")
	// An update that keeps the value writes no claim and keeps it.
	if _, err := a.Update(ctx, sk("c1"), func(c *UCustomer) error { c.Name = "m"; return nil }); err != nil {
		t.Fatal(err)
	}
	wantOwner(t, a, "uno@example.com", "c1")
	// Put over the stored item moves the claim; a stale version conflicts.
	got.Email = "eins@example.com"
	got.Version++ // what Update left
	if err := a.Put(ctx, got); err != nil {
		t.Fatalf("Put moving the value: %v", err)
	}
	wantOwner(t, a, "uno@example.com", "")
	wantOwner(t, a, "eins@example.com", "c1")
	stale := *got
	stale.Version--
	stale.Email = "other@example.com"
	if err := a.Put(ctx, &stale); !errors.Is(err, table.ErrConflict) {
		t.Fatalf("Put with a stale version: %v, want ErrConflict", err)
	}
	wantOwner(t, a, "other@example.com", "")
	taken := *got
	taken.Email = "two@example.com"
	if err := a.Put(ctx, &taken); !isTaken(err, "email") {
		t.Fatalf("Put to a taken value: %v", err)
	}
	// Removing the value releases it.
	if _, err := a.Update(ctx, sk("c1"), func(c *UCustomer) error { c.Email = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	wantOwner(t, a, "eins@example.com", "")
	// Delete releases; MustExist and IfVersion keep their meaning.
	if err := a.Delete(ctx, sk("c2"), table.IfVersion(7)); !errors.Is(err, table.ErrConflict) {
		t.Fatalf("Delete(IfVersion stale): %v", err)
	}
	wantOwner(t, a, "two@example.com", "c2")
	if err := a.Delete(ctx, sk("c2")); err != nil {
		t.Fatal(err)
	}
	wantOwner(t, a, "two@example.com", "")
	if err := a.Delete(ctx, sk("c2")); err != nil {
		t.Fatalf("Delete of a missing item: %v", err)
	}
	if err := a.Delete(ctx, sk("c2"), table.MustExist()); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("Delete(MustExist) of a missing item: %v", err)
	}
	if err := a.Create(ctx, &UCustomer{ID: "c4", Email: "two@example.com"}); err != nil {
		t.Fatalf("value of a deleted item is not creatable: %v", err)
	}
	for _, id := range []string{"c1", "c3", "c4"} {
		if err := a.Delete(ctx, sk(id), table.MustExist()); err != nil {
			t.Fatal(err)
		}
	}
	wantStored(t, e.c, name, 0, 0)
}

// TestUniqueClaimsInvisible: claim items never appear to readers of sealed
// items: Get of a claim's key is ErrNotFound; Query, QueryPage, Count,
// Scan, BatchGet, TransactGet and Reseal pass over them without counting
// or reporting them.
func TestUniqueClaimsInvisible(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := ucustomers(t, e)
	a := tb.For("tenant-a")
	const n = 7
	for i := range n {
		if err := a.Create(ctx, &UCustomer{ID: fmt.Sprintf("c%d", i), Email: fmt.Sprintf("u%d@example.com", i)}); err != nil {
			t.Fatal(err)
		}
	}
	_, claims := rawItems(t, e.c, name)
	if len(claims) != n {
		t.Fatalf("%d claims, want %d", len(claims), n)
	}
	claimKey := table.SortKey(claims[0]["id"])
	if _, err := a.Get(ctx, claimKey, table.ConsistentRead()); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("Get of a claim key: %v", err)
	}
	count := 0
	for c, err := range a.Query(ctx, table.QueryInput{ConsistentRead: true}) {
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		if c.Email == "" {
			t.Fatalf("Query yielded a non-item: %+v", c)
		}
		count++
	}
	if count != n {
		t.Fatalf("Query: %d items, want %d", count, n)
	}
	if got, err := a.Count(ctx, table.QueryInput{ConsistentRead: true}); err != nil || got != n {
		t.Fatalf("Count: %d, %v", got, err)
	}
	seen := 0
	in := table.QueryInput{PageSize: 2, ConsistentRead: true}
	for {
		p, err := a.QueryPage(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		seen += len(p.Items)
		if p.Cursor == "" {
			break
		}
		in.Cursor = p.Cursor
	}
	if seen != n {
		t.Fatalf("QueryPage: %d items, want %d", seen, n)
	}
	scanned := 0
	for _, err := range tb.Scan(ctx, table.ScanInput{Segments: 2, ConsistentRead: true}) {
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		scanned++
	}
	if scanned != n {
		t.Fatalf("Scan: %d items, want %d", scanned, n)
	}
	got, err := a.BatchGet(ctx, []table.Key{sk("c0"), claimKey})
	if err != nil || got[0] == nil || got[1] != nil {
		t.Fatalf("BatchGet with a claim key: %v, %v", got, err)
	}
	r := a.TxGet(claimKey)
	if err := table.TransactGet(ctx, e.c, r); err != nil || r.Item != nil {
		t.Fatalf("TransactGet of a claim key: %+v, %v", r.Item, err)
	}
	st, err := tb.Reseal(ctx, table.ScanInput{ConsistentRead: true})
	if err != nil || st.Scanned != n || st.FailedCount != 0 || st.Tampered != 0 {
		t.Fatalf("Reseal: %+v, %v", st, err)
	}
	// The jobs pass over claims too: a sweep finds nothing wrong, and a
	// migration does not take a claim (which has no header) for an
	// unsealed row to seal.
	sw, err := tb.Admin().Sweep(ctx, table.JobInput{ConsistentRead: true})
	if err != nil || sw.Scanned != int64(n) || sw.Current != int64(n) {
		t.Fatalf("Sweep: %+v, %v", sw, err)
	}
	ms, err := tb.Admin().Migrate(ctx, table.JobInput{ConsistentRead: true})
	if err != nil || ms.Scanned != int64(n) || ms.Sealed != 0 || ms.Unsealed != 0 {
		t.Fatalf("Migrate: %+v, %v", ms, err)
	}
	if _, err := a.Update(ctx, claimKey, func(*UCustomer) error { return nil }); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("Update of a claim key: %v", err)
	}
}

// TestUniqueForgedClaim: a claim that was edited to name another item, a
// claim whose MAC was swapped in from another claim, another tenant's
// claim, and an old claim replayed after its value moved, all read as
// ErrNotFound, never as another item.
func TestUniqueForgedClaim(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := accounts(t, e)
	a, b := tb.For("org-a"), tb.For("org-b")
	for _, acc := range []*Account{
		{PK: "a1", SK: "x", Handle: "ada"},
		{PK: "a2", SK: "x", Handle: "bob"},
	} {
		if err := a.Create(ctx, acc); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Create(ctx, &Account{PK: "b1", SK: "x", Handle: "ada"}); err != nil {
		t.Fatal(err)
	}
	handle := func(s table.Scope[Account], h string) (string, error) {
		acc, err := s.GetUnique(ctx, "handle", table.S(h))
		if err != nil {
			return "", err
		}
		return acc.PK, nil
	}
	if id, err := handle(a, "ada"); err != nil || id != "a1" {
		t.Fatalf("GetUnique: %q %v", id, err)
	}
	_, claims := rawItems(t, e.c, name)
	claimOf := func(owner string) map[string]types.AttributeValue {
		for _, c := range claims {
			if o := c[table.ClaimOwnerAttribute].(*types.AttributeValueMemberM); o.Value["pk"].(*types.AttributeValueMemberS).Value == owner {
				return clone(c)
			}
		}
		t.Fatalf("no claim owned by %s", owner)
		return nil
	}
	ada, bob, other := claimOf("a1"), claimOf("a2"), claimOf("b1")
	restore := func() { rawPut(t, e.c, name, ada) }
	forgeries := map[string]func(c map[string]types.AttributeValue){
		"owner edited to another item": func(c map[string]types.AttributeValue) {
			c[table.ClaimOwnerAttribute] = bob[table.ClaimOwnerAttribute]
		},
		"owner and MAC of another claim": func(c map[string]types.AttributeValue) {
			c[table.ClaimOwnerAttribute] = bob[table.ClaimOwnerAttribute]
			c[attrcrypt.ClaimAttribute] = bob[attrcrypt.ClaimAttribute]
		},
		"owner and MAC of another tenant's claim": func(c map[string]types.AttributeValue) {
			c[table.ClaimOwnerAttribute] = other[table.ClaimOwnerAttribute]
			c[attrcrypt.ClaimAttribute] = other[attrcrypt.ClaimAttribute]
		},
		"MAC flipped": func(c map[string]types.AttributeValue) {
			m := bval(t, c[attrcrypt.ClaimAttribute])
			m[0] ^= 1
			c[attrcrypt.ClaimAttribute] = &types.AttributeValueMemberB{Value: m}
		},
		"owner with an extra attribute": func(c map[string]types.AttributeValue) {
			o := clone(c[table.ClaimOwnerAttribute].(*types.AttributeValueMemberM).Value)
			o["org"] = table.S("org-b")
			c[table.ClaimOwnerAttribute] = &types.AttributeValueMemberM{Value: o}
		},
	}
	for what, forge := range forgeries {
		c := clone(ada)
		forge(c)
		rawPut(t, e.c, name, c)
		if id, err := handle(a, "ada"); !errors.Is(err, table.ErrNotFound) {
			t.Errorf("%s: GetUnique gave %q, %v; want ErrNotFound", what, id, err)
		}
		restore()
	}
	// Replay: ada moves to "ada2"; the old claim put back is stale.
	if _, err := a.Update(ctx, table.Key{PK: table.S("a1"), SK: table.S("x")}, func(acc *Account) error { acc.Handle = "ada2"; return nil }); err != nil {
		t.Fatal(err)
	}
	rawPut(t, e.c, name, ada)
	if id, err := handle(a, "ada"); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("replayed stale claim: %q, %v; want ErrNotFound", id, err)
	}
	if id, err := handle(a, "ada2"); err != nil || id != "a1" {
		t.Fatalf("moved value: %q %v", id, err)
	}
	if id, err := handle(b, "ada"); err != nil || id != "b1" {
		t.Fatalf("other tenant: %q %v", id, err)
	}
}

// TestUniqueSeparateTenantAttribute: the claims of a table whose partition
// key is not the tenant, with two unique attributes (one encrypted), work
// across tenants, through Put (which reads first) and Delete.
func TestUniqueSeparateTenantAttribute(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := accounts(t, e)
	a, b := tb.For("org-a"), tb.For("org-b")
	key := func(pk string) table.Key { return table.Key{PK: table.S(pk), SK: table.S("x")} }
	if err := a.Put(ctx, &Account{PK: "a1", SK: "x", Handle: "h1", Phone: "+1555"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, &Account{PK: "a2", SK: "x", Handle: "h2", Phone: "+1555"}); !isTaken(err, "phone") {
		t.Fatalf("Put with a taken phone: %v", err)
	}
	if err := b.Put(ctx, &Account{PK: "b1", SK: "x", Handle: "h1", Phone: "+1555"}); err != nil {
		t.Fatalf("same values in another tenant: %v", err)
	}
	// Put over a1 moves one claim and keeps the other.
	if err := a.Put(ctx, &Account{PK: "a1", SK: "x", Handle: "h1", Phone: "+1666"}); err != nil {
		t.Fatal(err)
	}
	if acc, err := a.GetUnique(ctx, "phone", table.S("+1666")); err != nil || acc.PK != "a1" {
		t.Fatalf("phone +1666: %+v %v", acc, err)
	}
	if _, err := a.GetUnique(ctx, "phone", table.S("+1555")); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("released phone: %v", err)
	}
	if acc, err := a.GetUnique(ctx, "handle", table.S("h1")); err != nil || acc.PK != "a1" {
		t.Fatalf("handle h1: %+v %v", acc, err)
	}
	// Put never overwrites another tenant's item (b1 is org-b's).
	if err := a.Put(ctx, &Account{PK: "b1", SK: "x", Handle: "hx"}); !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("Put over another tenant's item: %v", err)
	}
	if err := a.Delete(ctx, key("b1")); !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("Delete of another tenant's item: %v", err)
	}
	if acc, err := b.GetUnique(ctx, "handle", table.S("h1")); err != nil || acc.PK != "b1" {
		t.Fatalf("org-b handle h1: %+v %v", acc, err)
	}
	if err := a.BatchWrite(ctx, []*Account{{PK: "a9", SK: "x"}}, nil); !errors.Is(err, table.ErrUniqueUnsupported) {
		t.Fatalf("BatchWrite: %v", err)
	}
	if err := a.Delete(ctx, key("a1")); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, key("b1"), table.MustExist()); err != nil {
		t.Fatal(err)
	}
	wantStored(t, e.c, name, 0, 0)
}

// TestUniqueInTransactions: TxCreate, TxPut, TxUpdate and TxDelete keep
// claims inside TransactWrite and ReadModifyWrite; a TxError stays aligned
// with the ops passed and names the taken attribute.
func TestUniqueInTransactions(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, _ := ucustomers(t, e)
	a := tb.For("tenant-a")
	if err := table.TransactWrite(ctx, e.c,
		a.TxCreate(&UCustomer{ID: "t1", Email: "t1@example.com"}),
		a.TxCreate(&UCustomer{ID: "t2", Email: "t2@example.com"})); err != nil {
		t.Fatal(err)
	}
	wantOwner(t, a, "t1@example.com", "t1")
	err := table.TransactWrite(ctx, e.c,
		a.TxCreate(&UCustomer{ID: "t3", Email: "t3@example.com"}),
		a.TxCreate(&UCustomer{ID: "t4", Email: "T1@example.com"}))
	var te *table.TxError
	if !errors.As(err, &te) || len(te.Reasons) != 2 || te.Ops[0] != nil || te.Reasons[1] != "ConditionalCheckFailed" || !isTaken(err, "email") {
		t.Fatalf("transaction with a taken value: %v (%+v)", err, te)
	}
	var oe *table.TxOpError
	if !errors.As(te.Ops[1], &oe) || oe.Index != 1 {
		t.Fatalf("failed op: %v", te.Ops[1])
	}
	wantOwner(t, a, "t3@example.com", "")
	// TxUpdate and TxDelete in one transaction: t1 takes t2's value as t2 goes.
	if err := table.TransactWrite(ctx, e.c,
		a.TxDelete(sk("t2")),
		a.TxUpdate(sk("t1"), func(c *UCustomer) error { c.Email = "t5@example.com"; return nil })); err != nil {
		t.Fatal(err)
	}
	wantOwner(t, a, "t1@example.com", "")
	wantOwner(t, a, "t5@example.com", "t1")
	wantOwner(t, a, "t2@example.com", "")
	// TxPut of a new item and over an existing one.
	if err := table.TransactWrite(ctx, e.c, a.TxPut(&UCustomer{ID: "t6", Email: "t6@example.com"})); err != nil {
		t.Fatal(err)
	}
	c6, err := a.Get(ctx, sk("t6"), table.ConsistentRead())
	if err != nil {
		t.Fatal(err)
	}
	c6.Email = "t7@example.com"
	if err := table.TransactWrite(ctx, e.c, a.TxPut(c6)); err != nil {
		t.Fatal(err)
	}
	wantOwner(t, a, "t6@example.com", "")
	wantOwner(t, a, "t7@example.com", "t6")
	// ReadModifyWrite: swap the values of t1 and t6 through a free value.
	err = table.ReadModifyWrite(ctx, e.c, 3, func(ctx context.Context, tx *table.TxBuilder) error {
		c1, err := a.ReadIn(ctx, tx, sk("t1"))
		if err != nil {
			return err
		}
		tx.Write(a.TxUpdate(sk("t1"), func(c *UCustomer) error { c.Email = "t8@example.com"; return nil }))
		_ = c1
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantOwner(t, a, "t8@example.com", "t1")
	wantOwner(t, a, "t5@example.com", "")
}

// TestUniqueResentWrites: every write sent twice (the first answer lost)
// reports what the first attempt did; the claims end right.
func TestUniqueResentWrites(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	name := createTable[UCustomer](t, e, "ucustomers", nil)
	tc := &twice{Client: e.c}
	tb, err := table.New[UCustomer](tc, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	a := tb.For("tenant-a")
	c := &UCustomer{ID: "c1", Email: "r@example.com"}
	if err := a.Create(ctx, c); err != nil {
		t.Fatalf("Create sent twice: %v", err)
	}
	c.Email = "s@example.com"
	if err := a.Put(ctx, c); err != nil {
		t.Fatalf("Put sent twice: %v", err)
	}
	if _, err := a.Update(ctx, sk("c1"), func(c *UCustomer) error { c.Email = "u@example.com"; return nil }); err != nil {
		t.Fatalf("Update sent twice: %v", err)
	}
	wantOwner(t, a, "u@example.com", "c1")
	wantOwner(t, a, "s@example.com", "")
	wantOwner(t, a, "r@example.com", "")
	if err := a.Delete(ctx, sk("c1"), table.MustExist()); err != nil {
		t.Fatalf("Delete(MustExist) sent twice: %v", err)
	}
	wantOwner(t, a, "u@example.com", "")
	if err := a.Create(ctx, &UCustomer{ID: "c2", Email: "u@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Create(ctx, &UCustomer{ID: "c3", Email: "u@example.com"}); !isTaken(err, "email") {
		t.Fatalf("a genuinely taken value sent twice: %v", err)
	}
	if tc.sends.Load() == 0 {
		t.Fatal("nothing was resent")
	}
}

// TestUniqueDroppedResponses: a proxy drops a quarter of the answers of
// every write transaction; creates, moves and deletes through it never
// misreport, and the claims match the items at the end.
func TestUniqueDroppedResponses(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c, p := proxiedClient(t, 7)
	name := createTable[UCustomer](t, e, "ucustomers", nil)
	tb, err := table.New[UCustomer](c, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	p.Add(faultproxy.Rule{Operation: "TransactWriteItems", Probability: 0.25, Action: faultproxy.DropResponse})
	a := tb.For("tenant-a")
	const n = 30
	for i := range n {
		v := &UCustomer{ID: fmt.Sprintf("c%d", i), Email: fmt.Sprintf("v%d@example.com", i)}
		if err := a.Create(ctx, v); err != nil {
			t.Fatalf("Create %d: %v", i, err)
		}
		if err := a.Create(ctx, &UCustomer{ID: fmt.Sprintf("d%d", i), Email: v.Email}); !isTaken(err, "email") {
			t.Fatalf("duplicate create %d: %v", i, err)
		}
		if _, err := a.Update(ctx, sk(v.ID), func(c *UCustomer) error { c.Email = fmt.Sprintf("w%d@example.com", i); return nil }); err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
		if i%2 == 0 {
			if err := a.Delete(ctx, sk(v.ID), table.MustExist()); err != nil {
				t.Fatalf("Delete %d: %v", i, err)
			}
		}
	}
	wantStored(t, e.c, name, n/2, n/2)
	for i := 1; i < n; i += 2 {
		wantOwner(t, a, fmt.Sprintf("w%d@example.com", i), fmt.Sprintf("c%d", i))
	}
	if st := p.Stats(); st.Faults[faultproxy.DropResponse] < 10 {
		t.Fatalf("only %d responses dropped", st.Faults[faultproxy.DropResponse])
	}
}

// v2Beacon answers a beacon key of version 2, as a store whose beacon key
// was rotated by hand would.
type v2Beacon struct{ tenantkeys.Provider }

func (p v2Beacon) CurrentKey(ctx context.Context, tenant, class string) (attrcrypt.Key, error) {
	k, err := p.Provider.CurrentKey(ctx, tenant, class)
	if class == tenantkeys.BeaconClass("") {
		k.Ref.Version = 2
	}
	return k, err
}

// TestUniqueBeaconKeyVersion: a beacon key of another version than 1 is
// refused, and nothing is written.
func TestUniqueBeaconKeyVersion(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	name := createTable[UCustomer](t, e, "ucustomers", nil)
	tb, err := table.New[UCustomer](e.c, name, v2Beacon{e.store})
	if err != nil {
		t.Fatal(err)
	}
	err = tb.For("tenant-a").Create(ctx, &UCustomer{ID: "c1", Email: "a@example.com"})
	if !errors.Is(err, table.ErrBeaconKey) || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("Create under a beacon key of version 2: %v", err)
	}
	if items, claims := rawItems(t, e.c, name); len(items)+len(claims) != 0 {
		t.Fatal("something was written")
	}
}

// TestUniqueShreddedTenant: after Shred, GetUnique is ErrNotFound.
func TestUniqueShreddedTenant(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, _ := ucustomers(t, e)
	a := tb.For("tenant-a")
	if err := a.Create(ctx, &UCustomer{ID: "c1", Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Shred(ctx, "tenant-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GetUnique(ctx, "email", table.S("a@example.com")); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("GetUnique after shred: %v", err)
	}
	// A tenant that never had a beacon key finds nothing and gets none.
	if _, err := tb.For("tenant-new").GetUnique(ctx, "email", table.S("a@example.com")); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("GetUnique of a new tenant: %v", err)
	}
	if _, err := e.store.Key(ctx, attrcrypt.KeyRef{Tenant: "tenant-new", Class: tenantkeys.BeaconClass(""), Version: 1}); !errors.Is(err, tenantkeys.ErrKeyNotFound) {
		t.Fatalf("GetUnique created a beacon key: %v", err)
	}
}

// TestUniqueErrorsValueFree: the errors of unique writes and lookups never
// carry the value.
func TestUniqueErrorsValueFree(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, _ := ucustomers(t, e)
	a := tb.For("tenant-a")
	const marker = "mrk-uniq-9917@example.com"
	sink := newErrorSink()
	if err := a.Create(ctx, &UCustomer{ID: "c1", Email: marker}); err != nil {
		t.Fatal(err)
	}
	sink.add("Create", a.Create(ctx, &UCustomer{ID: "c2", Email: marker}))
	sink.add("Put", a.Put(ctx, &UCustomer{ID: "c3", Email: strings.ToUpper(marker)}))
	if err := a.Create(ctx, &UCustomer{ID: "c4", Email: "x" + marker}); err != nil {
		t.Fatal(err)
	}
	_, err := a.Update(ctx, sk("c4"), func(c *UCustomer) error { c.Email = marker; return nil })
	sink.add("Update", err)
	sink.add("TransactWrite", table.TransactWrite(ctx, e.c, a.TxCreate(&UCustomer{ID: "c5", Email: marker})))
	_, err = a.GetUnique(ctx, "email", table.S("nobody-"+marker))
	sink.add("GetUnique", err)
	_, err = a.GetUnique(ctx, "email", &types.AttributeValueMemberBOOL{Value: true})
	sink.add("GetUnique type", err)
	_, err = a.GetUnique(ctx, "email", table.S(string([]byte{0xff})+marker))
	sink.add("GetUnique utf8", err)
	if sink.n != 7 {
		t.Fatalf("%d errors, want 7", sink.n)
	}
	noMarker(t, "unique errors", strings.ToLower(sink.buf.String()), marker, "mrk-uniq")
}

// TestUniqueStaleClaimReleased: a claim left by an item deleted outside
// the library (a TTL expiry), or an old claim written back after its value
// moved, no longer blocks the value; a claim whose MAC was edited, or whose
// item fails verification, is never released.
func TestUniqueStaleClaimReleased(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := ucustomers(t, e)
	a := tb.For("tenant-a")
	if err := a.Create(ctx, &UCustomer{ID: "c1", Email: "v@example.com"}); err != nil {
		t.Fatal(err)
	}
	// c1 expires (TTL): its claim stays behind.
	if _, err := e.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(name), Key: pkey("tenant-a", "c1")}); err != nil {
		t.Fatal(err)
	}
	wantStored(t, e.c, name, 0, 1)
	wantOwner(t, a, "v@example.com", "")
	if err := a.Create(ctx, &UCustomer{ID: "c2", Email: "v@example.com"}); err != nil {
		t.Fatalf("create over a stale claim: %v", err)
	}
	wantOwner(t, a, "v@example.com", "c2")
	wantStored(t, e.c, name, 1, 1)
	// c2 moves to w; its old claim of v is written back.
	_, claims := rawItems(t, e.c, name)
	old := claims[0]
	if _, err := a.Update(ctx, sk("c2"), func(c *UCustomer) error { c.Email = "w@example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	rawPut(t, e.c, name, old)
	wantOwner(t, a, "v@example.com", "")
	if _, err := a.Update(ctx, sk("c2"), func(c *UCustomer) error { c.Name = "x"; return nil }); err != nil {
		t.Fatal(err)
	}
	c3 := &UCustomer{ID: "c3", Email: "w@example.com"}
	if err := a.Create(ctx, c3); !isTaken(err, "email") {
		t.Fatalf("create of a value genuinely held: %v", err)
	}
	c3.Email = "V@example.com"
	if err := a.Put(ctx, c3); err != nil {
		t.Fatalf("put over a replayed stale claim: %v", err)
	}
	wantOwner(t, a, "v@example.com", "c3")
	wantOwner(t, a, "w@example.com", "c2")
	wantStored(t, e.c, name, 2, 2)
	// An edited claim (MAC flipped) is not released, though it names
	// nothing valid: the write is refused.
	_, claims = rawItems(t, e.c, name)
	for _, c := range claims {
		c = clone(c)
		m := bval(t, c[attrcrypt.ClaimAttribute])
		m[5] ^= 1
		c[attrcrypt.ClaimAttribute] = &types.AttributeValueMemberB{Value: m}
		rawPut(t, e.c, name, c)
	}
	if _, err := e.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(name), Key: pkey("tenant-a", "c3")}); err != nil {
		t.Fatal(err)
	}
	if err := a.Create(ctx, &UCustomer{ID: "c4", Email: "v@example.com"}); !isTaken(err, "email") {
		t.Fatalf("create over an edited claim: %v", err)
	}
	// Nor is the claim of an item that fails verification.
	if err := a.Create(ctx, &UCustomer{ID: "c5", Email: "t@example.com"}); err != nil {
		t.Fatal(err)
	}
	it := clone(rawGet(t, e.c, name, pkey("tenant-a", "c5")))
	it["name"] = &types.AttributeValueMemberB{Value: []byte("edited")}
	rawPut(t, e.c, name, it)
	if err := a.Create(ctx, &UCustomer{ID: "c6", Email: "t@example.com"}); !isTaken(err, "email") {
		t.Fatalf("create over the claim of a tampered item: %v", err)
	}
}

// TestUniqueInvariantUnderRaces: goroutines run random Creates, Puts,
// Updates and Deletes over a few items and values of two unique
// attributes. Afterwards no two items share a value, every value an item
// holds has exactly one claim, which GetUnique resolves to that item, and
// no other claim is left. Only the outcomes a caller must expect are
// accepted: success, ErrUniqueTaken, ErrAlreadyExists, ErrConflict,
// ErrNotFound.
func TestUniqueInvariantUnderRaces(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := accounts(t, e)
	a := tb.For("org-a")
	const workers, ops, ids, values = 6, 40, 4, 5
	key := func(i int) table.Key { return table.Key{PK: table.S(fmt.Sprintf("id%d", i)), SK: table.S("x")} }
	val := func(r uint64) string {
		if r%values == 0 {
			return "" // no value: no claim
		}
		return fmt.Sprintf("v%d", r%values)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*ops)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := uint64(w*7919 + 1)
			next := func() uint64 { r ^= r << 13; r ^= r >> 7; r ^= r << 17; return r }
			for range ops {
				i := int(next() % ids)
				acc := &Account{PK: fmt.Sprintf("id%d", i), SK: "x", Handle: val(next()), Phone: val(next())}
				var err error
				switch next() % 4 {
				case 0:
					err = a.Create(ctx, acc)
				case 1:
					err = a.Put(ctx, acc)
				case 2:
					h, p := val(next()), val(next())
					_, err = a.Update(ctx, key(i), func(x *Account) error { x.Handle, x.Phone = h, p; return nil }, table.RetryConflicts(3))
				case 3:
					err = a.Delete(ctx, key(i))
				}
				if err != nil && !errors.Is(err, table.ErrAlreadyExists) && !errors.Is(err, table.ErrConflict) && !errors.Is(err, table.ErrNotFound) {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected outcome: %v", err)
	}
	held := map[string]string{} // attr/value -> id
	want := 0
	for i := range ids {
		acc, err := a.Get(ctx, key(i), table.ConsistentRead())
		if errors.Is(err, table.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for attr, v := range map[string]string{"handle": acc.Handle, "phone": acc.Phone} {
			if v == "" {
				continue
			}
			if other, dup := held[attr+"/"+v]; dup {
				t.Fatalf("%s %s held by %s and %s", attr, v, other, acc.PK)
			}
			held[attr+"/"+v] = acc.PK
			want++
			got, err := a.GetUnique(ctx, attr, table.S(v))
			if err != nil || got.PK != acc.PK {
				t.Fatalf("GetUnique(%s %s): %+v %v, want %s", attr, v, got, err, acc.PK)
			}
		}
	}
	if _, claims := rawItems(t, e.c, name); len(claims) != want {
		t.Fatalf("%d claims for %d held values", len(claims), want)
	}
	t.Logf("%d values held at the end", want)
}

// TestUniqueDeleteUnopenable: Delete removes an item that does not open (a
// tampered one, one of a shredded tenant) as it would for any type; its
// claims stay as stale claims that the next write of the value releases.
func TestUniqueDeleteUnopenable(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := ucustomers(t, e)
	a := tb.For("tenant-a")
	if err := a.Create(ctx, &UCustomer{ID: "c1", Email: "v@example.com"}); err != nil {
		t.Fatal(err)
	}
	it := clone(rawGet(t, e.c, name, pkey("tenant-a", "c1")))
	it["name"] = &types.AttributeValueMemberB{Value: []byte("edited")}
	rawPut(t, e.c, name, it)
	if _, err := a.Get(ctx, sk("c1"), table.ConsistentRead()); !errors.Is(err, table.ErrTampered) {
		t.Fatalf("tampered item: %v", err)
	}
	if err := a.Delete(ctx, sk("c1"), table.MustExist()); err != nil {
		t.Fatalf("Delete of a tampered item: %v", err)
	}
	wantStored(t, e.c, name, 0, 1)
	if err := a.Create(ctx, &UCustomer{ID: "c2", Email: "v@example.com"}); err != nil {
		t.Fatalf("create of the value of a deleted tampered item: %v", err)
	}
	wantStored(t, e.c, name, 1, 1)
	// A shredded tenant's items can still be deleted.
	g := tb.For("gone")
	if err := g.Create(ctx, &UCustomer{ID: "g1", Email: "v@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Shred(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := g.Delete(ctx, sk("g1"), table.MustExist()); err != nil {
		t.Fatalf("Delete of a shredded tenant's item: %v", err)
	}
	if _, err := g.Get(ctx, sk("g1"), table.ConsistentRead()); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	// Another tenant's item is never deleted, opened or not.
	acc, accName := accounts(t, e)
	if err := acc.For("org-b").Create(ctx, &Account{PK: "b1", SK: "x", Handle: "h"}); err != nil {
		t.Fatal(err)
	}
	if err := acc.For("org-a").Delete(ctx, table.Key{PK: table.S("b1"), SK: table.S("x")}); !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("Delete of another tenant's item: %v", err)
	}
	wantStored(t, e.c, accName, 1, 1)
}
