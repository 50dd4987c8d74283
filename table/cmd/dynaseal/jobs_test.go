package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest/faultproxy"
	"github.com/dynaseal/dynaseal/table"
)

// seedMany writes n items for each tenant, after creating their keys.
func (f *fixture) seedMany(t *testing.T, n int, tenants ...string) {
	t.Helper()
	for _, tn := range tenants {
		f.run(t, "keys", "create", "--tenant", tn).ok(t, "create "+tn)
		recs := make([]*record, n)
		for i := range recs {
			recs[i] = &record{Tenant: tn, ID: fmt.Sprintf("%s-%03d", tn, i), Name: "name " + tn, Email: "e@x", Plan: "p", Score: i, Tags: []string{"t"}}
		}
		f.write(t, recs...)
	}
}

// versions returns each stored item's key version, by "tenant/id", read
// straight from the table.
func (f *fixture) versions(t *testing.T) map[string]uint32 {
	t.Helper()
	s, err := attrcrypt.NewSealer(attrcrypt.Config{Table: f.table, TenantAttribute: "tenant"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint32{}
	p := dynamodb.NewScanPaginator(f.db, &dynamodb.ScanInput{TableName: aws.String(f.table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			ref, err := s.KeyRef(it)
			if err != nil {
				t.Fatal(err)
			}
			out[ref.Tenant+"/"+it["id"].(*types.AttributeValueMemberS).Value] = ref.Version
		}
	}
	return out
}

// resealedKeys collects the ids of "resealed" item reports (JSON lines).
func resealedKeys(t *testing.T, stdout string, into map[string]int) {
	t.Helper()
	for _, line := range strings.Split(stdout, "\n") {
		if !strings.HasPrefix(line, `{"outcome"`) {
			continue
		}
		r := decodeJSON[itemReportJSON](t, line)
		if r.Outcome == "resealed" {
			into[fmt.Sprint(r.Key["id"])]++
		}
	}
}

// TestReencryptResume stops a one-tenant re-encryption part way (a rate
// limit and a deadline), checks that the same job id does not restart
// without --resume, resumes it, and checks that every item of the tenant
// was resealed exactly once over the two runs and no other tenant's item
// was touched.
func TestReencryptResume(t *testing.T) {
	f := newFixture(t)
	const n = 60
	f.seedMany(t, n, "acme", "globex")
	f.run(t, "keys", "rotate", "--tenant", "acme").ok(t, "rotate acme")
	f.run(t, "keys", "rotate", "--tenant", "globex").ok(t, "rotate globex")
	ckpt := "file://" + filepath.Join(t.TempDir(), "ckpt")
	args := []string{"reencrypt", "--tenant", "acme", "--checkpoint", ckpt, "--job-id", "reenc-acme", "--page-size", "7", "--verbose", "--json", "--progress", "lines"}

	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	first := f.runCtx(ctx, t, append(args, "--rate", "15")...)
	cancel()
	if first.code != exitStopped || !strings.Contains(first.stderr, "--resume") {
		t.Fatalf("first run: exit %d (want %d)\n%s\n%s", first.code, exitStopped, first.stdout, first.stderr)
	}
	seen := map[string]int{}
	resealedKeys(t, first.stdout, seen)
	vs := f.versions(t)
	atV2 := map[string]bool{}
	for i := range n {
		id := fmt.Sprintf("acme-%03d", i)
		if vs["acme/"+id] == 2 {
			atV2[id] = true
		}
	}
	for id := range seen {
		if !atV2[id] {
			t.Errorf("item %s reported resealed but not at version 2", id)
		}
	}
	// The write in flight when the deadline struck may have landed
	// without its report: at most one item.
	if len(atV2) == 0 || len(atV2) == n || len(atV2)-len(seen) > 1 {
		t.Fatalf("after the stop %d of %d items are at version 2, %d reported resealed; want a part", len(atV2), n, len(seen))
	}

	f.run(t, args...).want(t, "same job id without --resume", exitUsage, "--resume")

	second := f.run(t, append(args, "--resume")...).ok(t, "resume")
	seen2 := map[string]int{}
	resealedKeys(t, second.stdout, seen2)
	for id, k := range seen2 {
		if atV2[id] || k != 1 {
			t.Errorf("item %s resealed again on resume (%d times; already at version 2: %v)", id, k, atV2[id])
		}
	}
	if len(atV2)+len(seen2) != n {
		t.Errorf("%d items resealed before the stop and %d after, want %d in all", len(atV2), len(seen2), n)
	}
	vs = f.versions(t)
	for i := range n {
		if v := vs[fmt.Sprintf("acme/acme-%03d", i)]; v != 2 {
			t.Errorf("acme item %d at version %d after the resume", i, v)
		}
		if v := vs[fmt.Sprintf("globex/globex-%03d", i)]; v != 1 {
			t.Errorf("globex item %d at version %d: a one-tenant pass touched another tenant", i, v)
		}
	}
	if !strings.Contains(second.stdout, `"complete": true`) || !strings.Contains(second.stderr, "segment 0/1 done") {
		t.Errorf("resume output:\n%s\n%s", second.stdout, second.stderr)
	}
	// The export after re-encryption still equals what was written.
	exp := f.run(t, "export", "--tenant", "acme").ok(t, "export")
	if strings.Count(exp.stdout, "\n") != n || !strings.Contains(exp.stdout, `"score":59`) {
		t.Errorf("export after reencrypt: %d lines", strings.Count(exp.stdout, "\n"))
	}
	// A finished job resumed again does nothing and reports completion.
	again := f.run(t, append(args, "--resume")...).ok(t, "resume a finished job")
	if strings.Contains(again.stdout, `"outcome"`) {
		t.Errorf("a finished job processed items again:\n%s", again.stdout)
	}
}

// TestReencryptSegments runs four segments as four separate runs (as four
// workers would) and checks that together they reseal every item of every
// tenant exactly once; the text output names the safe retirement floor.
func TestReencryptSegments(t *testing.T) {
	f := newFixture(t)
	f.seedMany(t, 25, "t1", "t2")
	f.run(t, "keys", "rotate", "--tenant", "t1").ok(t, "rotate")
	seen := map[string]int{}
	for seg := range 4 {
		r := f.run(t, "reencrypt", "--segment", fmt.Sprint(seg), "--segments", "4", "--verbose", "--json", "--progress", "none").ok(t, "segment")
		resealedKeys(t, r.stdout, seen)
	}
	if len(seen) != 25 {
		t.Fatalf("%d items resealed by the four segments, want the 25 of t1", len(seen))
	}
	for id, k := range seen {
		if k != 1 || !strings.HasPrefix(id, "t1-") {
			t.Errorf("item %s resealed %d times", id, k)
		}
	}
	r := f.run(t, "reencrypt", "--all-segments", "--segments", "3", "--progress", "bar").ok(t, "all segments")
	if !strings.Contains(r.stdout, "resealed 0") || !strings.Contains(r.stdout, "t1: 2") || !strings.Contains(r.stdout, "--below 2") {
		t.Errorf("second pass:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "\r") || !strings.Contains(r.stderr, "reencrypt") {
		t.Errorf("no progress bar on stderr: %q", r.stderr)
	}
	f.run(t, "reencrypt", "--segment", "4", "--segments", "4").want(t, "segment out of range", exitUsage, "--segment")
	f.run(t, "reencrypt", "--job-id", "x").want(t, "job id without checkpoint", exitUsage, "--checkpoint")
	f.run(t, "reencrypt", "--checkpoint", "s3://x", "--job-id", "x").want(t, "bad checkpoint", exitUsage, "file://")
}

// TestSweepAndPurge: sweep reports a tampered and the stale items by key
// and exits 1; purge refuses a live tenant and without --yes, then deletes
// every item of a shredded tenant and nothing else.
func TestSweepAndPurge(t *testing.T) {
	f := newFixture(t)
	f.seedMany(t, 10, "live", "gone")
	f.run(t, "keys", "rotate", "--tenant", "live").ok(t, "rotate")
	f.tamper(t, "gone", "gone-003", "plan", &types.AttributeValueMemberS{Value: "edited"})

	r := f.run(t, "sweep", "--json", "--progress", "none", "--all-segments", "--segments", "4")
	if r.code != exitFailed {
		t.Fatalf("sweep: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	outcomes := map[string]int{}
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, `{"outcome"`) {
			ir := decodeJSON[itemReportJSON](t, line)
			outcomes[ir.Outcome]++
			if ir.Outcome == "tampered" && ir.Key["id"] != "gone-003" {
				t.Errorf("tampered report for %v", ir.Key)
			}
		}
	}
	if outcomes["tampered"] != 1 || outcomes["stale"] != 10 || len(outcomes) != 2 || strings.Contains(r.stdout, "edited") {
		t.Errorf("sweep reports %v:\n%s", outcomes, r.stdout)
	}
	if !strings.Contains(r.stdout, `"current": 9`) {
		t.Errorf("sweep stats:\n%s", r.stdout)
	}

	f.run(t, "purge", "--tenant", "gone").want(t, "purge without --yes", exitUsage, "--yes")
	f.run(t, "purge", "--tenant", "gone", "--yes").want(t, "purge a live tenant", exitFailed, "not shredded")
	f.run(t, "keys", "shred", "--tenant", "gone", "--yes").ok(t, "shred")
	p := f.run(t, "purge", "--tenant", "gone", "--yes", "--progress", "none").ok(t, "purge")
	if !strings.Contains(p.stdout, "deleted 10") {
		t.Errorf("purge:\n%s", p.stdout)
	}
	vs := f.versions(t)
	if len(vs) != 10 {
		t.Errorf("%d items left after the purge, want the 10 of the live tenant", len(vs))
	}
	for k := range vs {
		if !strings.HasPrefix(k, "live/") {
			t.Errorf("item %s left after the purge", k)
		}
	}
}

// TestMigrate adopts plaintext items written without dynaseal: a tenant
// without a key is reported and left unsealed (exit 1) until --create-keys;
// afterwards the application reads every item verified, with the values
// written, and inspect shows the encrypted and plain attributes.
func TestMigrate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.run(t, "keys", "create", "--tenant", "old").ok(t, "create")
	put := func(tenant, id, name string) {
		_, err := f.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(f.table), Item: map[string]types.AttributeValue{
			"tenant": &types.AttributeValueMemberS{Value: tenant}, "id": &types.AttributeValueMemberS{Value: id},
			"name": &types.AttributeValueMemberS{Value: name}, "email": &types.AttributeValueMemberS{Value: name + "@x"},
			"plan": &types.AttributeValueMemberS{Value: "basic"}, "score": &types.AttributeValueMemberN{Value: "3"},
			"tags": &types.AttributeValueMemberSS{Value: []string{"a", "b"}}, "seen": &types.AttributeValueMemberN{Value: "5"},
			"v": &types.AttributeValueMemberN{Value: "1"},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 12 {
		put("old", fmt.Sprintf("o%02d", i), fmt.Sprintf("person %d", i))
		put("new", fmt.Sprintf("n%02d", i), fmt.Sprintf("newcomer %d", i))
	}
	args := []string{"migrate", "--encrypt", "name,email", "--plain", "seen", "--json", "--progress", "none"}
	r := f.run(t, args...)
	if r.code != exitFailed || strings.Count(r.stdout, `"outcome":"unsealed"`) != 12 || !strings.Contains(r.stdout, `"sealed": 12`) {
		t.Fatalf("migrate without keys for tenant new: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = f.run(t, append(args, "--create-keys")...).ok(t, "migrate --create-keys")
	if !strings.Contains(r.stdout, `"sealed": 12`) || !strings.Contains(r.stdout, `"alreadySealed": 12`) || !strings.Contains(r.stdout, `"unsealed": 0`) {
		t.Fatalf("second pass:\n%s", r.stdout)
	}
	for i := range 12 {
		for _, k := range []struct{ tenant, id, name string }{{"old", fmt.Sprintf("o%02d", i), fmt.Sprintf("person %d", i)}, {"new", fmt.Sprintf("n%02d", i), fmt.Sprintf("newcomer %d", i)}} {
			got, err := f.recs.For(k.tenant).Get(ctx, table.SortKey(&types.AttributeValueMemberS{Value: k.id}))
			if err != nil {
				t.Fatalf("%s/%s after migrate: %v", k.tenant, k.id, err)
			}
			if got.Name != k.name || got.Email != k.name+"@x" || got.Seen != 5 || got.Score != 3 || got.Version != 1 {
				t.Errorf("%s/%s reads %+v", k.tenant, k.id, got)
			}
		}
	}
	in := decodeJSON[inspectJSON](t, f.run(t, "inspect", "--pk", "new", "--sk", "n03", "--json").ok(t, "inspect").stdout)
	if in.Covered[0] != (coveredJSON{"email", "encrypt"}) || in.Covered[2] != (coveredJSON{"name", "encrypt"}) || in.Plain[0] != "seen" {
		t.Errorf("inspect after migrate: %+v", in)
	}
	f.run(t, "migrate", "--encrypt", "tenant").want(t, "encrypting the tenant", exitUsage, "tenant")
	f.run(t, "migrate", "--encrypt", "name", "--plain", "name").want(t, "listed twice", exitUsage, "twice")

	// The same actions from a schema file: sweep finds no drift; a file
	// that no longer encrypts email reports every item as drifted.
	dir := t.TempDir()
	spec := func(name, email string) string {
		p := filepath.Join(dir, email+".json")
		body := `{"partitionKey":"tenant","sortKey":"id","tenant":"tenant","version":"v","attributes":{"name":"` + name + `","email":"` + email + `","seen":"plain"}}`
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	r = f.run(t, "sweep", "--schema", spec("encrypt", "encrypt"), "--json", "--progress", "none").ok(t, "sweep with the schema")
	if !strings.Contains(r.stdout, `"current": 24`) || !strings.Contains(r.stdout, `"drift": 0`) {
		t.Errorf("sweep with the migration's schema:\n%s", r.stdout)
	}
	r = f.run(t, "sweep", "--schema", spec("encrypt", "sign"), "--json", "--progress", "none").ok(t, "sweep with another schema")
	if !strings.Contains(r.stdout, `"drift": 24`) || strings.Count(r.stdout, `"outcome":"drift"`) != 24 {
		t.Errorf("sweep with a schema that signs email:\n%s", r.stdout)
	}
	f.run(t, "migrate", "--schema", spec("encrypt", "encrypt"), "--encrypt", "name").want(t, "schema and flags", exitUsage, "not both")
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"partitionKey":"id","tenant":"tenant"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f.run(t, "migrate", "--schema", bad).want(t, "schema of another table", exitUsage, "partition key")
}

// TestCheckpointsInDynamoDB: the checkpoint table made by the command holds
// a two-segment sweep's checkpoints; show reports both segments done, and a
// resume of the finished job reads nothing again.
func TestCheckpointsInDynamoDB(t *testing.T) {
	f := newFixture(t)
	f.seedMany(t, 8, "c1")
	name := strings.ReplaceAll(t.Name(), "/", "-") + "-ckpt"
	spec := "dynamodb://" + name
	if r := f.run(t, "checkpoints", "create-table", "--checkpoint", spec, "--json").ok(t, "create-table"); !strings.Contains(r.stdout, `"table": "`+name+`"`) {
		t.Errorf("create-table printed %s", r.stdout)
	}
	t.Cleanup(func() {
		_, _ = f.db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	for seg := range 2 {
		f.run(t, "sweep", "--segment", fmt.Sprint(seg), "--segments", "2", "--checkpoint", spec, "--job-id", "sw-1", "--page-size", "3").ok(t, "sweep")
	}
	show := decodeJSON[[]segmentJSON](t, f.run(t, "checkpoints", "show", "--checkpoint", spec, "--job-id", "sw-1", "--segments", "2", "--json").ok(t, "show").stdout)
	if len(show) != 2 || !show[0].Done || !show[1].Done || show[0].Scanned+show[1].Scanned != 8 || show[0].Counts["scanned"]+show[1].Counts["scanned"] != 8 {
		t.Fatalf("show: %+v", show)
	}
	text := f.run(t, "checkpoints", "show", "--checkpoint", spec, "--job-id", "sw-1", "--segments", "3").ok(t, "show text").stdout
	if strings.Count(text, ": done") != 2 || !strings.Contains(text, "segment 2: not started") {
		t.Errorf("show text:\n%s", text)
	}
	f.run(t, "sweep", "--segment", "0", "--segments", "2", "--checkpoint", spec, "--job-id", "sw-1").want(t, "reuse without --resume", exitUsage, "--resume")
	r := f.run(t, "sweep", "--segment", "0", "--segments", "2", "--checkpoint", spec, "--job-id", "sw-1", "--resume", "--json").ok(t, "resume finished")
	if !strings.Contains(r.stdout, `"complete": true`) {
		t.Errorf("resume of a finished segment:\n%s", r.stdout)
	}
	// Another pass under the same id is refused by the job framework.
	f.run(t, "reencrypt", "--segment", "0", "--segments", "2", "--checkpoint", spec, "--job-id", "sw-1", "--resume").want(t, "other pass", exitFailed, "another pass")
}

// TestReencryptOutage: DynamoDB answers 500 to every read after the first
// pages (beyond the SDK's retries); the checkpointed job stops with exit 1
// and says to resume, nothing is skipped, and --resume finishes the pass
// with every item resealed once.
func TestReencryptOutage(t *testing.T) {
	f := newFixture(t)
	f.seedMany(t, 30, "out")
	f.run(t, "keys", "rotate", "--tenant", "out").ok(t, "rotate")
	p, err := faultproxy.New(f.endpoint, faultproxy.WithSeed(1))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	rule := faultproxy.ServerError("Query", 500, "InternalServerError")
	rule.Skip = 2
	h := p.Add(rule)
	args := []string{"reencrypt", "--endpoint-url", p.URL(), "--tenant", "out", "--page-size", "5",
		"--checkpoint", "file://" + filepath.Join(t.TempDir(), "ckpt"), "--job-id", "out-1", "--verbose", "--json", "--progress", "none"}
	r := f.run(t, args...)
	if r.code != exitFailed || !strings.Contains(r.stderr, "--resume") || h.Fired() == 0 || !strings.Contains(r.stdout, `"complete": false`) {
		t.Fatalf("outage: exit %d, fired %d\n%s\n%s", r.code, h.Fired(), r.stdout, r.stderr)
	}
	seen := map[string]int{}
	resealedKeys(t, r.stdout, seen)
	if len(seen) != 10 {
		t.Errorf("%d items resealed before the outage, want the 10 of the two pages read", len(seen))
	}
	h.Remove()
	r = f.run(t, append(args, "--resume")...).ok(t, "resume after the outage")
	resealedKeys(t, r.stdout, seen)
	if len(seen) != 30 {
		t.Errorf("%d items resealed in all, want 30", len(seen))
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("%s resealed %d times", id, k)
		}
	}
}
