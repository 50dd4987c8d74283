package table_test

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest/faultproxy"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/table/job"
)

// plainFill writes n plaintext patients per tenant (ids p0000...) with
// BatchWriteItem, as a table written without dynaseal holds them.
func plainFill(t testing.TB, c *dynamodb.Client, name string, n int, tenants ...string) {
	t.Helper()
	var reqs []types.WriteRequest
	flush := func() {
		for len(reqs) > 0 {
			out, err := c.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{name: reqs}})
			if err != nil {
				t.Fatal(err)
			}
			reqs = out.UnprocessedItems[name]
		}
	}
	for _, tenant := range tenants {
		for i := range n {
			id := fmt.Sprintf("p%04d", i)
			m, err := attributevalue.MarshalMap(Patient{Tenant: tenant, ID: id, Name: "n-" + tenant + "-" + id, SSN: "123-45-6789", Plan: "basic", Version: int64(i % 3)})
			if err != nil {
				t.Fatal(err)
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: m}})
			if len(reqs) == 25 {
				flush()
			}
		}
	}
	flush()
}

// TestMigrateWithConcurrentApplication migrates 3000 plaintext rows with
// four segments while application goroutines, on handles in migration
// mode, update random rows (through Update, which seals what it writes),
// create new ones and read with and without the opt-in. Every application
// write survives with its value, every row ends sealed and verifiable by
// a handle without migration mode, reads behave as documented throughout,
// and a second pass finds nothing left to seal.
func TestMigrateWithConcurrentApplication(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := patients(t, e, table.WithMigration())
	tenants := []string{"m1", "m2", "m3"}
	const perTenant = 1000
	plainFill(t, e.c, name, perTenant, tenants...)

	var (
		mu        sync.Mutex
		increment = map[string]int{} // successful Updates per "tenant/id"
		created   = map[string]bool{}
		stop      atomic.Bool
		wg        sync.WaitGroup
		reads     atomic.Int64
		marked    atomic.Int64
	)
	for w := range 4 {
		wg.Go(func() {
			r := mrand.New(mrand.NewPCG(uint64(w), 99))
			for n := 0; !stop.Load(); n++ {
				tenant := tenants[r.IntN(len(tenants))]
				s := tb.For(tenant)
				id := fmt.Sprintf("p%04d", r.IntN(perTenant))
				switch n % 4 {
				case 0, 1:
					_, err := s.Update(ctx, sk(id), func(p *Patient) error { p.Count++; p.Status = "w"; return nil }, table.RetryConflicts(20))
					if err != nil {
						t.Errorf("update %s/%s: %v", tenant, id, err)
						return
					}
					mu.Lock()
					increment[tenant+"/"+id]++
					mu.Unlock()
				case 2:
					nid := fmt.Sprintf("new-%d-%d", w, n)
					if err := s.Create(ctx, &Patient{ID: nid, Name: "created"}); err != nil {
						t.Errorf("create: %v", err)
						return
					}
					mu.Lock()
					created[tenant+"/"+nid] = true
					mu.Unlock()
				case 3:
					// With the opt-in a read always succeeds, marked when
					// unsealed; without it, it is verified or ErrNotSealed.
					wasMarked := false
					p, err := s.Get(ctx, sk(id), table.AllowUnsealed(func(table.Key) { wasMarked = true }))
					if err != nil || p.ID != id || p.Name != "n-"+tenant+"-"+id {
						t.Errorf("read with opt-in %s/%s: %+v, %v", tenant, id, p, err)
						return
					}
					if wasMarked {
						marked.Add(1)
					}
					if _, err := s.Get(ctx, sk(id)); err != nil && !errors.Is(err, table.ErrNotSealed) {
						t.Errorf("read without opt-in %s/%s: %v", tenant, id, err)
						return
					}
					reads.Add(1)
				}
			}
		})
	}
	var reports atomic.Int64
	st, err := tb.Admin().Migrate(ctx, table.JobInput{Segments: 4, AllSegments: true, PageSize: 50,
		OnItem: func(r table.ItemReport) {
			reports.Add(1)
			if r.Outcome == table.OutcomeUnsealed {
				t.Errorf("left unsealed: %s: %v", reportKey(r), r.Err)
			}
		}})
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pass 1: %+v; application: %d updated rows, %d created, %d reads (%d marked unverified)", st, len(increment), len(created), reads.Load(), marked.Load())
	if st.Unsealed != 0 || st.Gone != 0 || st.Scanned != st.Sealed+st.AlreadySealed || st.Scanned < perTenant*int64(len(tenants)) {
		t.Fatalf("stats %+v", st)
	}
	if st.Sealed == 0 || len(increment) == 0 || marked.Load() == 0 {
		t.Fatalf("the application and the job did not overlap: %+v, %d updates, %d marked reads", st, len(increment), marked.Load())
	}
	if reports.Load() != st.Sealed {
		t.Fatalf("%d reports for %d sealed", reports.Load(), st.Sealed)
	}

	// Every row is sealed and verifies without migration mode, and every
	// application write is there.
	strict, err := table.New[Patient](e.c, name, e.store)
	if err != nil {
		t.Fatal(err)
	}
	items := snapshot(t, e.c, name)
	if len(items) != perTenant*len(tenants)+len(created) {
		t.Fatalf("%d rows, want %d", len(items), perTenant*len(tenants)+len(created))
	}
	for k, it := range items {
		if attrcrypt.IsUnsealed(it) {
			t.Fatalf("%s still unsealed", k)
		}
		tenant, id, _ := strings.Cut(k, "/")
		p, err := strict.For(tenant).Get(ctx, sk(id))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if created[k] {
			continue
		}
		if p.Name != "n-"+k[:2]+"-"+id || p.SSN != "123-45-6789" || p.Plan != "basic" || p.Count != increment[k] {
			t.Fatalf("%s: %+v, want count %d", k, p, increment[k])
		}
	}
	// A second pass: nothing left to seal; the table is fully sealed.
	st2, err := tb.Admin().Migrate(ctx, table.JobInput{Segments: 2, AllSegments: true})
	if err != nil || !st2.FullySealed() || st2.Sealed != 0 || st2.AlreadySealed != int64(len(items)) {
		t.Fatalf("second pass: %+v, %v", st2, err)
	}
}

