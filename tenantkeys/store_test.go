package tenantkeys_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }

// storeEnv opens Stores over one key store, as separate processes would.
type storeEnv struct {
	open func(w tenantkeys.Wrapper, opts ...tenantkeys.Option) *tenantkeys.Store
	ddb  *dynamodb.Client // nil for the memory backend
	tbl  string
}

// forEachBackend runs f against the in-memory key store and against a
// fresh key store table in DynamoDB Local.
func forEachBackend(t *testing.T, f func(t *testing.T, env storeEnv)) {
	t.Run("memory", func(t *testing.T) {
		base := tenantkeys.NewMemoryStore(nil)
		f(t, storeEnv{open: func(w tenantkeys.Wrapper, opts ...tenantkeys.Option) *tenantkeys.Store {
			return tenantkeys.SameBackend(base, w, opts...)
		}})
	})
	t.Run("dynamodb", func(t *testing.T) {
		c := itest.DynamoDB(t)
		tbl := itest.NewTable(t, c, tenantkeys.CreateTableInput("keystore"))
		f(t, storeEnv{ddb: c, tbl: tbl, open: func(w tenantkeys.Wrapper, opts ...tenantkeys.Option) *tenantkeys.Store {
			return tenantkeys.NewDynamoDBStore(c, tbl, w, opts...)
		}})
	})
}

func mustKey(t testing.TB) func(attrcrypt.Key, error) attrcrypt.Key {
	return func(k attrcrypt.Key, err error) attrcrypt.Key {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if k.IsZero() {
			t.Fatal("zero key material")
		}
		return k
	}
}

func TestStoreRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env storeEnv) {
		ctx := context.Background()
		s := env.open(testKeyring(t))
		if _, err := s.CurrentKey(ctx, "acme", ""); !errors.Is(err, tenantkeys.ErrKeyNotFound) {
			t.Fatalf("before create: err = %v, want ErrKeyNotFound", err)
		}
		v1, err := s.Create(ctx, "acme", "")
		if err != nil || v1.Ref.Version != 1 {
			t.Fatalf("Create: %+v %v", v1.Ref, err)
		}
		if _, err := s.Create(ctx, "acme", ""); !errors.Is(err, tenantkeys.ErrConflict) {
			t.Fatalf("second Create: err = %v, want ErrConflict", err)
		}
		k1 := mustKey(t)(s.CurrentKey(ctx, "acme", ""))
		if k1.Ref != ref("acme", "", 1) {
			t.Fatalf("current = %s", k1.Ref)
		}
		var keys []attrcrypt.Key
		keys = append(keys, k1)
		for want := uint32(2); want <= 3; want++ {
			v, err := s.Rotate(ctx, "acme", "")
			if err != nil || v.Ref.Version != want {
				t.Fatalf("Rotate: %+v %v", v.Ref, err)
			}
			k := mustKey(t)(s.CurrentKey(ctx, "acme", ""))
			if k.Ref.Version != want {
				t.Fatalf("after rotation current = %s, want version %d", k.Ref, want)
			}
			for _, old := range keys {
				if old.Material == k.Material {
					t.Fatal("rotation reused key material")
				}
			}
			keys = append(keys, k)
		}
		// Every old version is still served, with its own material.
		for _, old := range keys {
			got := mustKey(t)(s.Key(ctx, old.Ref))
			if got.Material != old.Material || got.Ref != old.Ref {
				t.Fatalf("Key(%s) returned other material", old.Ref)
			}
		}
		if _, err := s.Key(ctx, ref("acme", "", 4)); !errors.Is(err, tenantkeys.ErrKeyNotFound) {
			t.Fatalf("Key(v4): err = %v, want ErrKeyNotFound", err)
		}
		vs, err := s.Versions(ctx, "acme", "")
		if err != nil || len(vs) != 3 {
			t.Fatalf("Versions: %d %v", len(vs), err)
		}
		for i, v := range vs {
			if v.Ref.Version != uint32(i+1) || v.Current != (i == 2) || len(v.Wrapped.Blob) == 0 || v.Created.IsZero() {
				t.Fatalf("version %d: %+v", i+1, v)
			}
		}
		if _, err := s.Rotate(ctx, "nobody", ""); !errors.Is(err, tenantkeys.ErrKeyNotFound) {
			t.Fatalf("Rotate missing: err = %v", err)
		}
	})
}

