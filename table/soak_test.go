package table_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/itest/faultproxy"
	"github.com/dynaseal/dynaseal/itest/kmslocal"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// SoakItem carries a signed counter (changed by Update), a plain counter
// (changed by AddToCounter) and an encrypted value.
type SoakItem struct {
	Tenant  string `dynamodbav:"tenant" seal:"pk,tenant"`
	ID      string `dynamodbav:"id"     seal:"sk"`
	Secret  string `dynamodbav:"secret" seal:"encrypt"`
	Count   int64  `dynamodbav:"count"`
	Hits    int64  `dynamodbav:"hits"   seal:"plain"`
	Version int64  `dynamodbav:"v"      seal:"version"`
}

// soakKnown is every error a caller may see from the soak's operations:
// each failure must match one of them (or a context error).
var soakKnown = []error{
	table.ErrNotFound, table.ErrConflict, table.ErrUnknownOutcome, table.ErrAlreadyExists,
	table.ErrKeyMissing, table.ErrKeyShredded, table.ErrKeyRetired, table.ErrKeyDisabled,
	tenantkeys.ErrKMSUnavailable, tenantkeys.ErrKeyStoreUnavailable, tenantkeys.ErrConflict,
	context.Canceled, context.DeadlineExceeded,
}

// counter is what the model knows of a counter: the true value is in
// [lo, hi] (a failed write may or may not have applied).
type counter struct{ lo, hi int64 }

// stored is what the model knows of a put-only item.
type stored struct {
	exists  bool
	secret  string
	certain bool
}

type soakTenant struct {
	name     string
	counts   map[string]*counter // signed Count of c-* items
	hits     map[string]*counter // plain Hits of c-* items
	items    map[string]*stored  // p-* and b-* items
	ops      map[string]int
	failures map[string]int
}

type soakRun struct {
	t        *testing.T
	mu       sync.Mutex
	unknown  []string // failures without a sentinel
	tampered atomic.Int64
	// unknownOutcomes counts ErrUnknownOutcome answers: only a reseal that
	// lands between a lost answer and its resend can cause one here.
	unknownOutcomes atomic.Int64
}

func (r *soakRun) check(op string, err error) {
	if err == nil {
		return
	}
	if errors.Is(err, table.ErrTampered) {
		r.tampered.Add(1)
		r.t.Errorf("%s: tampered: %v", op, err)
		return
	}
	for _, k := range soakKnown {
		if errors.Is(err, k) {
			return
		}
	}
	r.mu.Lock()
	r.unknown = append(r.unknown, fmt.Sprintf("%s: %v", op, err))
	r.mu.Unlock()
}