// TestMigrateReportsUnsealable migrates a shared-partition table through a
// handle built from a schema file (no Go type): rows it cannot seal (no
// tenant attribute, a tenant without a key and no create-on-first-use,
// too large once sealed) are reported by key and counted, never written;
// the others are sealed with the spec's actions and verify through the Go
// type's handle; a one-tenant pass touches only that tenant.
func TestMigrateReportsUnsealable(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	name := createTable[Doc](t, e, "docs", nil)
	sch, err := schema.ParseSpec([]byte(`{"type":"Doc","partitionKey":"pk","sortKey":"sk","tenant":"org","attributes":{"body":"encrypt","tag":"sign"}}`))
	if err != nil {
		t.Fatal(err)
	}
	keys := newStoreNoCreate(t)
	for _, org := range []string{"org-a", "org-b"} {
		if _, err := keys.Create(ctx, org, ""); err != nil {
			t.Fatal(err)
		}
	}
	put := func(sk, org, body string) {
		m := map[string]types.AttributeValue{"pk": table.S("shared"), "sk": table.S(sk), "body": table.S(body), "tag": table.S("x")}
		if org != "" {
			m["org"] = table.S(org)
		}
		rawPut(t, e.c, name, m)
	}
	for i := range 20 {
		put(fmt.Sprintf("a%02d", i), "org-a", "secret body a")
		put(fmt.Sprintf("b%02d", i), "org-b", "secret body b")
	}
	put("no-tenant", "", "secret body")
	put("no-key", "org-unknown", "secret body")
	put("too-large", "org-a", strings.Repeat("z", 400*1024-100))
	ad, err := table.NewAdmin(e.c, name, keys, sch)
	if err != nil {
		t.Fatal(err)
	}
	// One tenant first (a filtered scan: the partition is shared).
	st, err := ad.Migrate(ctx, table.JobInput{Tenant: "org-b", ScanTenant: true})
	if err != nil || st.Sealed != 20 || st.Scanned != 20 || st.Unsealed != 0 {
		t.Fatalf("org-b pass: %+v, %v", st, err)
	}
	for k, it := range docSnapshot(t, e.c, name) {
		if attrcrypt.IsUnsealed(it) == strings.HasPrefix(k, "b") {
			t.Fatalf("after org-b's pass %s sealed=%v", k, !attrcrypt.IsUnsealed(it))
		}
	}
	failed := map[string]error{}
	st, err = ad.Migrate(ctx, table.JobInput{Segments: 3, AllSegments: true, PageSize: 5, OnItem: func(r table.ItemReport) {
		if r.Outcome == table.OutcomeUnsealed {
			failed[strOf(r.Key.SK)] = r.Err
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Sealed != 20 || st.AlreadySealed != 20 || st.Unsealed != 3 || st.FullySealed() {
		t.Fatalf("stats %+v", st)
	}
	for k, want := range map[string]error{"no-tenant": table.ErrNotSealed, "no-key": table.ErrKeyMissing, "too-large": table.ErrItemTooLarge} {
		if !errors.Is(failed[k], want) {
			t.Fatalf("%s: %v, want %v", k, failed[k], want)
		}
		if strings.Contains(failed[k].Error(), "secret") {
			t.Fatalf("report of %s prints a value: %v", k, failed[k])
		}
	}
	docs, err := table.New[Doc](e.c, name, keys)
	if err != nil {
		t.Fatal(err)
	}
	for k, it := range docSnapshot(t, e.c, name) {
		if _, bad := failed[k]; bad {
			if !attrcrypt.IsUnsealed(it) {
				t.Fatalf("%s was written", k)
			}
			continue
		}
		org := "org-" + k[:1]
		d, err := docs.For(org).Get(ctx, table.Key{PK: table.S("shared"), SK: table.S(k)})
		if err != nil || d.Body != "secret body "+k[:1] {
			t.Fatalf("%s: %+v, %v", k, d, err)
		}
		if _, ok := it["body"].(*types.AttributeValueMemberB); !ok {
			t.Fatalf("%s: body not encrypted", k)
		}
	}
}

func docSnapshot(t testing.TB, c *dynamodb.Client, name string) map[string]map[string]types.AttributeValue {
	t.Helper()
	return scanBy(t, c, name, func(it map[string]types.AttributeValue) string { return strOf(it["sk"]) })
}

// migrateKillEnv carries TestMigrateKillResume's setup to its child.
const migrateKillEnv = "DYNASEAL_MIGRATE_KILL_CHILD"

// TestMigrateKillChild is the worker TestMigrateKillResume starts and
// kills; it does nothing in a normal run.
func TestMigrateKillChild(t *testing.T) {
	tb, cp := killChild(t, migrateKillEnv)
	if tb == nil {
		return // the child process of TestMigrateKillResume; nothing to do in a normal run
	}
	st, err := tb.Admin().Migrate(context.Background(), table.JobInput{JobID: "migrate-kill", Checkpoints: cp,
		Segments: 2, AllSegments: true, PageSize: 10, RateLimit: 200})
	if err != nil {
		t.Fatal(err)
	}
	printStats(st)
}

// TestMigrateKillResume: a migration run in a child process is killed with
// SIGKILL at random points, several times, and resumed from its file
// checkpoints until it finishes. Every row ends sealed with its content,
// each counted exactly once (Scanned equals the rows), and none sealed
// twice: the write log shows at most one successful seal per row (a row
// sealed just before a kill is found sealed on resume).
func TestMigrateKillResume(t *testing.T) {
	if os.Getenv(migrateKillEnv) != "" {
		t.Skip("in the child")
	}
	e := newEnv(t)
	ctx := context.Background()
	ks, store := newKillSetup(t, e)
	ks.Table = createTable[Patient](t, e, "patients", nil)
	tenants := []string{"k1", "k2", "k3"}
	const rows = 400
	plainFill(t, e.c, ks.Table, rows/len(tenants)+1, tenants...)
	total := len(snapshot(t, e.c, ks.Table))
	h := killHarness{env: migrateKillEnv, child: "TestMigrateKillChild", setup: ks}
	h.killAtRandom(t, 5, 200*time.Millisecond, 500*time.Millisecond, total)
	var st table.MigrateStats
	h.finish(t, &st)
	if st.Scanned != int64(total) || st.Unsealed != 0 || st.Gone != 0 || st.Sealed+st.AlreadySealed != st.Scanned || !st.FullySealed() {
		t.Fatalf("final stats %+v, %d rows", st, total)
	}
	_, okCount := h.writes(t)
	for id, n := range okCount {
		if n > 1 {
			t.Errorf("%s sealed %d times", id, n)
		}
	}
	tb, err := table.New[Patient](e.c, ks.Table, store)
	if err != nil {
		t.Fatal(err)
	}
	for k, it := range snapshot(t, e.c, ks.Table) {
		if attrcrypt.IsUnsealed(it) {
			t.Fatalf("%s missed", k)
		}
		tenant, id, _ := strings.Cut(k, "/")
		p, err := tb.For(tenant).Get(ctx, sk(id))
		if err != nil || p.Name != "n-"+tenant+"-"+id || p.SSN != "123-45-6789" {
			t.Fatalf("%s after the job: %+v, %v", k, p, err)
		}
	}
}

// TestMigrateOutageStopsAndResumes: a checkpointed migration whose writes
// start failing (DynamoDB answering 500 through a fault proxy, beyond the
// SDK's retries) stops with ErrUnavailable instead of counting the row as
// left unsealed and moving past it; resumed, it seals every row, and the
// rows sealed after the failed run's last checkpoint count as already
// sealed, not sealed twice.
func TestMigrateOutageStopsAndResumes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pc, p := proxiedClient(t, 11)
	name := createTable[Patient](t, e, "patients", nil)
	tb, err := table.New[Patient](pc, name, e.store)
	if err != nil {
		t.Fatal(err)
	}
	plainFill(t, e.c, name, 20, "o1", "o2", "o3")
	cp, err := job.NewFileCheckpoints(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	in := table.JobInput{JobID: "outage", Checkpoints: cp, PageSize: 7}
	outage := p.Add(faultproxy.Rule{Operation: "UpdateItem", Skip: 25, Action: faultproxy.Respond, Status: 500,
		Body: `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"boom"}`})
	st, err := tb.Admin().Migrate(ctx, in)
	if !errors.Is(err, table.ErrUnavailable) {
		t.Fatalf("outage: %v, want ErrUnavailable", err)
	}
	if st.Sealed != 25 || st.Unsealed != 0 {
		t.Fatalf("stats at the outage %+v, want the 25 seals before it and nothing left behind", st)
	}
	outage.Remove()
	st, err = tb.Admin().Migrate(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	// Pages of 7: the failed run saved 3 pages (21 rows); rows 22-25 were
	// sealed after that checkpoint and are found sealed on resume.
	if st.Scanned != 60 || st.Sealed != 56 || st.AlreadySealed != 4 || !st.FullySealed() {
		t.Fatalf("resumed stats %+v, want 60 scanned, 56 sealed, 4 already sealed", st)
	}
	for k, it := range snapshot(t, e.c, name) {
		if attrcrypt.IsUnsealed(it) {
			t.Errorf("%s missed", k)
		}
	}
}

// TestSealInPlaceEveryType: the "unchanged" condition holds for rows with
// every DynamoDB type (sets, whose order DynamoDB does not keep, lists,
// maps, BOOL, NULL, binary, numbers in non-canonical text), so such rows
// are sealed and then verify.
func TestSealInPlaceEveryType(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := docs(t, e)
	rawPut(t, e.c, name, map[string]types.AttributeValue{
		"pk": table.S("p"), "sk": table.S("all"), "org": table.S("o1"), "body": table.S("secret"),
		"ss":   &types.AttributeValueMemberSS{Value: []string{"zeta", "alpha", "mid"}},
		"ns":   &types.AttributeValueMemberNS{Value: []string{"10", "1.50", "-3"}},
		"bs":   &types.AttributeValueMemberBS{Value: [][]byte{{3}, {1, 2}}},
		"l":    &types.AttributeValueMemberL{Value: []types.AttributeValue{table.S("x"), &types.AttributeValueMemberN{Value: "0012"}}},
		"m":    &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"b": table.S("1"), "a": &types.AttributeValueMemberBOOL{Value: true}}},
		"flag": &types.AttributeValueMemberBOOL{Value: false},
		"none": &types.AttributeValueMemberNULL{Value: true},
		"bin":  &types.AttributeValueMemberB{Value: []byte{0, 1, 2}},
		"num":  &types.AttributeValueMemberN{Value: "1.500"},
	})
	st, err := tb.Admin().Migrate(ctx, table.JobInput{})
	if err != nil || st.Sealed != 1 {
		t.Fatalf("%+v, %v", st, err)
	}
	d, err := tb.For("o1").Get(ctx, table.Key{PK: table.S("p"), SK: table.S("all")})
	if err != nil || d.Body != "secret" {
		t.Fatalf("%+v, %v", d, err)
	}
}
