package table_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// killEnv carries the kill test's setup to its child process.
const killEnv = "DYNASEAL_JOB_KILL_CHILD"

type killSetup struct {
	Table, KeyStore, Master, Checkpoints, Log string
}

// loggingClient appends "send <id>" before and "ok <id>" after every
// UpdateItem (a reseal's write) to a file that survives kill -9.
type loggingClient struct {
	*dynamodb.Client
	mu  sync.Mutex
	log *os.File
}

func (c *loggingClient) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	id := strOf(in.Key["tenant"]) + "/" + strOf(in.Key["id"])
	c.write("send " + id)
	out, err := c.Client.UpdateItem(ctx, in, o...)
	if err == nil {
		c.write("ok " + id)
	}
	return out, err
}

func (c *loggingClient) write(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.log.WriteString(line + "\n"); err != nil {
		panic(err)
	}
}

func killKeyStore(c *dynamodb.Client, ksTable, master string) (*tenantkeys.Store, error) {
	kr, err := tenantkeys.ParseKeyring([]byte("m1 " + master))
	if err != nil {
		return nil, err
	}
	return tenantkeys.NewDynamoDBStore(c, ksTable, kr, tenantkeys.WithCreateOnFirstUse(true)), nil
}

// TestJobKillChild is the worker TestJobKillResume starts and kills; it
// does nothing in a normal run.
func TestJobKillChild(t *testing.T) {
	tb, cp := killChild(t, killEnv)
	if tb == nil {
		return // the child process of TestJobKillResume; nothing to do in a normal run
	}
	st, err := tb.Admin().ReEncrypt(context.Background(), table.JobInput{JobID: "kill", Checkpoints: cp, PageSize: 10, RateLimit: 150})
	if err != nil {
		t.Fatal(err)
	}
	printStats(st)
}

// TestJobKillResume: a re-encryption run in a child process is killed with
// SIGKILL at random points, several times, and resumed from its file
// checkpoints until it finishes. Every item ends resealed under the
// current key with its content intact, none is missed, and none is written
// twice: the write log shows at most one successful reseal per item (an
// item resealed just before a kill is found current on resume).
func TestJobKillResume(t *testing.T) {
	if os.Getenv(killEnv) != "" {
		t.Skip("in the child")
	}
	e := newEnv(t)
	ctx := context.Background()
	ks, store := newKillSetup(t, e)
	ks.Table = createTable[Patient](t, e, "patients", nil)
	tb, err := table.New[Patient](e.c, ks.Table, store)
	if err != nil {
		t.Fatal(err)
	}
	tenants := []string{"k1", "k2", "k3"}
	fill(t, tb, 100, tenants...)
	for _, tenant := range tenants {
		if _, err := store.Rotate(ctx, tenant, ""); err != nil {
			t.Fatal(err)
		}
	}
	h := killHarness{env: killEnv, child: "TestJobKillChild", setup: ks}
	h.killAtRandom(t, 5, 300*time.Millisecond, 900*time.Millisecond, 300)
	var st table.ReEncryptStats
	h.finish(t, &st)
	if st.Scanned < 300 || st.Failed != 0 || st.Resealed+st.Current != st.Scanned || st.SafeFloor["k1"] != 2 {
		t.Fatalf("final stats %+v", st)
	}
	// The write log: no item resealed twice; every item without a logged
	// success was in flight when a child died (its write may have landed).
	sends, okCount := h.writes(t)
	inFlight := 0
	for id, n := range okCount {
		if n > 1 {
			t.Errorf("%s resealed %d times", id, n)
		}
	}
	for id := range sends {
		if okCount[id] == 0 {
			inFlight++
		}
	}
	if inFlight > 5 {
		t.Errorf("%d items sent without a logged success, more than the 5 kills explain", inFlight)
	}
	items := snapshot(t, e.c, ks.Table)
	if len(items) != 300 {
		t.Fatalf("%d items, want 300", len(items))
	}
	for k, it := range items {
		if headerVersion(t, it) != 2 {
			t.Errorf("%s missed (version %d)", k, headerVersion(t, it))
		}
	}
	for _, tenant := range tenants {
		for i := range 100 {
			id := fmt.Sprintf("p%04d", i)
			p, err := tb.For(tenant).Get(ctx, sk(id))
			if err != nil || p.Name != "n-"+tenant+"-"+id || p.SSN != "123-45-6789" {
				t.Fatalf("%s/%s after the job: %v", tenant, id, err)
			}
		}
	}
}