// TestSoak runs mixed Put/Update/AddToCounter/Delete/Query/BatchWrite from
// several tenants, with key rotations and Reseal passes, while a proxy
// drops, fails and delays DynamoDB's answers and KMS throttles; then
// checks that no write was lost or applied twice, every item reads, every
// key version exists and every failure carried a sentinel.
func TestSoak(t *testing.T) {
	tenants, steps := 6, 250
	if testing.Short() {
		tenants, steps = 3, 60
	}
	e := newEnv(t)
	// Bounded: the soak stops by itself even if something loops.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	// DynamoDB through the fault proxy.
	c, p := proxiedClient(t, 2026)
	name := createTable[SoakItem](t, e, "soak", nil)
	isData := func(_ *http.Request, body []byte) bool { return bytes.Contains(body, []byte(name)) }
	for _, op := range []string{"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"} {
		p.Add(faultproxy.Rule{Operation: op, Match: isData, Probability: 0.06, Action: faultproxy.DropResponse})
		p.Add(faultproxy.Rule{Operation: op, Match: isData, Probability: 0.03, Action: faultproxy.FailAfterForward, Status: 500})
	}
	for _, op := range []string{"GetItem", "Query", "Scan", "BatchGetItem"} {
		p.Add(faultproxy.Rule{Operation: op, Match: isData, Probability: 0.04, Action: faultproxy.Respond, Status: 400,
			Body: faultproxy.AWSError("ProvisionedThroughputExceededException", "injected")})
	}
	p.Add(faultproxy.Rule{Probability: 0.05, Delay: 15 * time.Millisecond, Action: faultproxy.Forward})

	// KMS that throttles, behind a key store on DynamoDB (through the
	// proxy, delays only) and a short-lived cache, so unwraps recur.
	ks, err := kmslocal.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ks.Close)
	ks.ThrottleRate(0.2)
	kc := ks.Client(func(o *kms.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 10
			so.MaxBackoff = 10 * time.Millisecond
			so.RateLimiter = noRetryQuota{}
		})
	})
	keyTable := itest.NewTable(t, e.c, tenantkeys.CreateTableInput("soakkeys"))
	store := tenantkeys.NewDynamoDBStore(c, keyTable, tenantkeys.NewKMSWrapper(kc, tenantkeys.SharedKey(ks.CreateKey("soak"))), tenantkeys.WithCreateOnFirstUse(true))
	keys := tenantkeys.NewCache(store, tenantkeys.WithTTL(50*time.Millisecond))
	tb, err := table.New[SoakItem](c, name, keys, table.WithBatchRetry(10, time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}

	// The counters are created without faults, so that the soak measures
	// the workload alone.
	setup, err := table.New[SoakItem](e.c, name, keys)
	if err != nil {
		t.Fatal(err)
	}
	run := &soakRun{t: t}
	models := make([]*soakTenant, tenants)
	for i := range models {
		m := &soakTenant{name: fmt.Sprint("soak-", i), counts: map[string]*counter{}, hits: map[string]*counter{}, items: map[string]*stored{}, ops: map[string]int{}, failures: map[string]int{}}
		models[i] = m
		for j := range 4 {
			id := fmt.Sprint("c-", j)
			if err := setup.For(m.name).Create(ctx, &SoakItem{Tenant: m.name, ID: id, Secret: "c"}); err != nil {
				t.Fatalf("setup: %v", err)
			}
			m.counts[id], m.hits[id] = &counter{}, &counter{}
		}
	}

	var wg sync.WaitGroup
	for i, m := range models {
		wg.Go(func() { soakWorker(ctx, run, tb.For(m.name), m, uint64(i), steps) })
	}
	// Rotations and Reseal passes while the workers run.
	stop := make(chan struct{})
	rotations := map[string][2]int{} // tenant -> {ok, attempted}
	var resealStats []table.ResealStats
	var rotWG sync.WaitGroup
	rotWG.Go(func() {
		for r := 0; ; r++ {
			select {
			case <-stop:
				return
			case <-time.After(150 * time.Millisecond):
			}
			m := models[r%len(models)]
			_, err := store.Rotate(ctx, m.name, "")
			run.check("rotate", err)
			rc := rotations[m.name]
			rc[1]++
			if err == nil {
				rc[0]++
			}
			rotations[m.name] = rc
			if r%2 == 1 {
				st, err := tb.Reseal(ctx, table.ScanInput{PageSize: 50}, table.OnResealFailure(func(ie table.ItemError) { run.check("reseal item", ie.Err) }))
				run.check("reseal", err)
				resealStats = append(resealStats, st)
			}
		}
	})
	wg.Wait()
	close(stop)
	rotWG.Wait()

	// The faults stop; a last pass must leave every item current.
	pst := p.Stats()
	kmsCalls := ks.AllCalls()
	p.Clear()
	ks.ThrottleRate(0)
	final, err := tb.Reseal(ctx, table.ScanInput{})
	if err != nil || final.FailedCount != 0 || final.Tampered != 0 {
		t.Fatalf("final reseal: %+v %v", final, err)
	}

	ops, fails, unknownOutcomes := 0, 0, 0
	for _, m := range models {
		s := tb.For(m.name)
		for id, want := range m.counts {
			got, err := s.Get(ctx, sk(id), table.ConsistentRead())
			if err != nil {
				t.Fatalf("%s/%s unreadable: %v", m.name, id, err)
			}
			if got.Count < want.lo {
				t.Errorf("%s/%s: count %d < %d successful increments: a write was lost", m.name, id, got.Count, want.lo)
			}
			if got.Count > want.hi {
				t.Errorf("%s/%s: count %d > %d attempted increments: a write applied twice", m.name, id, got.Count, want.hi)
			}
			h := m.hits[id]
			if got.Hits < h.lo || got.Hits > h.hi {
				t.Errorf("%s/%s: hits %d outside [%d, %d]", m.name, id, got.Hits, h.lo, h.hi)
			}
			unknownOutcomes += int(want.hi - want.lo + h.hi - h.lo)
		}
		for id, want := range m.items {
			got, err := s.Get(ctx, sk(id), table.ConsistentRead())
			switch {
			case err != nil && !errors.Is(err, table.ErrNotFound):
				t.Fatalf("%s/%s unreadable: %v", m.name, id, err)
			case !want.certain:
			case want.exists && err != nil:
				t.Errorf("%s/%s: written, now missing", m.name, id)
			case want.exists && got.Secret != want.secret:
				t.Errorf("%s/%s: wrong content after a successful write", m.name, id)
			case !want.exists && err == nil:
				t.Errorf("%s/%s: deleted, still there", m.name, id)
			}
		}
		for k, n := range m.ops {
			ops += n
			fails += m.failures[k]
		}
		vs, err := store.Versions(ctx, m.name, "")
		if err != nil {
			t.Fatal(err)
		}
		rc := rotations[m.name]
		if len(vs) < 1+rc[0] || len(vs) > 1+rc[1] {
			t.Errorf("%s: %d key versions after %d successful of %d rotations", m.name, len(vs), rc[0], rc[1])
		}
		nums := make([]int, len(vs))
		for i, v := range vs {
			nums[i] = int(v.Ref.Version)
		}
		slices.Sort(nums)
		for i, v := range nums {
			if v != i+1 {
				t.Errorf("%s: key versions %v are not 1..%d", m.name, nums, len(nums))
				break
			}
		}
	}
	if n := run.unknownOutcomes.Load(); n*100 > int64(ops) {
		t.Errorf("%d of %d operations ended with ErrUnknownOutcome: resends are not recognised as own writes", n, ops)
	}
	for _, u := range run.unknown {
		t.Errorf("failure without a sentinel: %s", u)
	}
	resealed, rotated := 0, 0
	for _, rc := range rotations {
		rotated += rc[0]
	}
	for _, st := range resealStats {
		resealed += st.Resealed
	}
	t.Logf("soak: %d tenants, %d operations (%d failed, all with sentinels), %d rotations, %d reseal passes (%d items resealed), final pass %d items",
		tenants, ops, fails, rotated, len(resealStats), resealed, final.Scanned)
	t.Logf("faults: %d DynamoDB requests, %d forwarded, %d faults injected (%d responses dropped, %d 500 after apply, %d throttled, %d delayed); unresolved outcomes within bounds: %d (ErrUnknownOutcome: %d); KMS calls %v (20%% throttled)",
		pst.Requests, pst.Forwarded, pst.Injected(), pst.Faults[faultproxy.DropResponse], pst.Faults[faultproxy.FailAfterForward], pst.Faults[faultproxy.Respond], pst.Faults[faultproxy.Forward], unknownOutcomes, run.unknownOutcomes.Load(), kmsCalls)
	if pst.Faults[faultproxy.DropResponse] == 0 || pst.Faults[faultproxy.Respond] == 0 {
		t.Fatal("the soak injected no faults")
	}
}