func TestStoreKeyClasses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env storeEnv) {
		ctx := context.Background()
		s := env.open(testKeyring(t), tenantkeys.WithCreateOnFirstUse(true))
		def := mustKey(t)(s.CurrentKey(ctx, "acme", ""))
		pay := mustKey(t)(s.CurrentKey(ctx, "acme", "payments"))
		if def.Ref != ref("acme", "", 1) || pay.Ref != ref("acme", "payments", 1) {
			t.Fatalf("refs = %s, %s", def.Ref, pay.Ref)
		}
		if def.Material == pay.Material {
			t.Fatal("classes share key material")
		}
		if _, err := s.Rotate(ctx, "acme", "payments"); err != nil {
			t.Fatal(err)
		}
		if k := mustKey(t)(s.CurrentKey(ctx, "acme", "")); k.Ref.Version != 1 || k.Material != def.Material {
			t.Fatalf("rotating payments changed the default class: %s", k.Ref)
		}
		if _, err := s.CurrentKey(ctx, "acme", "default"); !errors.Is(err, tenantkeys.ErrInvalidName) {
			t.Fatalf("class \"default\": err = %v", err)
		}
	})
}

func TestStoreFirstUse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env storeEnv) {
		ctx := context.Background()
		kr := testKeyring(t)
		readOnly := env.open(kr)
		if _, err := readOnly.CurrentKey(ctx, "new", ""); !errors.Is(err, tenantkeys.ErrKeyNotFound) {
			t.Fatalf("read-only first use: err = %v, want ErrKeyNotFound", err)
		}
		// 8 "processes" race to create the key on first use.
		const n = 8
		keys := make([]attrcrypt.Key, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			s := env.open(kr, tenantkeys.WithCreateOnFirstUse(true))
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				keys[i], errs[i] = s.CurrentKey(ctx, "new", "")
			}()
		}
		close(start)
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("goroutine %d: %v", i, errs[i])
			}
			if keys[i].Ref != ref("new", "", 1) || keys[i].Material != keys[0].Material {
				t.Fatalf("goroutine %d got %s or other material", i, keys[i].Ref)
			}
		}
		vs, err := readOnly.Versions(ctx, "new", "")
		if err != nil || len(vs) != 1 {
			t.Fatalf("versions after racing first use: %d %v", len(vs), err)
		}
		got := mustKey(t)(readOnly.Key(ctx, ref("new", "", 1)))
		if got.Material != keys[0].Material {
			t.Fatal("stored version 1 is not the key the racers use")
		}
	})
}

