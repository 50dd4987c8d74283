package table_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/table/job"
)

// countingClient counts the DynamoDB calls of a job, and can run a hook
// before a DeleteItem is sent.
type countingClient struct {
	*dynamodb.Client
	scans, queries, updates, puts, deletes atomic.Int64
	beforeDelete                           func(in *dynamodb.DeleteItemInput)
}

func (c *countingClient) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	c.scans.Add(1)
	return c.Client.Scan(ctx, in, o...)
}

func (c *countingClient) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.queries.Add(1)
	return c.Client.Query(ctx, in, o...)
}

func (c *countingClient) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.updates.Add(1)
	return c.Client.UpdateItem(ctx, in, o...)
}

func (c *countingClient) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.puts.Add(1)
	return c.Client.PutItem(ctx, in, o...)
}

func (c *countingClient) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.deletes.Add(1)
	if c.beforeDelete != nil {
		c.beforeDelete(in)
	}
	return c.Client.DeleteItem(ctx, in, o...)
}

// headerVersion is the key version a stored item's header names (class "").
func headerVersion(t testing.TB, item map[string]types.AttributeValue) uint32 {
	t.Helper()
	return binary.BigEndian.Uint32(bval(t, item[hdr])[2:])
}

// fill creates n patients for each tenant, named n-<tenant>-<i>.
func fill(t testing.TB, tb *table.Table[Patient], n int, tenants ...string) {
	t.Helper()
	for _, tenant := range tenants {
		for i := range n {
			id := fmt.Sprintf("p%04d", i)
			if err := tb.For(tenant).Create(context.Background(), &Patient{Tenant: tenant, ID: id, Name: "n-" + tenant + "-" + id, SSN: "123-45-6789"}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// snapshot returns every stored item of a table by "tenant/id".
func snapshot(t testing.TB, c *dynamodb.Client, name string) map[string]map[string]types.AttributeValue {
	t.Helper()
	return scanBy(t, c, name, func(it map[string]types.AttributeValue) string { return sval(it["tenant"]) + "/" + sval(it["id"]) })
}

// scanBy returns every stored item of a table (strongly consistent) by
// the name key gives it.
func scanBy(t testing.TB, c *dynamodb.Client, name string, key func(map[string]types.AttributeValue) string) map[string]map[string]types.AttributeValue {
	t.Helper()
	out := map[string]map[string]types.AttributeValue{}
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String(name), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		pg, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range pg.Items {
			out[key(it)] = it
		}
	}
	return out
}

func sval(av types.AttributeValue) string {
	if s, ok := av.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

func reportKey(r table.ItemReport) string { return r.Tenant + "/" + sval(r.Key.SK) }

// TestReEncryptOneTenant: re-encrypting one tenant reads its partition with
// Query (no Scan), reseals exactly its stale items, and leaves every other
// tenant's items byte for byte as they were, though they are stale too.
func TestReEncryptOneTenant(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cc := &countingClient{Client: e.c}
	name := createTable[Patient](t, e, "patients", nil)
	tb, err := table.New[Patient](cc, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, tb, 7, "tenant-a", "tenant-b", "tenant-c")
	for _, tenant := range []string{"tenant-a", "tenant-b"} {
		if _, err := e.store.Rotate(ctx, tenant, ""); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, e.c, name)
	cc.scans.Store(0)
	var reports []table.ItemReport
	st, err := tb.Admin().ReEncrypt(ctx, table.JobInput{Tenant: "tenant-a", PageSize: 3, OnItem: func(r table.ItemReport) { reports = append(reports, r) }})
	if err != nil {
		t.Fatal(err)
	}
	if cc.scans.Load() != 0 || cc.queries.Load() < 3 {
		t.Fatalf("%d scans, %d queries: a one-tenant pass must query its partition", cc.scans.Load(), cc.queries.Load())
	}
	if st.Scanned != 7 || st.Resealed != 7 || st.Current != 0 || st.Failed != 0 || !maps1(st.SafeFloor, "tenant-a", 2) {
		t.Fatalf("stats %+v", st)
	}
	if len(reports) != 7 {
		t.Fatalf("%d reports, want one per resealed item", len(reports))
	}
	after := snapshot(t, e.c, name)
	for k, it := range after {
		switch {
		case strings.HasPrefix(k, "tenant-a/"):
			if headerVersion(t, it) != 2 {
				t.Errorf("%s not resealed", k)
			}
			p, err := tb.For("tenant-a").Get(ctx, sk(sval(it["id"])))
			if err != nil || p.Name != "n-"+k[:8]+"-"+sval(it["id"]) {
				t.Errorf("%s after reseal: %v", k, err)
			}
		default:
			if !attrsEqual(before[k], it) {
				t.Errorf("%s of another tenant was written", k)
			}
		}
	}
}

func maps1(m map[string]uint32, k string, v uint32) bool { return len(m) == 1 && m[k] == v }

func attrsEqual(a, b map[string]types.AttributeValue) bool {
	return bytesOf(a[attrcrypt.SignatureAttribute]) == bytesOf(b[attrcrypt.SignatureAttribute]) &&
		bytesOf(a[hdr]) == bytesOf(b[hdr]) && len(a) == len(b)
}

func bytesOf(av types.AttributeValue) string {
	if b, ok := av.(*types.AttributeValueMemberB); ok {
		return string(b.Value)
	}
	return ""
}

// TestReEncryptTenantIndex: where the tenant is not the partition key, one
// tenant is read through a declared tenant index; with no such index the
// job refuses with ErrNeedsTenantIndex unless a filtered scan is accepted.
func TestReEncryptTenantIndex(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cc := &countingClient{Client: e.c}
	name := createTable[Doc](t, e, "docs", func(in *dynamodb.CreateTableInput) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String("org"), AttributeType: types.ScalarAttributeTypeS})
		in.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{gsi("by-org", "org", "", types.Projection{ProjectionType: types.ProjectionTypeKeysOnly})}
	})
	ix := table.Index{Name: "by-org", PartitionKey: "org", Projection: types.ProjectionTypeKeysOnly}
	tb, err := table.New[Doc](cc, name, e.rec, table.WithIndex(ix))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := table.New[Doc](cc, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, org := range []string{"o1", "o2"} {
		for i := range 5 {
			if err := tb.For(org).Put(ctx, &Doc{PK: fmt.Sprintf("doc#%s#%d", org, i), SK: "v", Org: org, Body: "b"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.store.Rotate(ctx, org, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := plain.Admin().ReEncrypt(ctx, table.JobInput{Tenant: "o1"}); !errors.Is(err, table.ErrNeedsTenantIndex) {
		t.Fatalf("no tenant index: %v, want ErrNeedsTenantIndex", err)
	}
	if cc.scans.Load()+cc.queries.Load() != 0 {
		t.Fatal("the refused job read the table")
	}
	st, err := tb.Admin().ReEncrypt(ctx, table.JobInput{Tenant: "o1", PageSize: 2})
	if err != nil || st.Resealed != 5 || st.Scanned != 5 {
		t.Fatalf("through the index: %+v, %v", st, err)
	}
	if cc.scans.Load() != 0 {
		t.Fatal("the index pass scanned the table")
	}
	if _, err := tb.Admin().ReEncrypt(ctx, table.JobInput{Tenant: "o1", Segments: 2}); !errors.Is(err, table.ErrInvalidJob) {
		t.Fatalf("segmented query: %v, want ErrInvalidJob", err)
	}
	st, err = plain.Admin().ReEncrypt(ctx, table.JobInput{Tenant: "o2", ScanTenant: true, Segments: 2, AllSegments: true})
	if err != nil || st.Resealed != 5 || st.Scanned != 5 || cc.scans.Load() < 2 {
		t.Fatalf("filtered scan: %+v, %v (%d scans)", st, err, cc.scans.Load())
	}
	st, err = plain.Admin().ReEncrypt(ctx, table.JobInput{})
	if err != nil || st.Current != 10 || st.Resealed != 0 {
		t.Fatalf("whole table afterwards: %+v, %v", st, err)
	}
	// Purge through the keys-only index: every item whose tenant attribute
	// is o1, including a claim-like item of another shape, and nothing of o2.
	rawPut(t, e.c, name, map[string]types.AttributeValue{"pk": table.S("claim#o1#x"), "sk": table.S("c"), "org": table.S("o1")})
	if err := e.store.Shred(ctx, "o1"); err != nil {
		t.Fatal(err)
	}
	cc.scans.Store(0)
	ps, err := tb.Admin().Purge(ctx, table.JobInput{Tenant: "o1"})
	if err != nil || ps != (table.PurgeStats{Scanned: 6, Deleted: 6}) || cc.scans.Load() != 0 {
		t.Fatalf("purge through the index: %+v, %v, %d scans", ps, err, cc.scans.Load())
	}
	left := 0
	for _, err := range plain.Scan(ctx, table.ScanInput{ConsistentRead: true}) {
		if err != nil {
			t.Fatal(err)
		}
		left++
	}
	if left != 5 {
		t.Fatalf("%d items left, want o2's 5", left)
	}
}

// TestJobSegmentsCoverTableOnce: four workers, each with its own handle
// and its segment of four, run at the same time and together reseal every
// item exactly once; checkpoints mark each segment done, and running the
// pass again does nothing.
func TestJobSegmentsCoverTableOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tb, name := patients(t, e)
	tenants := []string{"t1", "t2", "t3", "t4", "t5"}
	fill(t, tb, 40, tenants...)
	for _, tenant := range tenants {
		if _, err := e.store.Rotate(ctx, tenant, ""); err != nil {
			t.Fatal(err)
		}
	}
	ckName := itest.NewTable(t, e.c, job.CheckpointTableInput("ck"))
	sch, err := schema.For[Patient]()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string][]int{}
	var wg sync.WaitGroup
	stats := make([]table.ReEncryptStats, 4)
	for seg := range 4 {
		wg.Go(func() {
			ad, err := table.NewAdmin(itest.DynamoDB(t), name, e.store, sch)
			if err != nil {
				t.Error(err)
				return
			}
			st, err := ad.ReEncrypt(ctx, table.JobInput{
				Segment: seg, Segments: 4, PageSize: 7, JobID: "cover", Checkpoints: job.NewDynamoDBCheckpoints(itest.DynamoDB(t), ckName),
				OnItem: func(r table.ItemReport) {
					mu.Lock()
					seen[reportKey(r)] = append(seen[reportKey(r)], seg)
					mu.Unlock()
				},
			})
			if err != nil {
				t.Error(err)
			}
			stats[seg] = st
		})
	}
	wg.Wait()
	var total int64
	for _, st := range stats {
		total += st.Resealed
		if st.Failed != 0 || st.Current != 0 {
			t.Errorf("segment stats %+v", st)
		}
	}
	if total != 200 || len(seen) != 200 {
		t.Fatalf("%d resealed, %d distinct items reported; want 200 and 200", total, len(seen))
	}
	for k, segs := range seen {
		if len(segs) != 1 {
			t.Errorf("%s processed by segments %v", k, segs)
		}
	}
	for k, it := range snapshot(t, e.c, name) {
		if headerVersion(t, it) != 2 {
			t.Errorf("%s missed", k)
		}
	}
	// Resuming finished segments reads nothing and reports the saved counts.
	cc := &countingClient{Client: e.c}
	ad, err := table.NewAdmin(cc, name, e.store, sch)
	if err != nil {
		t.Fatal(err)
	}
	st, err := ad.ReEncrypt(ctx, table.JobInput{Segments: 4, AllSegments: true, JobID: "cover", Checkpoints: job.NewDynamoDBCheckpoints(e.c, ckName)})
	if err != nil || st.Resealed != 200 || cc.scans.Load() != 0 {
		t.Fatalf("rerun of a finished job: %+v, %v, %d scans", st, err, cc.scans.Load())
	}
	if len(st.SafeFloor) != 5 || st.SafeFloor["t3"] != 2 {
		t.Fatalf("SafeFloor %v", st.SafeFloor)
	}
}

// PatientPlanEnc is Patient as a later program version has it: plan encrypted.
type PatientPlanEnc struct {
	Tenant  string `dynamodbav:"tenant" seal:"pk,tenant"`
	ID      string `dynamodbav:"id"     seal:"sk"`
	Name    string `dynamodbav:"name"   seal:"encrypt"`
	SSN     string `dynamodbav:"ssn"    seal:"encrypt"`
	Notes   string `dynamodbav:"notes"  seal:"encrypt"`
	Plan    string `dynamodbav:"plan"   seal:"encrypt"`
	Status  string `dynamodbav:"status,omitempty"`
	Count   int    `dynamodbav:"count"`
	Seen    int64  `dynamodbav:"seen"   seal:"plain"`
	Version int64  `dynamodbav:"v"      seal:"version"`
}

// TestSweepReportsEachKind: a sweep writes nothing and reports, by key and
// kind, each tampered, unverifiable, stale and drifted item, and counts
// the current ones; its reports carry no value of any item.
func TestSweepReportsEachKind(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	name := createTable[Patient](t, e, "patients", nil)
	v1, err := table.New[Patient](e.c, name, e.store)
	if err != nil {
		t.Fatal(err)
	}
	cc := &countingClient{Client: e.c}
	v2, err := table.New[PatientPlanEnc](cc, name, e.store)
	if err != nil {
		t.Fatal(err)
	}
	put2 := func(tenant, id string) {
		if err := v2.For(tenant).Put(ctx, &PatientPlanEnc{Tenant: tenant, ID: id, Name: "secret-name", Plan: "secret-plan"}); err != nil {
			t.Fatal(err)
		}
	}
	put2("a", "current1")
	put2("a", "current2")
	for _, id := range []string{"drift1", "drift2"} {
		if err := v1.For("a").Put(ctx, &Patient{Tenant: "a", ID: id, Name: "secret-name", Plan: "secret-plan"}); err != nil {
			t.Fatal(err)
		}
	}
	put2("a", "tampered")
	it := rawGet(t, e.c, name, pkey("a", "tampered"))
	it["count"] = &types.AttributeValueMemberN{Value: "99"}
	rawPut(t, e.c, name, it)
	put2("b", "stale1")
	put2("b", "stale2")
	if _, err := e.store.Rotate(ctx, "b", ""); err != nil {
		t.Fatal(err)
	}
	put2("c", "retired")
	if _, err := e.store.Rotate(ctx, "c", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Retire(ctx, "c", "", 2); err != nil {
		t.Fatal(err)
	}
	writes := func() int64 { return cc.updates.Load() + cc.puts.Load() + cc.deletes.Load() }
	before := writes()
	got := map[string]table.Outcome{}
	var mu sync.Mutex
	st, err := v2.Admin().Sweep(ctx, table.JobInput{PageSize: 2, Segments: 3, AllSegments: true, OnItem: func(r table.ItemReport) {
		if r.Err != nil && (strings.Contains(r.Err.Error(), "secret") || strings.Contains(fmt.Sprintf("%+v", r), "secret")) {
			t.Errorf("report carries a value: %v", r.Err)
		}
		mu.Lock()
		got[reportKey(r)] = r.Outcome
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]table.Outcome{
		"a/drift1": table.OutcomeDrift, "a/drift2": table.OutcomeDrift, "a/tampered": table.OutcomeTampered,
		"b/stale1": table.OutcomeStale, "b/stale2": table.OutcomeStale, "c/retired": table.OutcomeUnverifiable,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("reports %v, want %v", got, want)
	}
	if st != (table.SweepStats{Scanned: 8, Current: 2, Stale: 2, Drift: 2, Tampered: 1, Unverifiable: 1}) {
		t.Fatalf("stats %+v", st)
	}
	if n := writes() - before; n != 0 {
		t.Fatalf("the sweep wrote %d times", n)
	}
	// Without the drift check (a tool with keys-only schema), the drifted
	// items count as current.
	st, err = v2.Admin().Sweep(ctx, table.JobInput{SkipDrift: true})
	if err != nil || st.Drift != 0 || st.Current != 4 || st.Stale != 2 || st.Tampered != 1 {
		t.Fatalf("SkipDrift: %+v, %v", st, err)
	}
	// One tenant only: b's stale items, through its partition.
	got = map[string]table.Outcome{}
	st, err = v2.Admin().Sweep(ctx, table.JobInput{Tenant: "b", OnItem: func(r table.ItemReport) { got[reportKey(r)] = r.Outcome }})
	if err != nil || st.Scanned != 2 || st.Stale != 2 || len(got) != 2 {
		t.Fatalf("tenant b: %+v, %v, %v", st, got, err)
	}
}

// TestPurge: Purge refuses a live tenant; after a shred it deletes every
// item of the tenant (sealed ones and items without a dynaseal header, such
// as claim items) and nothing of another tenant; after ReopenAfterShred it
// keeps the tenant's new items, including one re-created between the
// purge's read and its delete.
func TestPurge(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cc := &countingClient{Client: e.c}
	name := createTable[Patient](t, e, "patients", nil)
	tb, err := table.New[Patient](cc, name, e.store)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, tb, 6, "gone", "stays")
	rawPut(t, e.c, name, map[string]types.AttributeValue{"tenant": table.S("gone"), "id": table.S("claim#email#x"), "owner": table.S("p0001")})
	ad := tb.Admin()
	if _, err := ad.Purge(ctx, table.JobInput{Tenant: "gone"}); !errors.Is(err, table.ErrTenantNotShredded) {
		t.Fatalf("purge of a live tenant: %v, want ErrTenantNotShredded", err)
	}
	if _, err := ad.Purge(ctx, table.JobInput{}); !errors.Is(err, table.ErrNoTenant) {
		t.Fatalf("purge without a tenant: %v", err)
	}
	if cc.deletes.Load() != 0 {
		t.Fatal("a refused purge deleted")
	}
	if err := e.store.Shred(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	deleted := 0
	st, err := ad.Purge(ctx, table.JobInput{Tenant: "gone", PageSize: 4, OnItem: func(r table.ItemReport) {
		if r.Outcome == table.OutcomeDeleted && r.Tenant == "gone" {
			deleted++
		}
	}})
	if err != nil || st != (table.PurgeStats{Scanned: 7, Deleted: 7}) || deleted != 7 {
		t.Fatalf("purge: %+v, %v, %d reported", st, err, deleted)
	}
	left := snapshot(t, e.c, name)
	for k := range left {
		if !strings.HasPrefix(k, "stays/") {
			t.Errorf("%s left", k)
		}
	}
	if len(left) != 6 {
		t.Fatalf("%d items left, want the other tenant's 6", len(left))
	}
	for i := range 6 {
		if _, err := tb.For("stays").Get(ctx, sk(fmt.Sprintf("p%04d", i))); err != nil {
			t.Fatal(err)
		}
	}

	// Reopened: new items are kept. An item re-created between the purge's
	// read of an old item and its delete is judged again, and kept.
	fill(t, tb, 3, "gone2")
	if err := e.store.Shred(ctx, "gone2"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.ReopenAfterShred(ctx, "gone2"); err != nil {
		t.Fatal(err)
	}
	if err := tb.For("gone2").Put(ctx, &Patient{Tenant: "gone2", ID: "new1", Name: "after reopen"}); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	cc.beforeDelete = func(in *dynamodb.DeleteItemInput) {
		if sval(in.Key["id"]) != "p0000" {
			return
		}
		once.Do(func() {
			item, err := table.SealForTest(ctx, tb.For("gone2"), &Patient{Tenant: "gone2", ID: "p0000", Name: "re-created"})
			if err != nil {
				t.Error(err)
				return
			}
			rawPut(t, e.c, name, item)
		})
	}
	kept := map[string]bool{}
	st, err = ad.Purge(ctx, table.JobInput{Tenant: "gone2", OnItem: func(r table.ItemReport) {
		if r.Outcome == table.OutcomeKept {
			kept[reportKey(r)] = true
		}
	}})
	if err != nil || st != (table.PurgeStats{Scanned: 4, Deleted: 2, Kept: 2}) || !kept["gone2/p0000"] || !kept["gone2/new1"] {
		t.Fatalf("purge after reopen: %+v, %v, kept %v", st, err, kept)
	}
	for _, id := range []string{"p0000", "new1"} {
		if _, err := tb.For("gone2").Get(ctx, sk(id)); err != nil {
			t.Errorf("%s after purge: %v", id, err)
		}
	}
}
