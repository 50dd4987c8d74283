package tenantkeys_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest/kmslocal"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// failAfter is a KeyWrapper whose Wrap fails after n successes, as an
// interrupted Rewrap would.
type failAfter struct {
	tenantkeys.KeyWrapper
	mu sync.Mutex
	n  int
}

var errInjected = errors.New("injected wrap failure")

func (f *failAfter) Wrap(ctx context.Context, k attrcrypt.Key) (tenantkeys.Wrapped, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		return tenantkeys.Wrapped{}, errInjected
	}
	f.n--
	return f.KeyWrapper.Wrap(ctx, k)
}

func TestRewrapToNewKMSKey(t *testing.T) {
	k := newKeyTable(t)
	k.withVersions(t, "acme", 3)
	app := k.store()
	before := map[uint32]attrcrypt.Key{}
	for v := uint32(1); v <= 3; v++ {
		before[v] = mustKey(t)(app.Key(k.ctx, ref("acme", "", v)))
	}
	next := k.srv.CreateKey("next")
	oldW := tenantkeys.NewKMSWrapper(k.srv.Client(), tenantkeys.SharedKey(k.good))
	newW := tenantkeys.NewKMSWrapper(k.srv.Client(), tenantkeys.SharedKey(next))

	// Interrupted after two records, then resumed.
	broken := tenantkeys.NewDynamoDBStore(k.ddb, k.tbl, &failAfter{KeyWrapper: newW, n: 2})
	if _, err := broken.Rewrap(k.ctx, "acme", "", oldW); !errors.Is(err, errInjected) {
		t.Fatalf("interrupted rewrap: err = %v", err)
	}
	newAdmin := tenantkeys.NewDynamoDBStore(k.ddb, k.tbl, newW)
	n, err := newAdmin.Rewrap(k.ctx, "acme", "", oldW)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 { // version 3 and the pointer were left
		t.Fatalf("resumed rewrap rewrote %d records, want 2", n)
	}
	if n, err := newAdmin.Rewrap(k.ctx, "acme", "", oldW); err != nil || n != 0 {
		t.Fatalf("second rewrap: %d records, %v; want 0 (idempotent)", n, err)
	}
	vs, err := newAdmin.Versions(k.ctx, "acme", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Wrapped.KeyID != kmslocal.KeyARN(next) {
			t.Fatalf("%s still wrapped by %s", v.Ref, v.Wrapped.KeyID)
		}
	}
	// The old key can now be disabled; every version still opens, with
	// the same material (no rotation happened).
	if _, err := k.srv.Client().DisableKey(k.ctx, &kms.DisableKeyInput{KeyId: aws.String(k.good)}); err != nil {
		t.Fatal(err)
	}
	fresh := tenantkeys.NewDynamoDBStore(k.ddb, k.tbl, newW)
	for v := uint32(1); v <= 3; v++ {
		got := mustKey(t)(fresh.Key(k.ctx, ref("acme", "", v)))
		if got.Material != before[v].Material {
			t.Fatalf("version %d changed material", v)
		}
	}
	if cur := mustKey(t)(fresh.CurrentKey(k.ctx, "acme", "")); cur.Ref.Version != 3 {
		t.Fatalf("current = %s", cur.Ref)
	}
	// The old configuration may no longer unwrap anything.
	if _, err := k.store().Key(k.ctx, ref("acme", "", 1)); !errors.Is(err, tenantkeys.ErrUntrustedKey) {
		t.Fatalf("old configuration: err = %v, want ErrUntrustedKey", err)
	}
}

func TestRewrapKeyringAndLegacyRecords(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env storeEnv) {
		ctx := context.Background()
		dir := t.TempDir()
		path := filepath.Join(dir, "master.key")
		kr1, err := tenantkeys.GenerateMasterKeyFile(path)
		if err != nil {
			t.Fatal(err)
		}
		admin := env.open(kr1)
		if _, err := admin.Create(ctx, "acme", ""); err != nil {
			t.Fatal(err)
		}
		v1 := mustKey(t)(admin.CurrentKey(ctx, "acme", ""))
		kr2, err := tenantkeys.RotateMasterKeyFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n, err := env.open(kr2).Rewrap(ctx, "acme", "", nil)
		if err != nil || n != 2 {
			t.Fatalf("rewrap to the new master key: %d records, %v; want 2", n, err)
		}
		if n, err := env.open(kr2).Rewrap(ctx, "acme", "", nil); err != nil || n != 0 {
			t.Fatalf("second rewrap: %d, %v; want 0", n, err)
		}
		// A keyring without the old master key opens everything.
		only2, err := tenantkeys.ParseKeyring([]byte(onlyLast(t, path)))
		if err != nil {
			t.Fatal(err)
		}
		if got := mustKey(t)(env.open(only2).CurrentKey(ctx, "acme", "")); got.Material != v1.Material {
			t.Fatal("rewrap changed the key")
		}
	})
}

