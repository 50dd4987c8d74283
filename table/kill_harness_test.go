package table_test

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/table/job"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// The kill tests run a job in a child process (this test binary, re-run
// with one test selected and its setup in an environment variable), kill
// it with SIGKILL at random points and resume it from file checkpoints.

// newKillSetup makes what a kill test shares with its children: a key
// store table under a random master key, a checkpoint directory and a
// write log. The caller sets Table.
func newKillSetup(t *testing.T, e *env) (killSetup, *tenantkeys.Store) {
	t.Helper()
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
	return ks, store
}

// killChild, in a child process, reads the setup from the environment
// variable env and returns a handle on its table whose writes are logged,
// and its file checkpoints. In a normal run (env unset) it returns nil and
// the calling test, the child's entry point, does nothing (it is not a
// skipped test: the parent test runs it in its child process).
func killChild(t *testing.T, env string) (*table.Table[Patient], *job.FileCheckpoints) {
	t.Helper()
	raw := os.Getenv(env)
	if raw == "" {
		return nil, nil
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
	t.Cleanup(func() { _ = f.Close() })
	tb, err := table.New[Patient](&loggingClient{Client: c, log: f}, ks.Table, store)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := job.NewFileCheckpoints(ks.Checkpoints)
	if err != nil {
		t.Fatal(err)
	}
	return tb, cp
}

// printStats prints a child's final stats for killHarness.finish.
func printStats(st any) {
	b, _ := json.Marshal(st)
	fmt.Printf("STATS %s\n", b)
}

// killHarness starts the child test child with setup in env.
type killHarness struct {
	env, child string
	setup      killSetup
}

func (h *killHarness) cmd(t *testing.T) *exec.Cmd {
	cfg, _ := json.Marshal(h.setup)
	cmd := exec.Command(os.Args[0], "-test.run=^"+h.child+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), h.env+"="+string(cfg), "DYNAMODB_ENDPOINT="+itest.Endpoint(t))
	return cmd
}

// oks counts the successful writes logged.
func (h *killHarness) oks() int {
	b, _ := os.ReadFile(h.setup.Log)
	return strings.Count(string(b), "ok ")
}

// killAtRandom starts the child n times and kills each run with SIGKILL
// after lo plus a random part of span. It fails the test unless at least
// two kills landed in the middle of the job (some but not all of total
// writes logged).
func (h *killHarness) killAtRandom(t *testing.T, n int, lo, span time.Duration, total int) {
	t.Helper()
	midway := 0
	for kill := range n {
		cmd := h.cmd(t)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			t.Logf("child %d finished before its kill (%v)", kill, err)
		case <-time.After(lo + time.Duration(mrand.Int64N(int64(span)))):
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			<-done
			if n := h.oks(); n > 0 && n < total {
				midway++
			}
		}
		t.Logf("after kill %d: %d writes logged", kill, h.oks())
	}
	if midway < 2 {
		t.Fatalf("only %d kills landed in the middle of the job; the test proves nothing", midway)
	}
}

// finish runs the child to completion and decodes its stats into st.
func (h *killHarness) finish(t *testing.T, st any) {
	t.Helper()
	out, err := h.cmd(t).CombinedOutput()
	if err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if s, ok := strings.CutPrefix(line, "STATS "); ok {
			if err := json.Unmarshal([]byte(s), st); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("final run printed no stats:\n%s", out)
}

// writes counts the logged sends and successes per item.
func (h *killHarness) writes(t *testing.T) (sends, oks map[string]int) {
	t.Helper()
	f, err := os.Open(h.setup.Log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sends, oks = map[string]int{}, map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		kind, id, _ := strings.Cut(sc.Text(), " ")
		if kind == "send" {
			sends[id]++
		} else {
			oks[id]++
		}
	}
	return sends, oks
}