// soakWorker runs steps random operations of one tenant and keeps the
// model of what must be stored.
func soakWorker(ctx context.Context, run *soakRun, s table.Scope[SoakItem], m *soakTenant, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	counters := []string{"c-0", "c-1", "c-2", "c-3"}
	existing := func() string {
		for id, st := range m.items {
			if st.exists && st.certain {
				return id
			}
		}
		return ""
	}
	do := func(op string, err error) error {
		m.ops[op]++
		if err != nil {
			m.failures[op]++
			run.check(op, err)
			// One writer per item: a conflict or an existing item can only
			// be its own earlier attempt, misread.
			if errors.Is(err, table.ErrConflict) || errors.Is(err, table.ErrAlreadyExists) {
				run.t.Errorf("%s: own write reported as %v", op, err)
			}
			if errors.Is(err, table.ErrUnknownOutcome) {
				run.unknownOutcomes.Add(1)
			}
		}
		return err
	}
	for step := range steps {
		switch n := rng.IntN(100); {
		case n < 25: // a signed increment
			id := counters[rng.IntN(len(counters))]
			_, err := s.Update(ctx, sk(id), func(v *SoakItem) error { v.Count++; return nil }, table.RetryConflicts(5))
			c := m.counts[id]
			c.hi++
			if do("update", err) == nil {
				c.lo++
			} else if errors.Is(err, table.ErrNotFound) {
				run.t.Errorf("update of %s: ErrNotFound", id)
			}
		case n < 35: // a plain increment
			id := counters[rng.IntN(len(counters))]
			err := s.AddToCounter(ctx, sk(id), "hits", 1)
			h := m.hits[id]
			h.hi++
			if do("add", err) == nil {
				h.lo++
			}
		case n < 50: // put a new item, or overwrite one
			id := fmt.Sprint("p-", rng.IntN(20))
			secret := fmt.Sprint("s-", step)
			st := m.items[id]
			var v *SoakItem
			if st != nil && st.exists {
				got, err := s.Get(ctx, sk(id), table.ConsistentRead())
				if do("get", err) != nil {
					if !errors.Is(err, table.ErrNotFound) {
						continue
					}
					got = nil
				}
				v = got
			}
			if v == nil {
				v = &SoakItem{Tenant: m.name, ID: id}
			}
			v.Secret = secret
			err := do("put", s.Put(ctx, v))
			if err == nil {
				m.items[id] = &stored{exists: true, secret: secret, certain: true}
			} else {
				m.items[id] = &stored{exists: true, certain: false}
			}
		case n < 60: // delete an item that exists
			id := existing()
			if id == "" {
				continue
			}
			err := do("delete", s.Delete(ctx, sk(id), table.MustExist()))
			switch {
			case err == nil:
				m.items[id] = &stored{certain: true}
			case errors.Is(err, table.ErrNotFound):
				run.t.Errorf("Delete(MustExist) of %s, which exists: ErrNotFound", id)
				m.items[id].certain = false
			default:
				m.items[id].certain = false
			}
		case n < 70: // a batch of new items
			var puts []*SoakItem
			for k := range 5 {
				puts = append(puts, &SoakItem{Tenant: m.name, ID: fmt.Sprintf("b-%d-%d", step, k), Secret: fmt.Sprint("b-", step)})
			}
			err := do("batch", s.BatchWrite(ctx, puts, nil))
			var be *table.BatchError
			for _, v := range puts {
				m.items[v.ID] = &stored{exists: true, secret: v.Secret, certain: err == nil}
			}
			if errors.As(err, &be) && be.Err == nil {
				failed := map[string]bool{}
				for _, k := range be.Unprocessed {
					failed[keyID(k)] = true
				}
				for _, f := range be.Failed {
					failed[keyID(f.Key)] = true
				}
				for _, v := range puts {
					m.items[v.ID].certain = !failed[v.ID]
				}
			}
		case n < 90: // a query page
			_, err := s.QueryPage(ctx, table.QueryInput{PageSize: 10, Sort: table.BeginsWith(table.S("p-"))})
			do("query", err)
		default:
			_, err := s.Get(ctx, sk(counters[rng.IntN(len(counters))]))
			do("get", err)
		}
	}
}

func keyID(k table.Key) string {
	if s, ok := k.SK.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