// onlyLast returns the newest key line of a keyring file.
func onlyLast(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// TestLegacyRecordsUpgrade: records written by a release before record
// authentication (no tag) are refused unless WithLegacyRecords, and Rewrap
// adds their tags.
func TestLegacyRecordsUpgrade(t *testing.T) {
	k := newKeyTable(t)
	admin := k.withVersions(t, "acme", 2)
	for _, sk := range []string{"P#", skV("", 1), skV("", 2)} {
		item := k.get(t, "acme", sk)
		delete(item, "tag")
		delete(item, "floor")
		k.put(t, "acme", sk, item)
	}
	if _, err := k.store().CurrentKey(k.ctx, "acme", ""); !errors.Is(err, tenantkeys.ErrKeyRecordTampered) {
		t.Fatalf("untagged record, strict store: err = %v, want ErrKeyRecordTampered", err)
	}
	legacy := k.store(tenantkeys.WithLegacyRecords(true))
	mustKey(t)(legacy.CurrentKey(k.ctx, "acme", ""))
	mustKey(t)(legacy.Key(k.ctx, ref("acme", "", 1)))
	if n, err := admin.Rewrap(k.ctx, "acme", "", nil); err != nil || n != 3 {
		t.Fatalf("upgrade: %d records, %v; want 3", n, err)
	}
	strict := k.store()
	mustKey(t)(strict.CurrentKey(k.ctx, "acme", ""))
	mustKey(t)(strict.Key(k.ctx, ref("acme", "", 1)))
}

func TestKeyringUnwrapsOnlyItsOwnKeys(t *testing.T) {
	ctx := context.Background()
	mine, theirs := testKeyring(t), testKeyring(t)
	r := ref("acme", "", 1)
	_, w, err := theirs.GenerateKey(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	// Both keyrings name their key "0": a foreign blob under the same id
	// fails authentication; a renamed id is not in the keyring.
	if _, err := mine.Unwrap(ctx, r, w); !errors.Is(err, tenantkeys.ErrKeyRecordTampered) {
		t.Fatalf("foreign blob, same id: err = %v", err)
	}
	for _, id := range []string{"arn:aws:kms:us-east-1:111122223333:key/x", "alias/evil"} {
		if _, err := mine.Unwrap(ctx, r, tenantkeys.Wrapped{KeyID: id, Blob: w.Blob}); !errors.Is(err, tenantkeys.ErrUntrustedKey) {
			t.Fatalf("record naming %s: err = %v, want ErrUntrustedKey", id, err)
		}
	}
	other, err := tenantkeys.ParseKeyring([]byte("evil " + exampleHexKey()))
	if err != nil {
		t.Fatal(err)
	}
	_, w2, err := other.GenerateKey(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mine.Unwrap(ctx, r, w2); !errors.Is(err, tenantkeys.ErrUntrustedKey) {
		t.Fatalf("record under master key id %q: err = %v, want ErrUntrustedKey", w2.KeyID, err)
	}
}

// TestRotateMasterKeyFileConcurrent: many rotations at once never lose a
// master key; run many rounds.
func TestRotateMasterKeyFileConcurrent(t *testing.T) {
	const rounds, workers = 20, 12
	for round := range rounds {
		path := filepath.Join(t.TempDir(), "master.key")
		if _, err := tenantkeys.GenerateMasterKeyFile(path); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		newest := make([]string, workers)
		errs := make([]error, workers)
		for i := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				kr, err := tenantkeys.RotateMasterKeyFile(path)
				if err == nil {
					newest[i] = kr.Newest()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		final, err := tenantkeys.LoadKeyringFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, id := range final.IDs() {
			ids[id] = true
		}
		for i := range workers {
			if errs[i] != nil {
				t.Fatalf("round %d: rotation %d: %v", round, i, errs[i])
			}
			if !ids[newest[i]] {
				t.Fatalf("round %d: master key %s added by rotation %d was lost", round, newest[i], i)
			}
		}
		if len(ids) != workers+1 {
			t.Fatalf("round %d: %d master keys, want %d", round, len(ids), workers+1)
		}
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode %v, %v", st.Mode(), err)
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".master-key-*")); len(left) != 0 {
			t.Fatalf("temporary files left: %v", left)
		}
	}
}

func TestAliasPatternCollisions(t *testing.T) {
	for _, bad := range []string{"alias/{tenant}-{class}", "alias/{class}_{tenant}", "alias/{tenant}{class}", "alias/{tenant}-{tenant}", "tenant-{tenant}", "alias/a.{tenant}"} {
		if err := tenantkeys.ValidateAliasPattern(bad); !errors.Is(err, tenantkeys.ErrInvalidName) {
			t.Errorf("ValidateAliasPattern(%q) = %v, want ErrInvalidName", bad, err)
		}
	}
	// The example: tenant "a" class "b-default" and tenant "a-b"
	// class "default" would share alias/a-b-default.
	sel := tenantkeys.AliasPattern("alias/{tenant}-{class}")
	if _, err := sel("a", "b-default"); !errors.Is(err, tenantkeys.ErrInvalidName) {
		t.Fatalf("colliding pattern selected a key: %v", err)
	}
	ok := tenantkeys.AliasPattern("alias/{tenant}/{class}")
	x, err1 := ok("a", "b-default")
	y, err2 := ok("a-b", "")
	if err1 != nil || err2 != nil || x == y {
		t.Fatalf("alias/{tenant}/{class}: %q %v, %q %v", x, err1, y, err2)
	}
	if _, err := ok("acme corp", ""); !errors.Is(err, tenantkeys.ErrInvalidName) {
		t.Fatalf("tenant id invalid in an alias: %v", err)
	}
	// Through the real client: a refused pattern makes no KMS call.
	srv := startKMS(t)
	w := tenantkeys.NewKMSWrapper(srv.Client(), sel)
	if _, _, err := w.GenerateKey(context.Background(), ref("a", "b-default", 1)); !errors.Is(err, tenantkeys.ErrInvalidName) {
		t.Fatalf("GenerateKey with a colliding pattern: %v", err)
	}
	if n := len(srv.AllCalls()); n != 0 {
		t.Fatalf("KMS was called: %v", srv.AllCalls())
	}
}

// TestStoreRetire runs Retire on both backends: versions below the floor
// answer ErrKeyRetired and are gone from Versions, the floor never moves
// down, and a new Store (another process) sees the same.
func TestStoreRetire(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env storeEnv) {
		ctx := context.Background()
		kr := testKeyring(t)
		admin := env.open(kr)
		if _, err := admin.Create(ctx, "acme", "pay"); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := admin.Rotate(ctx, "acme", "pay"); err != nil {
				t.Fatal(err)
			}
		}
		if err := admin.Retire(ctx, "acme", "pay", 3); err != nil {
			t.Fatal(err)
		}
		if err := admin.Retire(ctx, "acme", "pay", 1); err != nil {
			t.Fatal(err)
		}
		vs, err := admin.Versions(ctx, "acme", "pay")
		if err != nil || len(vs) != 2 || vs[0].Ref.Version != 3 {
			t.Fatalf("versions after Retire(3): %v, %v", vs, err)
		}
		other := env.open(kr)
		for v := uint32(1); v <= 4; v++ {
			_, err := other.Key(ctx, ref("acme", "pay", v))
			if retired := v < 3; retired != errors.Is(err, tenantkeys.ErrKeyRetired) || !retired && err != nil {
				t.Fatalf("Key(v%d) err = %v", v, err)
			}
		}
		if _, err := other.Key(ctx, ref("acme", "", 1)); !errors.Is(err, tenantkeys.ErrKeyNotFound) {
			t.Fatalf("another class is untouched: %v", err)
		}
		// Rotation carries the floor forward.
		if _, err := admin.Rotate(ctx, "acme", "pay"); err != nil {
			t.Fatal(err)
		}
		if _, err := env.open(kr).Key(ctx, ref("acme", "pay", 2)); !errors.Is(err, tenantkeys.ErrKeyRetired) {
			t.Fatalf("after a rotation: %v", err)
		}
	})
}

// TestRotateMasterKeyFileAcrossProcesses: rotations from several processes
// at once (this test binary re-run as helpers) never lose a master key.
func TestRotateMasterKeyFileAcrossProcesses(t *testing.T) {
	if path := os.Getenv("DYNASEAL_ROTATE_HELPER"); path != "" {
		for range 5 {
			if _, err := tenantkeys.RotateMasterKeyFile(path); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	const procs = 6
	path := filepath.Join(t.TempDir(), "master.key")
	if _, err := tenantkeys.GenerateMasterKeyFile(path); err != nil {
		t.Fatal(err)
	}
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestRotateMasterKeyFileAcrossProcesses$", "-test.count=1")
		cmds[i].Env = append(os.Environ(), "DYNASEAL_ROTATE_HELPER="+path)
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("helper process: %v", err)
		}
	}
	kr, err := tenantkeys.LoadKeyringFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(kr.IDs()), 1+procs*5; got != want {
		t.Fatalf("%d master keys after %d rotations from %d processes, want %d", got, procs*5, procs, want)
	}
}
