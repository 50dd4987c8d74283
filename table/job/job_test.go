package job_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/table/job"
)

func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }

func TestKeyRoundTrip(t *testing.T) {
	key := map[string]types.AttributeValue{
		"tenant": &types.AttributeValueMemberS{Value: "t-1 \"quoted\""},
		"n":      &types.AttributeValueMemberN{Value: "-12.5"},
		"b":      &types.AttributeValueMemberB{Value: []byte{0, 1, 255}},
		"empty":  &types.AttributeValueMemberS{Value: ""},
	}
	b, err := job.EncodeKey(key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := job.DecodeKey(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := job.EncodeKey(got)
	if string(b) != string(b2) || len(got) != len(key) {
		t.Fatalf("round trip changed the key: %s vs %s", b, b2)
	}
	if k, err := job.EncodeKey(nil); k != nil || err != nil {
		t.Fatalf("empty key encodes to %q, %v", k, err)
	}
}

// TestEncodeKeyRefusesValues: a checkpoint can only carry key scalars, so
// it can never hold an item's (possibly sensitive) non-key values.
func TestEncodeKeyRefusesValues(t *testing.T) {
	for _, av := range []types.AttributeValue{
		&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
		&types.AttributeValueMemberL{},
		&types.AttributeValueMemberSS{Value: []string{"x"}},
		&types.AttributeValueMemberBOOL{Value: true},
	} {
		if _, err := job.EncodeKey(map[string]types.AttributeValue{"a": av}); err == nil {
			t.Errorf("EncodeKey accepted %T", av)
		}
	}
	for _, bad := range []string{"{", `{"a":{}}`, `{"a":{"S":"x","N":"1"}}`, `{}`} {
		if _, err := job.DecodeKey([]byte(bad)); !errors.Is(err, job.ErrCheckpointCorrupt) {
			t.Errorf("DecodeKey(%s): %v, want ErrCheckpointCorrupt", bad, err)
		}
	}
}

func TestLimiter(t *testing.T) {
	if job.NewLimiter(0) != nil {
		t.Fatal("rate 0 must mean no limiter")
	}
	var none *job.Limiter
	if err := none.Wait(context.Background(), 1000); err != nil {
		t.Fatal(err)
	}
	l := job.NewLimiter(2) // burst of 2
	if err := l.Wait(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	// The bucket is empty: 100 more items need 50 s, far beyond ctx.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx, 100); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait past the deadline: %v, want DeadlineExceeded", err)
	}
	cctx, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := l.Wait(cctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a cancelled context: %v", err)
	}
}

func TestFileCheckpoints(t *testing.T) {
	dir := t.TempDir()
	fc, err := job.NewFileCheckpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	testCheckpointer(t, fc)
	// No temporary file is left behind.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if filepath.Ext(e.Name()) != ".json" && filepath.Ext(e.Name()) != ".lock" {
			t.Errorf("stray file %s", e.Name())
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.0.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fc.Load(context.Background(), "bad", 0); !errors.Is(err, job.ErrCheckpointCorrupt) {
		t.Fatalf("corrupt file: %v", err)
	}
	if _, _, err := fc.Load(context.Background(), "../x", 0); !errors.Is(err, job.ErrInvalidJob) {
		t.Fatalf("job id with a path: %v", err)
	}
}

func TestDynamoDBCheckpoints(t *testing.T) {
	c := itest.DynamoDB(t)
	name := itest.NewTable(t, c, job.CheckpointTableInput("ck"))
	testCheckpointer(t, job.NewDynamoDBCheckpoints(c, name))
}

// testCheckpointer: round trip, the sequence condition, and of several
// workers saving from the same loaded state exactly one wins.
func testCheckpointer(t *testing.T, cp job.Checkpointer) {
	ctx := context.Background()
	if _, found, err := cp.Load(ctx, "j1", 3); err != nil || found {
		t.Fatalf("empty store: found %v, %v", found, err)
	}
	next, _ := job.EncodeKey(map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "k9"}})
	st := job.State{Pass: "p", Segments: 4, Next: next, Scanned: 7, Counts: job.Counts{"a": 3, "floor/t": 2}}
	if err := cp.Save(ctx, "j1", 3, &st); err != nil {
		t.Fatal(err)
	}
	if st.Seq != 1 {
		t.Fatalf("Seq after first save %d", st.Seq)
	}
	got, found, err := cp.Load(ctx, "j1", 3)
	if err != nil || !found {
		t.Fatal(found, err)
	}
	if got.Pass != "p" || got.Segments != 4 || string(got.Next) != string(next) || got.Scanned != 7 || got.Counts["a"] != 3 || got.Counts["floor/t"] != 2 || got.Seq != 1 || got.Done {
		t.Fatalf("loaded %+v", got)
	}
	stale := job.State{Pass: "p", Segments: 4} // Seq 0: "none stored"
	if err := cp.Save(ctx, "j1", 3, &stale); !errors.Is(err, job.ErrCheckpointConflict) {
		t.Fatalf("save over an existing checkpoint from Seq 0: %v", err)
	}
	// Eight workers loaded the same state; exactly one may advance it.
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			s := got
			s.Scanned = int64(100 + i)
			switch err := cp.Save(ctx, "j1", 3, &s); {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, job.ErrCheckpointConflict):
				conflicts.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != 7 {
		t.Fatalf("%d saves won, %d conflicted; want 1 and 7", wins.Load(), conflicts.Load())
	}
	got, _, _ = cp.Load(ctx, "j1", 3)
	got.Done, got.Next = true, nil
	if err := cp.Save(ctx, "j1", 3, &got); err != nil {
		t.Fatal(err)
	}
	got, _, _ = cp.Load(ctx, "j1", 3)
	if !got.Done || got.Seq != 3 || len(got.Next) != 0 {
		t.Fatalf("after marking done: %+v", got)
	}
	if _, found, _ := cp.Load(ctx, "j1", 2); found {
		t.Fatal("another segment sees a checkpoint")
	}
}

