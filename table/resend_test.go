package table_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/itest/faultproxy"
	"github.com/dynaseal/dynaseal/table"
)

// twice is a Client that sends every write twice and returns only the
// second answer: what the caller sees when DynamoDB applied a write, its
// answer was lost and the SDK resent the request. between, when set, runs
// between the two sends (another writer getting in).
type twice struct {
	*dynamodb.Client
	sends   atomic.Int64
	between func()
}

func (c *twice) gap() {
	c.sends.Add(1)
	if c.between != nil {
		c.between()
	}
}

func (c *twice) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	_, _ = c.Client.PutItem(ctx, in, o...)
	c.gap()
	return c.Client.PutItem(ctx, in, o...)
}

func (c *twice) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	_, _ = c.Client.UpdateItem(ctx, in, o...)
	c.gap()
	return c.Client.UpdateItem(ctx, in, o...)
}

func (c *twice) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	_, _ = c.Client.DeleteItem(ctx, in, o...)
	c.gap()
	return c.Client.DeleteItem(ctx, in, o...)
}

func (c *twice) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	_, _ = c.Client.TransactWriteItems(ctx, in, o...)
	c.gap()
	return c.Client.TransactWriteItems(ctx, in, o...)
}

func twicePatients(t *testing.T, e *env) (*table.Table[Patient], *twice) {
	t.Helper()
	name := createTable[Patient](t, e, "patients", nil)
	tc := &twice{Client: e.c}
	tb, err := table.New[Patient](tc, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	return tb, tc
}

// TestResentWritesAreOwnWrites: every write sent twice (second answer
// only) reports success, and an Update applies its change exactly once.
func TestResentWritesAreOwnWrites(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, tc := twicePatients(t, e)
	a := tb.For("tenant-a")

	p := &Patient{Tenant: "tenant-a", ID: "p1", Name: "Ada"}
	if err := a.Create(ctx, p); err != nil {
		t.Fatalf("Create sent twice: %v (want success, not ErrAlreadyExists)", err)
	}
	p.Plan = "gold"
	if err := a.Put(ctx, p); err != nil {
		t.Fatalf("Put sent twice: %v (want success, not ErrConflict)", err)
	}
	if p.Version != 2 {
		t.Fatalf("version after Create+Put: %d, want 2", p.Version)
	}
	const n = 25
	var calls int
	for range n {
		if _, err := a.Update(ctx, sk("p1"), func(p *Patient) error { calls++; p.Count++; return nil }, table.RetryConflicts(5)); err != nil {
			t.Fatalf("Update sent twice: %v", err)
		}
	}
	got, err := a.Get(ctx, sk("p1"), table.ConsistentRead())
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != n || calls != n || got.Version != 2+n {
		t.Fatalf("count %d after %d updates (fn ran %d times, version %d)", got.Count, n, calls, got.Version)
	}
	// A transaction resent with the same token is answered as the first.
	if err := table.TransactWrite(ctx, tc, a.TxUpdate(sk("p1"), func(p *Patient) error { p.Count++; return nil })); err != nil {
		t.Fatalf("TransactWrite sent twice: %v", err)
	}
	if got, _ = a.Get(ctx, sk("p1"), table.ConsistentRead()); got.Count != n+1 {
		t.Fatalf("count after resent transaction: %d, want %d", got.Count, n+1)
	}
	if err := a.Delete(ctx, sk("p1"), table.IfVersion(got.Version)); err != nil {
		t.Fatalf("Delete(IfVersion) sent twice: %v (want success)", err)
	}
	if err := a.Create(ctx, &Patient{Tenant: "tenant-a", ID: "p2"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, sk("p2"), table.MustExist()); err != nil {
		t.Fatalf("Delete(MustExist) sent twice: %v (want success, not ErrNotFound)", err)
	}
	if _, err := a.Get(ctx, sk("p2")); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	// Genuine outcomes are still reported when the resend is not ours.
	if err := a.Delete(ctx, sk("p2"), table.MustExist()); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("Delete(MustExist) of a missing item: %v, want ErrNotFound", err)
	}
	if err := a.Create(ctx, &Patient{Tenant: "tenant-a", ID: "p3"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Create(ctx, &Patient{Tenant: "tenant-a", ID: "p3"}); !errors.Is(err, table.ErrAlreadyExists) {
		t.Fatalf("second Create of p3: %v, want ErrAlreadyExists", err)
	}
	if tc.sends.Load() == 0 {
		t.Fatal("the wrapper never resent anything")
	}
}

// TestResentWriteOverwrittenIsUnknown: when another writer gets in between
// the lost first attempt and the resend, the engine cannot know whether its
// first attempt applied. Update must say so (ErrUnknownOutcome), must not
// call it a conflict, and RetryConflicts must not run fn again.
func TestResentWriteOverwrittenIsUnknown(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, tc := twicePatients(t, e)
	a := tb.For("tenant-a")
	if err := a.Create(ctx, &Patient{Tenant: "tenant-a", ID: "c"}); err != nil {
		t.Fatal(err)
	}
	direct, err := table.New[Patient](e.c, tb.Name(), e.rec)
	if err != nil {
		t.Fatal(err)
	}
	tc.between = func() {
		tc.between = nil
		if _, err := direct.For("tenant-a").Update(ctx, sk("c"), func(p *Patient) error { p.Plan = "other"; return nil }); err != nil {
			t.Errorf("other writer: %v", err)
		}
	}
	calls := 0
	_, err = a.Update(ctx, sk("c"), func(p *Patient) error { calls++; p.Count++; return nil }, table.RetryConflicts(5))
	if !errors.Is(err, table.ErrUnknownOutcome) || errors.Is(err, table.ErrConflict) {
		t.Fatalf("Update overwritten between attempts: %v, want ErrUnknownOutcome only", err)
	}
	if calls != 1 {
		t.Fatalf("fn ran %d times, want 1", calls)
	}
	got, err := a.Get(ctx, sk("c"), table.ConsistentRead())
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != 1 || got.Plan != "other" {
		t.Fatalf("count %d plan %q: the first attempt and the other writer should both be there", got.Count, got.Plan)
	}
}

// proxiedClient is a DynamoDB client that talks to DynamoDB Local through a
// fault proxy, with a retryer generous enough to ride out injected faults
// (no client-side retry quota, millisecond backoff).
func proxiedClient(t testing.TB, seed uint64) (*dynamodb.Client, *faultproxy.Proxy) {
	t.Helper()
	p, err := faultproxy.New(itest.Endpoint(t), faultproxy.WithSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	c := itest.NewDynamoDBClient(p.URL(), func(o *dynamodb.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 10
			so.MaxBackoff = 20 * time.Millisecond
			so.RateLimiter = noRetryQuota{}
		})
	})
	return c, p
}

type noRetryQuota struct{}

func (noRetryQuota) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noRetryQuota) AddTokens(uint) error { return nil }

// TestDroppedResponsesFromDynamoDBLocal: a proxy drops a fifth of the
// answers of every write; 200 Update increments end at exactly 200, Create
// never reports ErrAlreadyExists for its own item, Put never ErrConflict for
// its own write, Delete(MustExist) never ErrNotFound after it deleted.
func TestDroppedResponsesFromDynamoDBLocal(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c, p := proxiedClient(t, 42)
	name := createTable[Patient](t, e, "patients", nil)
	tb, err := table.New[Patient](c, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"} {
		p.Add(faultproxy.Rule{Operation: op, Probability: 0.2, Action: faultproxy.DropResponse})
	}
	a := tb.For("tenant-a")
	if err := a.Create(ctx, &Patient{Tenant: "tenant-a", ID: "counter"}); err != nil {
		t.Fatal(err)
	}
	const n = 200
	calls := 0
	for i := range n {
		if _, err := a.Update(ctx, sk("counter"), func(p *Patient) error { calls++; p.Count++; return nil }, table.RetryConflicts(5)); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	got, err := a.Get(ctx, sk("counter"), table.ConsistentRead())
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != n || calls != n {
		t.Fatalf("counter %d after %d increments (fn ran %d times)", got.Count, n, calls)
	}
	for i := range 40 {
		v := &Patient{Tenant: "tenant-a", ID: fmt.Sprintf("p%d", i)}
		if err := a.Create(ctx, v); err != nil {
			t.Fatalf("Create %d: %v", i, err)
		}
		v.Plan = "x"
		if err := a.Put(ctx, v); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
		if err := a.Delete(ctx, sk(v.ID), table.MustExist()); err != nil {
			t.Fatalf("Delete(MustExist) %d: %v", i, err)
		}
	}
	st := p.Stats()
	if st.Faults[faultproxy.DropResponse] < 20 {
		t.Fatalf("only %d responses dropped: the test did not exercise resends", st.Faults[faultproxy.DropResponse])
	}
	t.Logf("proxy: %d requests, %d responses dropped", st.Requests, st.Faults[faultproxy.DropResponse])
}