func TestStoreRacingRotations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env storeEnv) {
		ctx := context.Background()
		kr := testKeyring(t)
		if _, err := env.open(kr).Create(ctx, "race", ""); err != nil {
			t.Fatal(err)
		}
		const procs, rounds = 8, 3
		var mu sync.Mutex
		won := map[uint32]tenantkeys.VersionInfo{}
		conflicts := 0
		var wg sync.WaitGroup
		for range procs {
			s := env.open(kr)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range rounds {
					v, err := s.Rotate(ctx, "race", "")
					mu.Lock()
					switch {
					case err == nil:
						if _, dup := won[v.Ref.Version]; dup {
							t.Errorf("version %d reported won twice", v.Ref.Version)
						}
						won[v.Ref.Version] = v
					case errors.Is(err, tenantkeys.ErrConflict):
						conflicts++
					default:
						t.Errorf("Rotate: %v", err)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(won)+conflicts != procs*rounds || len(won) == 0 {
			t.Fatalf("won %d, conflicts %d", len(won), conflicts)
		}
		vs, err := env.open(kr).Versions(ctx, "race", "")
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1+len(won) {
			t.Fatalf("stored %d versions, want 1 + %d successful rotations", len(vs), len(won))
		}
		for i, v := range vs {
			if v.Ref.Version != uint32(i+1) {
				t.Fatalf("versions not contiguous: %d at %d", v.Ref.Version, i)
			}
			if v.Ref.Version == 1 {
				continue
			}
			w, ok := won[v.Ref.Version]
			if !ok {
				t.Fatalf("version %d stored but nobody saw it succeed", v.Ref.Version)
			}
			if !bytes.Equal(w.Wrapped.Blob, v.Wrapped.Blob) {
				t.Fatalf("version %d: stored blob is not the one its writer wrote", v.Ref.Version)
			}
		}
		if !vs[len(vs)-1].Current {
			t.Fatal("newest version is not current")
		}
		t.Logf("%d rotations won, %d conflicts", len(won), conflicts)
	})
}

func TestStoreShred(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env storeEnv) {
		ctx := context.Background()
		kr := testKeyring(t)
		s := env.open(kr, tenantkeys.WithCreateOnFirstUse(true))
		for _, tenant := range []string{"gone", "stays"} {
			mustKey(t)(s.CurrentKey(ctx, tenant, ""))
			mustKey(t)(s.CurrentKey(ctx, tenant, "payments"))
			if _, err := s.Rotate(ctx, tenant, ""); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Shred(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		checks := map[string]error{}
		_, checks["CurrentKey"] = s.CurrentKey(ctx, "gone", "")
		_, checks["CurrentKey payments"] = s.CurrentKey(ctx, "gone", "payments")
		_, checks["Key v1"] = s.Key(ctx, ref("gone", "", 1))
		_, checks["Key v2"] = s.Key(ctx, ref("gone", "", 2))
		_, checks["Versions"] = s.Versions(ctx, "gone", "")
		_, checks["Create"] = s.Create(ctx, "gone", "")
		_, checks["Rotate"] = s.Rotate(ctx, "gone", "")
		_, checks["first use, new class"] = s.CurrentKey(ctx, "gone", "other")
		for name, err := range checks {
			if !errors.Is(err, tenantkeys.ErrKeyShredded) || errors.Is(err, tenantkeys.ErrKeyNotFound) {
				t.Errorf("%s after shred: err = %v, want ErrKeyShredded", name, err)
			}
		}
		if env.ddb != nil {
			// Only the tombstone remains.
			out, err := env.ddb.Query(ctx, &dynamodb.QueryInput{
				TableName:                 aws.String(env.tbl),
				KeyConditionExpression:    aws.String("pk = :t"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: "gone"}},
			})
			if err != nil || len(out.Items) != 1 {
				t.Fatalf("items left after shred: %d %v", len(out.Items), err)
			}
		}
		// The other tenant is untouched.
		if k := mustKey(t)(s.CurrentKey(ctx, "stays", "")); k.Ref.Version != 2 {
			t.Fatalf("other tenant: %s", k.Ref)
		}
		// Reopen: new keys are numbered above the destroyed ones.
		if err := s.ReopenAfterShred(ctx, "stays"); !errors.Is(err, tenantkeys.ErrKeyNotFound) {
			t.Fatalf("reopen of unshredded tenant: err = %v", err)
		}
		if err := s.ReopenAfterShred(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		v, err := s.Create(ctx, "gone", "")
		if err != nil || v.Ref.Version != 3 {
			t.Fatalf("Create after reopen: %+v %v", v.Ref, err)
		}
		if k := mustKey(t)(s.CurrentKey(ctx, "gone", "payments")); k.Ref.Version != 2 {
			t.Fatalf("first use after reopen in payments: %s, want version 2", k.Ref)
		}
		if _, err := s.Key(ctx, ref("gone", "", 2)); !errors.Is(err, tenantkeys.ErrKeyShredded) {
			t.Fatalf("destroyed version after reopen: err = %v, want ErrKeyShredded", err)
		}
		mustKey(t)(s.Key(ctx, ref("gone", "", 3)))
	})
}

func TestStoreDisable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env storeEnv) {
		ctx := context.Background()
		s := env.open(testKeyring(t), tenantkeys.WithCreateOnFirstUse(true))
		mustKey(t)(s.CurrentKey(ctx, "t", ""))
		mustKey(t)(s.CurrentKey(ctx, "t", "payments"))
		if err := s.Disable(ctx, "t", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CurrentKey(ctx, "t", ""); !errors.Is(err, tenantkeys.ErrKeyDisabled) {
			t.Fatalf("CurrentKey disabled: %v", err)
		}
		if _, err := s.Key(ctx, ref("t", "", 1)); !errors.Is(err, tenantkeys.ErrKeyDisabled) {
			t.Fatalf("Key disabled: %v", err)
		}
		mustKey(t)(s.CurrentKey(ctx, "t", "payments"))
		if vs, err := s.Versions(ctx, "t", ""); err != nil || !vs[0].Disabled {
			t.Fatalf("Versions of disabled key: %+v %v", vs, err)
		}
		if err := s.Enable(ctx, "t", ""); err != nil {
			t.Fatal(err)
		}
		mustKey(t)(s.Key(ctx, ref("t", "", 1)))
		if err := s.Disable(ctx, "nobody", ""); !errors.Is(err, tenantkeys.ErrKeyNotFound) {
			t.Fatalf("Disable missing: %v", err)
		}
	})
}

