package table_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/table"
)

// flaky wraps the real client. While degrade() is true, a batch call sends
// only the first half of its request to DynamoDB and returns the rest as
// unprocessed, as DynamoDB does under throttling. It also counts calls.
type flaky struct {
	*dynamodb.Client
	mu                sync.Mutex
	degradeCalls      int // degrade this many batch calls (-1: always)
	batchWrites, gets int
	puts, queries     atomic.Int64
}

func (f *flaky) degrade() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.degradeCalls == 0 {
		return false
	}
	if f.degradeCalls > 0 {
		f.degradeCalls--
	}
	return true
}

func (f *flaky) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	f.mu.Lock()
	f.batchWrites++
	f.mu.Unlock()
	if !f.degrade() {
		return f.Client.BatchWriteItem(ctx, in, o...)
	}
	send := map[string][]types.WriteRequest{}
	left := map[string][]types.WriteRequest{}
	for tbl, reqs := range in.RequestItems {
		h := len(reqs) / 2
		if h > 0 {
			send[tbl] = reqs[:h]
		}
		left[tbl] = reqs[h:]
	}
	if len(send) > 0 {
		if _, err := f.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: send}, o...); err != nil {
			return nil, err
		}
	}
	return &dynamodb.BatchWriteItemOutput{UnprocessedItems: left}, nil
}

func (f *flaky) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	f.mu.Lock()
	f.gets++
	f.mu.Unlock()
	if !f.degrade() {
		return f.Client.BatchGetItem(ctx, in, o...)
	}
	send := map[string]types.KeysAndAttributes{}
	left := map[string]types.KeysAndAttributes{}
	for tbl, ka := range in.RequestItems {
		h := len(ka.Keys) / 2
		s, l := ka, ka
		s.Keys, l.Keys = ka.Keys[:h], ka.Keys[h:]
		if h > 0 {
			send[tbl] = s
		}
		left[tbl] = l
	}
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}, UnprocessedKeys: left}
	if len(send) > 0 {
		r, err := f.Client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: send}, o...)
		if err != nil {
			return nil, err
		}
		out.Responses = r.Responses
	}
	return out, nil
}

func (f *flaky) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.puts.Add(1)
	return f.Client.PutItem(ctx, in, o...)
}

func (f *flaky) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	f.queries.Add(1)
	return f.Client.Query(ctx, in, o...)
}

func noSleep(sleeps *atomic.Int64) table.Option {
	return table.WithSleep(func(ctx context.Context, d time.Duration) error {
		sleeps.Add(1)
		return ctx.Err()
	})
}

func manyPatients(tenant string, n int) []*Patient {
	ps := make([]*Patient, n)
	for i := range ps {
		ps[i] = &Patient{Tenant: tenant, ID: fmt.Sprintf("p%04d", i), Name: fmt.Sprintf("name %d", i), SSN: "000-00-0000", Count: i}
	}
	return ps
}

func keysOf(ps []*Patient) []table.Key {
	ks := make([]table.Key, len(ps))
	for i, p := range ps {
		ks[i] = sk(p.ID)
	}
	return ks
}

// TestBatchWriteAndGet1000 writes 1,000 items in one call and reads them
// back in one call.
func TestBatchWriteAndGet1000(t *testing.T) {
	e := newEnv(t)
	tb, _ := patients(t, e)
	ctx := context.Background()
	a := tb.For("tenant-a")
	ps := manyPatients("tenant-a", 1000)
	if err := a.BatchWrite(ctx, ps, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Version != 1 {
			t.Fatalf("%s version %d after batch put, want 1", p.ID, p.Version)
		}
	}
	keys := append(keysOf(ps), sk("missing"))
	got, err := a.BatchGet(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(keys) || got[len(got)-1] != nil {
		t.Fatalf("got %d results (last %v), want %d with a nil last", len(got), got[len(got)-1], len(keys))
	}
	for i, p := range ps {
		if got[i] == nil || got[i].ID != p.ID || got[i].Name != p.Name || got[i].Count != p.Count {
			t.Fatalf("item %d: got %+v", i, got[i])
		}
	}
	// A key named twice is refused before any call.
	if err := a.BatchWrite(ctx, ps[:1], keysOf(ps[:1])); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("duplicate key: %v", err)
	}
	// Batch delete half of them.
	if err := a.BatchWrite(ctx, nil, keysOf(ps[:500])); err != nil {
		t.Fatal(err)
	}
	got, err = a.BatchGet(ctx, keysOf(ps))
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		if (got[i] == nil) != (i < 500) {
			t.Fatalf("after deleting the first 500, item %d present=%v", i, got[i] != nil)
		}
	}
}

// TestBatchUnprocessedRetried: unprocessed items are retried with backoff
// until DynamoDB takes them.
func TestBatchUnprocessedRetried(t *testing.T) {
	e := newEnv(t)
	name := createTable[Patient](t, e, "patients", nil)
	fc := &flaky{Client: e.c, degradeCalls: 3}
	var sleeps atomic.Int64
	tb, err := table.New[Patient](fc, name, e.rec, noSleep(&sleeps))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := tb.For("tenant-a")
	ps := manyPatients("tenant-a", 20) // one chunk
	if err := a.BatchWrite(ctx, ps, nil); err != nil {
		t.Fatalf("BatchWrite with 3 degraded calls: %v", err)
	}
	if fc.batchWrites != 4 || sleeps.Load() != 3 {
		t.Fatalf("%d BatchWriteItem calls and %d backoff sleeps, want 4 and 3", fc.batchWrites, sleeps.Load())
	}
	fc.degradeCalls = 3
	got, err := a.BatchGet(ctx, keysOf(ps))
	if err != nil {
		t.Fatalf("BatchGet with 3 degraded calls: %v", err)
	}
	for i := range ps {
		if got[i] == nil || got[i].ID != ps[i].ID {
			t.Fatalf("item %d missing after retries", i)
		}
	}
}

