package table_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/dynaseal/dynaseal/itest/faultproxy"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/table/job"
)

// TestReEncryptFaults: a checkpointed re-encryption whose writes start
// failing (DynamoDB answering 500 through a fault proxy, beyond the SDK's
// retries) stops with ErrUnavailable instead of skipping the items; resumed
// while some write answers are lost (so the SDK resends them), it reseals
// every item, and the items resealed after the last checkpoint of the
// failed run are found current, not written again.
func TestReEncryptFaults(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pc, p := proxiedClient(t, 7)
	name := createTable[Patient](t, e, "patients", nil)
	tb, err := table.New[Patient](pc, name, e.store)
	if err != nil {
		t.Fatal(err)
	}
	tenants := []string{"f1", "f2", "f3"}
	fill(t, tb, 20, tenants...)
	for _, tenant := range tenants {
		if _, err := e.store.Rotate(ctx, tenant, ""); err != nil {
			t.Fatal(err)
		}
	}
	cp, err := job.NewFileCheckpoints(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	in := table.JobInput{JobID: "faults", Checkpoints: cp, PageSize: 7}
	outage := p.Add(faultproxy.Rule{Operation: "UpdateItem", Skip: 25, Action: faultproxy.Respond, Status: 500,
		Body: `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"boom"}`})
	st, err := tb.Admin().ReEncrypt(ctx, in)
	if !errors.Is(err, table.ErrUnavailable) {
		t.Fatalf("outage: %v, want ErrUnavailable", err)
	}
	if st.Resealed != 25 || st.Failed != 0 {
		t.Fatalf("stats at the outage %+v, want the 25 writes before it and no failure", st)
	}
	outage.Remove()
	var mu sync.Mutex
	dropped := map[string]bool{}
	lost := p.Add(faultproxy.Rule{Operation: "UpdateItem", Action: faultproxy.DropResponse, Match: func(_ *http.Request, body []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		if len(dropped) >= 5 || dropped[string(body)] {
			return false // the resend goes through
		}
		dropped[string(body)] = true
		return true
	}})
	st, err = tb.Admin().ReEncrypt(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if lost.Fired() != 5 {
		t.Fatalf("%d answers lost, want 5", lost.Fired())
	}
	// Pages of 7: the failed run saved 3 pages (21 items); items 22-25 were
	// resealed after that checkpoint and are current on resume.
	if st.Scanned != 60 || st.Resealed != 56 || st.Current != 4 || st.Failed != 0 {
		t.Fatalf("resumed stats %+v, want 60 scanned, 56 resealed, 4 current", st)
	}
	for k, it := range snapshot(t, e.c, name) {
		if headerVersion(t, it) != 2 {
			t.Errorf("%s missed", k)
		}
	}
}