func TestStoreAudit(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	var mu sync.Mutex
	var events []tenantkeys.Event
	logAudit := tenantkeys.SlogAudit(slog.New(slog.NewJSONHandler(&buf, nil)))
	s := tenantkeys.NewMemoryStore(testKeyring(t), tenantkeys.WithCreateOnFirstUse(true), tenantkeys.WithAudit(func(ctx context.Context, e tenantkeys.Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
		logAudit(ctx, e)
	}))
	k := mustKey(t)(s.CurrentKey(ctx, "aud", "pii"))
	if _, err := s.Rotate(ctx, "aud", "pii"); err != nil {
		t.Fatal(err)
	}
	mustKey(t)(s.Key(ctx, ref("aud", "pii", 1)))
	_ = s.Disable(ctx, "aud", "pii")
	_ = s.Enable(ctx, "aud", "pii")
	_ = s.Shred(ctx, "aud")
	var got []string
	for _, e := range events {
		got = append(got, fmt.Sprintf("%s:%s:%d", e.Type, e.Ref.Class, e.Ref.Version))
		if e.Time.IsZero() {
			t.Errorf("event %s without time", e.Type)
		}
	}
	// Rotate, Disable and Enable unwrap to verify and re-tag records.
	want := "create:pii:1 unwrap:pii:1 rotate:pii:2 unwrap:pii:1 unwrap:pii:1 unwrap:pii:2 disable:pii:0 unwrap:pii:1 unwrap:pii:2 enable:pii:0 shred::0"
	if strings.Join(got, " ") != want {
		t.Fatalf("events = %v\nwant     %s", got, want)
	}
	if events[0].KMSKeyID == "" || !strings.HasPrefix(events[0].KMSKeyID, "local:") {
		t.Fatalf("create event KMS key id = %q", events[0].KMSKeyID)
	}
	log := buf.String()
	if !strings.Contains(log, `"event":"rotate"`) || !strings.Contains(log, `"tenant":"aud"`) {
		t.Fatalf("slog output lacks events: %s", log)
	}
	if strings.Contains(log, hex.EncodeToString(k.Material[:8])) {
		t.Fatal("slog output contains key material")
	}
}

func TestStoreWrappedKeyMovedToAnotherTenant(t *testing.T) {
	ctx := context.Background()
	c := itest.DynamoDB(t)
	tbl := itest.NewTable(t, c, tenantkeys.CreateTableInput("keystore"))
	s := tenantkeys.NewDynamoDBStore(c, tbl, testKeyring(t), tenantkeys.WithCreateOnFirstUse(true))
	a := mustKey(t)(s.CurrentKey(ctx, "tenant-a", ""))
	b := mustKey(t)(s.CurrentKey(ctx, "tenant-b", ""))
	if a.Material == b.Material {
		t.Fatal("tenants share material")
	}
	// Someone with write access to the key store copies A's wrapped key
	// into B's version item: unwrapping it as B fails (context mismatch)
	// rather than handing B A's key.
	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tbl), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "tenant-a"}, "sk": &types.AttributeValueMemberS{Value: "V##0000000001"},
	}})
	if err != nil || got.Item == nil {
		t.Fatalf("read A's version item: %v", err)
	}
	item := got.Item
	item["pk"] = &types.AttributeValueMemberS{Value: "tenant-b"}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tbl), Item: item}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Key(ctx, ref("tenant-b", "", 1)); !errors.Is(err, tenantkeys.ErrKeyCorrupt) {
		t.Fatalf("B's version 1 replaced by A's blob: err = %v, want ErrKeyCorrupt", err)
	}
}