// TestBatchUnprocessedExhausted: when retries run out, what DynamoDB did not
// process is returned with its keys, never dropped.
func TestBatchUnprocessedExhausted(t *testing.T) {
	e := newEnv(t)
	name := createTable[Patient](t, e, "patients", nil)
	fc := &flaky{Client: e.c, degradeCalls: -1}
	var sleeps atomic.Int64
	tb, err := table.New[Patient](fc, name, e.rec, noSleep(&sleeps), table.WithBatchRetry(3, time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := tb.For("tenant-a")
	ps := manyPatients("tenant-a", 60) // chunks of 25, 25, 10
	err = a.BatchWrite(ctx, ps, nil)
	var be *table.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("BatchWrite: %v, want *BatchError", err)
	}
	// Each chunk of n loses half, three times: 25 -> 13 -> 7 -> 4 left.
	unprocessed := map[string]bool{}
	for _, k := range be.Unprocessed {
		unprocessed[k.SK.(*types.AttributeValueMemberS).Value] = true
	}
	if want := 4 + 4 + 2; len(unprocessed) != want {
		t.Fatalf("%d unprocessed keys, want %d", len(unprocessed), want)
	}
	// Every item is either stored or reported, none both, none lost.
	direct, err := table.New[Patient](e.c, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := direct.For("tenant-a").BatchGet(ctx, keysOf(ps))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		stored := got[i] != nil
		if stored == unprocessed[p.ID] {
			t.Fatalf("%s: stored=%v reported-unprocessed=%v", p.ID, stored, unprocessed[p.ID])
		}
		if wantV := map[bool]int64{true: 1, false: 0}[stored]; p.Version != wantV {
			t.Fatalf("%s: version %d on the caller's item, want %d", p.ID, p.Version, wantV)
		}
	}

	// BatchGet: the same accounting for reads.
	res, err := a.BatchGet(ctx, keysOf(ps))
	if !errors.As(err, &be) || be.Err != nil || len(be.Failed) != 0 {
		t.Fatalf("BatchGet: %v, want *BatchError with unprocessed keys only", err)
	}
	un := map[string]bool{}
	for _, k := range be.Unprocessed {
		un[k.SK.(*types.AttributeValueMemberS).Value] = true
	}
	if len(un) == 0 {
		t.Fatal("no unprocessed keys reported")
	}
	for i, p := range ps {
		if res[i] != nil && un[p.ID] {
			t.Fatalf("%s both returned and reported", p.ID)
		}
		if res[i] == nil && !un[p.ID] && got[i] != nil {
			t.Fatalf("%s exists but was neither returned nor reported", p.ID)
		}
	}
	if !strings.Contains(err.Error(), "unprocessed") {
		t.Fatalf("error text %q", err)
	}
}

// TestItemTooLarge: an item over 400 KB after sealing fails before any
// PutItem is sent.
func TestItemTooLarge(t *testing.T) {
	e := newEnv(t)
	name := createTable[Patient](t, e, "patients", nil)
	fc := &flaky{Client: e.c}
	tb, err := table.New[Patient](fc, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	big := &Patient{Tenant: "tenant-a", ID: "big", Notes: strings.Repeat("x", 400*1024)}
	err = tb.For("tenant-a").Put(ctx, big)
	if !errors.Is(err, table.ErrItemTooLarge) {
		t.Fatalf("Put: %v, want ErrItemTooLarge", err)
	}
	if strings.Contains(err.Error(), "xxxx") {
		t.Fatal("error contains plaintext")
	}
	if n := fc.puts.Load(); n != 0 {
		t.Fatalf("%d PutItem calls sent, want 0", n)
	}
	// The same item in a batch is reported, with its key, and not sent;
	// in a transaction it fails before the call.
	err = tb.For("tenant-a").BatchWrite(ctx, []*Patient{big}, nil)
	var be *table.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || !errors.Is(be.Failed[0].Err, table.ErrItemTooLarge) ||
		be.Failed[0].Key.SK.(*types.AttributeValueMemberS).Value != "big" {
		t.Fatalf("BatchWrite: %v, want one failed item with ErrItemTooLarge", err)
	}
	if fc.batchWrites != 0 {
		t.Fatalf("%d BatchWriteItem calls sent, want 0", fc.batchWrites)
	}
	if err := table.TransactWrite(ctx, fc, tb.For("tenant-a").TxPut(big)); !errors.Is(err, table.ErrItemTooLarge) {
		t.Fatalf("TransactWrite: %v, want ErrItemTooLarge", err)
	}
	// Just under the limit (leaving room for the format's overhead) works.
	ok := &Patient{Tenant: "tenant-a", ID: "ok", Notes: strings.Repeat("x", 390*1024)}
	if err := tb.For("tenant-a").Put(ctx, ok); err != nil {
		t.Fatalf("390 KB item: %v", err)
	}
}