// pages is an in-memory source of n items with keys id-0000..., pageSize a
// page.
func pages(n, pageSize int) job.Source {
	return func(_ context.Context, start map[string]types.AttributeValue) (job.Page, error) {
		i := 0
		if start != nil {
			s := start["id"].(*types.AttributeValueMemberS).Value
			v, _ := strconv.Atoi(s[3:])
			i = v + 1
		}
		var p job.Page
		for ; i < n && len(p.Items) < pageSize; i++ {
			p.Items = append(p.Items, map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: fmt.Sprintf("id-%04d", i)}})
		}
		if i < n {
			p.Next = p.Items[len(p.Items)-1]
		}
		return p, nil
	}
}

// TestRunnerResume: a segment stopped at item 23 several times resumes
// from its last saved page: no item is missed, only the interrupted page is
// seen again, and the saved counts are those of completed pages.
func TestRunnerResume(t *testing.T) {
	fc, err := job.NewFileCheckpoints(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	stopAt := map[string]bool{"id-0023": true, "id-0057": true, "id-0099": true}
	boom := errors.New("stop")
	h := func(_ context.Context, item map[string]types.AttributeValue, c job.Counts) error {
		id := item["id"].(*types.AttributeValueMemberS).Value
		if stopAt[id] {
			delete(stopAt, id)
			return boom
		}
		seen[id]++
		c["ok"]++
		return nil
	}
	seg := job.Segment{JobID: "resume", Pass: "test", Checkpoints: fc}
	runs := 0
	var counts job.Counts
	for {
		runs++
		counts, err = seg.Run(context.Background(), pages(100, 10), h)
		if err == nil {
			break
		}
		if !errors.Is(err, boom) || runs > 5 {
			t.Fatalf("run %d: %v", runs, err)
		}
	}
	if runs != 4 {
		t.Fatalf("%d runs, want 4", runs)
	}
	twice := 0
	for i := range 100 {
		n := seen[fmt.Sprintf("id-%04d", i)]
		if n == 0 {
			t.Fatalf("id-%04d was never processed", i)
		}
		if n > 1 {
			twice++
		}
	}
	// Pages 20-29, 50-59 and 90-99 were interrupted after 3, 7 and 9 items.
	if twice != 3+7+9 {
		t.Fatalf("%d items processed twice, want 19 (those of the interrupted pages)", twice)
	}
	if counts["ok"] != 100 {
		t.Fatalf("saved count %d, want 100 (one per item in the final checkpoints)", counts["ok"])
	}
	// A finished segment is not read again.
	calls := 0
	src := func(ctx context.Context, start map[string]types.AttributeValue) (job.Page, error) {
		calls++
		return pages(100, 10)(ctx, start)
	}
	if c, err := seg.Run(context.Background(), src, h); err != nil || calls != 0 || c["ok"] != 100 {
		t.Fatalf("rerun of a done segment: %d calls, %v, %v", calls, c, err)
	}
	// Another pass under the same job id is refused.
	other := seg
	other.Pass = "another"
	if _, err := other.Run(context.Background(), src, h); !errors.Is(err, job.ErrCheckpointMismatch) {
		t.Fatalf("other pass: %v", err)
	}
	other = seg
	other.Segments = 2
	if _, err := other.Run(context.Background(), src, h); !errors.Is(err, job.ErrCheckpointMismatch) {
		t.Fatalf("other segment count: %v", err)
	}
}

func TestRunnerProgressAndBadInput(t *testing.T) {
	var reports []job.Progress
	seg := job.Segment{Segment: 1, Segments: 3, Progress: func(p job.Progress) { reports = append(reports, p) }, ProgressEvery: time.Hour}
	c, err := seg.Run(context.Background(), pages(25, 10), func(_ context.Context, _ map[string]types.AttributeValue, c job.Counts) error {
		c["n"]++
		return nil
	})
	if err != nil || c["n"] != 25 {
		t.Fatal(c, err)
	}
	// Throttled: the first item reports, then only the end.
	if len(reports) != 2 || !reports[1].Done || reports[1].Scanned != 25 || reports[1].Counts["n"] != 25 || reports[1].Segment != 1 || reports[1].Segments != 3 {
		t.Fatalf("reports %+v", reports)
	}
	for _, bad := range []job.Segment{{Segment: 3, Segments: 3}, {Segment: -1}, {Checkpoints: &job.FileCheckpoints{}}, {JobID: "a/b"}} {
		if _, err := bad.Run(context.Background(), pages(1, 1), nil); !errors.Is(err, job.ErrInvalidJob) {
			t.Errorf("%+v: %v, want ErrInvalidJob", bad, err)
		}
	}
}
