package table_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/table/job"
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
	id := sval(in.Key["tenant"]) + "/" + sval(in.Key["id"])
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
	raw := os.Getenv(killEnv)
	if raw == "" {
		t.Skip("child process of TestJobKillResume")
	}
	var ks killSetup
	if err := json.Unmarshal([]byte(raw), &ks); err != nil {
		t.Fatal(err)
	}
	c := itest.NewDynamoDBClient(os.Getenv("DYNAMODB_ENDPOINT"))
	store, err := killKeyStore(c, ks.KeyStore, ks.Master)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(ks.Log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tb, err := table.New[Patient](&loggingClient{Client: c, log: f}, ks.Table, store)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := job.NewFileCheckpoints(ks.Checkpoints)
	if err != nil {
		t.Fatal(err)
	}
	st, err := tb.Admin().ReEncrypt(context.Background(), table.JobInput{JobID: "kill", Checkpoints: cp, PageSize: 10, RateLimit: 150})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(st)
	fmt.Printf("STATS %s\n", b)
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
	endpoint := itest.Endpoint(t)
	var mk [32]byte
	if _, err := rand.Read(mk[:]); err != nil {
		t.Fatal(err)
	}
	ks := killSetup{Master: hex.EncodeToString(mk[:]), Checkpoints: t.TempDir()}
	ks.Log = filepath.Join(t.TempDir(), "writes.log")
	ks.KeyStore = itest.NewTable(t, e.c, tenantkeys.CreateTableInput("ks"))
	store, err := killKeyStore(e.c, ks.KeyStore, ks.Master)
	if err != nil {
		t.Fatal(err)
	}
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
	cfg, _ := json.Marshal(ks)
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestJobKillChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), killEnv+"="+string(cfg), "DYNAMODB_ENDPOINT="+endpoint)
		return cmd
	}
	oks := func() int {
		b, _ := os.ReadFile(ks.Log)
		return strings.Count(string(b), "ok ")
	}
	midway := 0
	for kill := 0; kill < 5; kill++ {
		cmd := child()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killed := false
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			t.Logf("child %d finished before its kill (%v)", kill, err)
		case <-time.After(time.Duration(300+mrand.IntN(900)) * time.Millisecond):
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			<-done
			killed = true
		}
		if n := oks(); killed && n > 0 && n < 300 {
			midway++
		}
		t.Logf("after kill %d: %d reseals logged", kill, oks())
	}
	if midway < 2 {
		t.Fatalf("only %d kills landed in the middle of the job; the test proves nothing", midway)
	}
	out, err := child().CombinedOutput()
	if err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	var st table.ReEncryptStats
	for line := range strings.Lines(string(out)) {
		if s, ok := strings.CutPrefix(line, "STATS "); ok {
			if err := json.Unmarshal([]byte(s), &st); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st.Scanned < 300 || st.Failed != 0 || st.Resealed+st.Current != st.Scanned || st.SafeFloor["k1"] != 2 {
		t.Fatalf("final stats %+v", st)
	}
	// The write log: no item resealed twice; every item without a logged
	// success was in flight when a child died (its write may have landed).
	f, err := os.Open(ks.Log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sends, okCount := map[string]int{}, map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		kind, id, _ := strings.Cut(sc.Text(), " ")
		if kind == "send" {
			sends[id]++
		} else {
			okCount[id]++
		}
	}
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
