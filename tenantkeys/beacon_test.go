package tenantkeys_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

func TestBeaconClassNames(t *testing.T) {
	long := strings.Repeat("c", tenantkeys.MaxClassLen)
	for _, c := range []struct{ data, beacon string }{
		{"", "__beacon"}, {"pay", "__beacon.pay"}, {"a.b-c_d", "__beacon.a.b-c_d"}, {long, "__beacon." + long},
	} {
		if got := tenantkeys.BeaconClass(c.data); got != c.beacon {
			t.Fatalf("BeaconClass(%q) = %q", c.data, got)
		}
		if err := tenantkeys.ValidateClass(c.beacon); err != nil {
			t.Fatalf("ValidateClass(%q): %v", c.beacon, err)
		}
		if !tenantkeys.IsBeaconClass(c.beacon) || tenantkeys.IsBeaconClass(c.data) {
			t.Fatalf("IsBeaconClass wrong for %q / %q", c.beacon, c.data)
		}
		if d, ok := tenantkeys.DataClassOf(c.beacon); !ok || d != c.data {
			t.Fatalf("DataClassOf(%q) = %q, %v", c.beacon, d, ok)
		}
	}
	for _, bad := range []string{
		"__", "__x", "__beaconx", "__beacon.", "__beacon.default", "__beacon.__beacon", "__beacon.__x",
		"__beacon.a#b", "__beacon." + long + "c", "__beacon.a b", "__Beacon",
	} {
		if err := tenantkeys.ValidateClass(bad); !errors.Is(err, tenantkeys.ErrInvalidName) {
			t.Errorf("ValidateClass(%q) = %v, want ErrInvalidName", bad, err)
		}
	}
	// A single leading underscore is still a data class.
	if err := tenantkeys.ValidateClass("_pay"); err != nil {
		t.Fatalf("_pay: %v", err)
	}
}

// countingWrapper counts key generations (a KMS GenerateDataKey each).
type countingWrapper struct {
	tenantkeys.Wrapper
	generated atomic.Int64
}

func (w *countingWrapper) GenerateKey(ctx context.Context, ref attrcrypt.KeyRef) (attrcrypt.Key, tenantkeys.Wrapped, error) {
	w.generated.Add(1)
	return w.Wrapper.GenerateKey(ctx, ref)
}

// TestStoreBeaconKeys: Create of a data class creates its beacon key
// (one more key generation) and keeps an existing one; the beacon key is
// its own key, untouched by data key rotation, never rotated or retired,
// created on first use like any key, and destroyed by Shred.
func TestStoreBeaconKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env storeEnv) {
		ctx := context.Background()
		w := &countingWrapper{Wrapper: testKeyring(t)}
		s := env.open(w)
		bc := tenantkeys.BeaconClass("")
		if _, err := s.Create(ctx, "acme", ""); err != nil {
			t.Fatal(err)
		}
		if n := w.generated.Load(); n != 2 {
			t.Fatalf("Create made %d keys, want 2 (data and beacon)", n)
		}
		data := mustKey(t)(s.CurrentKey(ctx, "acme", ""))
		beacon := mustKey(t)(s.CurrentKey(ctx, "acme", bc))
		if beacon.Ref != ref("acme", bc, 1) || beacon.Material == data.Material {
			t.Fatalf("beacon key %s shares the data key's material or is not version 1", beacon.Ref)
		}
		// Create again: ErrConflict, no key generated, beacon key kept.
		if _, err := s.Create(ctx, "acme", ""); !errors.Is(err, tenantkeys.ErrConflict) {
			t.Fatalf("second Create: err = %v, want ErrConflict", err)
		}
		if _, err := s.Create(ctx, "acme", bc); !errors.Is(err, tenantkeys.ErrConflict) {
			t.Fatalf("Create of an existing beacon key: err = %v, want ErrConflict", err)
		}
		if n := w.generated.Load(); n != 2 {
			t.Fatalf("Creates of existing keys generated keys (%d in all)", n)
		}
		// A class of its own gets a beacon key of its own.
		if _, err := s.Create(ctx, "acme", "pay"); err != nil {
			t.Fatal(err)
		}
		payBeacon := mustKey(t)(s.CurrentKey(ctx, "acme", tenantkeys.BeaconClass("pay")))
		if payBeacon.Material == beacon.Material {
			t.Fatal("two classes share a beacon key")
		}
		// Data key rotation leaves the beacon key alone.
		if _, err := s.Rotate(ctx, "acme", ""); err != nil {
			t.Fatal(err)
		}
		if k := mustKey(t)(s.CurrentKey(ctx, "acme", bc)); k.Ref.Version != 1 || k.Material != beacon.Material {
			t.Fatalf("beacon key changed with the data key rotation: %s", k.Ref)
		}
		// Beacon keys are not rotated or retired.
		if _, err := s.Rotate(ctx, "acme", bc); !errors.Is(err, tenantkeys.ErrBeaconKeyRotation) {
			t.Fatalf("Rotate beacon: err = %v, want ErrBeaconKeyRotation", err)
		}
		if err := s.Retire(ctx, "acme", bc, 1); !errors.Is(err, tenantkeys.ErrBeaconKeyRotation) {
			t.Fatalf("Retire beacon: err = %v, want ErrBeaconKeyRotation", err)
		}
		if vs, err := s.Versions(ctx, "acme", bc); err != nil || len(vs) != 1 || !vs[0].Current {
			t.Fatalf("beacon versions after refused rotation: %+v %v", vs, err)
		}
		// A tenant of an older release: a data key without a beacon key.
		first := env.open(w, tenantkeys.WithCreateOnFirstUse(true))
		mustKey(t)(first.CurrentKey(ctx, "old", ""))
		if _, err := s.CurrentKey(ctx, "old", bc); !errors.Is(err, tenantkeys.ErrKeyNotFound) {
			t.Fatalf("first use of the data class made a beacon key: err = %v", err)
		}
		if v, err := s.Create(ctx, "old", bc); err != nil || v.Ref != ref("old", bc, 1) {
			t.Fatalf("Create(beacon class) for an old tenant: %+v %v", v.Ref, err)
		}
		if k := mustKey(t)(s.Key(ctx, ref("old", bc, 1))); k.Ref.Class != bc {
			t.Fatalf("Key: %s", k.Ref)
		}
		// First use creates a beacon key like any key.
		if k := mustKey(t)(first.CurrentKey(ctx, "fresh", tenantkeys.BeaconClass("x"))); k.Ref.Version != 1 {
			t.Fatalf("first-use beacon key %s", k.Ref)
		}
		// Shred destroys the beacon keys with the rest.
		if err := s.Shred(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{bc, tenantkeys.BeaconClass("pay")} {
			if _, err := s.CurrentKey(ctx, "acme", c); !errors.Is(err, tenantkeys.ErrKeyShredded) {
				t.Fatalf("CurrentKey(%s) after shred: err = %v, want ErrKeyShredded", c, err)
			}
			if _, err := s.Key(ctx, ref("acme", c, 1)); !errors.Is(err, tenantkeys.ErrKeyShredded) {
				t.Fatalf("Key(%s v1) after shred: err = %v, want ErrKeyShredded", c, err)
			}
		}
		// The shredded beacon key is not recreated by Create.
		if _, err := s.Create(ctx, "acme", ""); !errors.Is(err, tenantkeys.ErrKeyShredded) {
			t.Fatalf("Create after shred: err = %v, want ErrKeyShredded", err)
		}
		// After reopening, Create makes a new beacon key numbered above the
		// destroyed one, which stays destroyed.
		if err := s.ReopenAfterShred(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, "acme", ""); err != nil {
			t.Fatal(err)
		}
		reborn := mustKey(t)(s.CurrentKey(ctx, "acme", bc))
		if reborn.Ref.Version != 2 || reborn.Material == beacon.Material {
			t.Fatalf("beacon key after reopen: %s", reborn.Ref)
		}
		if _, err := s.Key(ctx, ref("acme", bc, 1)); !errors.Is(err, tenantkeys.ErrKeyShredded) {
			t.Fatalf("destroyed beacon key after reopen: err = %v, want ErrKeyShredded", err)
		}
	})
}

// TestStoreBeaconKeyRacingCreates: concurrent Creates of several classes
// of one tenant (each also making sure of its beacon key) leave exactly
// one beacon key per class, every racer seeing the same material.
func TestStoreBeaconKeyRacingCreates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env storeEnv) {
		ctx := context.Background()
		kr := testKeyring(t)
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			s := env.open(kr)
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.Create(ctx, "race", []string{"", "pay"}[i%2])
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, tenantkeys.ErrConflict):
				t.Fatalf("racing Create: %v", err)
			}
		}
		if wins != 2 {
			t.Fatalf("%d Creates won, want 2 (one per class)", wins)
		}
		s := env.open(kr)
		for _, c := range []string{"", "pay"} {
			vs, err := s.Versions(ctx, "race", tenantkeys.BeaconClass(c))
			if err != nil || len(vs) != 1 {
				t.Fatalf("beacon key versions of %q: %d %v", c, len(vs), err)
			}
			mustKey(t)(s.CurrentKey(ctx, "race", tenantkeys.BeaconClass(c)))
		}
	})
}

// contextFreeWrapper "wraps" by storing the material in the clear and
// binds nothing to the blob: with it only the record tags stand between a
// copied record and its use (test only, never a real wrapper).
type contextFreeWrapper struct{}

func (contextFreeWrapper) GenerateWrapped(ctx context.Context, ref attrcrypt.KeyRef) (tenantkeys.Wrapped, error) {
	_, w, err := contextFreeWrapper{}.GenerateKey(ctx, ref)
	return w, err
}

func (contextFreeWrapper) GenerateKey(_ context.Context, ref attrcrypt.KeyRef) (attrcrypt.Key, tenantkeys.Wrapped, error) {
	k := attrcrypt.Key{Ref: ref}
	if _, err := rand.Read(k.Material[:]); err != nil {
		return attrcrypt.Key{}, tenantkeys.Wrapped{}, err
	}
	return k, tenantkeys.Wrapped{KeyID: "clear", Blob: bytes.Clone(k.Material[:])}, nil
}

func (contextFreeWrapper) Unwrap(_ context.Context, ref attrcrypt.KeyRef, w tenantkeys.Wrapped) (attrcrypt.Key, error) {
	k := attrcrypt.Key{Ref: ref}
	copy(k.Material[:], w.Blob)
	return k, nil
}

// TestAttackBeaconRecordSwapMemory: in the memory store, the records of a
// data key copied over a beacon key's (and the other way round) are
// refused, never served as the other key: by the wrapping context and the
// record tag with a Keyring, and by the record tag alone with a wrapper
// that binds nothing.
func TestAttackBeaconRecordSwapMemory(t *testing.T) {
	for _, w := range []struct {
		name string
		w    func() tenantkeys.Wrapper
	}{
		{"keyring", func() tenantkeys.Wrapper { return testKeyring(t) }},
		{"record tag only", func() tenantkeys.Wrapper { return contextFreeWrapper{} }},
	} {
		t.Run(w.name, func(t *testing.T) { beaconRecordSwap(t, w.w) })
	}
}

func beaconRecordSwap(t *testing.T, wrapper func() tenantkeys.Wrapper) {
	ctx := context.Background()
	for _, dir := range []struct{ from, to string }{
		{"", tenantkeys.BeaconClass("")},
		{tenantkeys.BeaconClass(""), ""},
		{"pay", tenantkeys.BeaconClass("pay")},
		{tenantkeys.BeaconClass("pay"), tenantkeys.BeaconClass("")},
	} {
		kr := wrapper()
		s := tenantkeys.NewMemoryStore(kr)
		for _, c := range []string{"", "pay"} {
			if _, err := s.Create(ctx, "acme", c); err != nil {
				t.Fatal(err)
			}
		}
		tenantkeys.CopyClassRecords(s, "acme", dir.from, dir.to)
		if _, err := s.CurrentKey(ctx, "acme", dir.from); err != nil {
			t.Fatalf("the copied class %q itself: %v", dir.from, err)
		}
		// The Store that wrote the records, and one of another process.
		for _, p := range []tenantkeys.Provider{s, tenantkeys.SameBackend(s, kr)} {
			if _, err := p.CurrentKey(ctx, "acme", dir.to); !errors.Is(err, tenantkeys.ErrKeyRecordTampered) {
				t.Fatalf("%q records as %q: CurrentKey err = %v, want ErrKeyRecordTampered", dir.from, dir.to, err)
			}
			if _, err := p.Key(ctx, ref("acme", dir.to, 1)); !errors.Is(err, tenantkeys.ErrKeyRecordTampered) {
				t.Fatalf("%q records as %q: Key err = %v, want ErrKeyRecordTampered", dir.from, dir.to, err)
			}
		}
	}
}

// TestAttackBeaconRecordSwap: in a DynamoDB key store with KMS, a data
// key's records written over a beacon key's items (and the other way
// round) by a key-table writer are refused with ErrKeyRecordTampered.
func TestAttackBeaconRecordSwap(t *testing.T) {
	k := newKeyTable(t)
	admin := k.store()
	for _, c := range []string{"", "pay"} {
		if _, err := admin.Create(k.ctx, "acme", c); err != nil {
			t.Fatal(err)
		}
	}
	b, bp := tenantkeys.BeaconClass(""), tenantkeys.BeaconClass("pay")
	keep := map[string]map[string]types.AttributeValue{}
	for _, c := range []string{"", "pay", b, bp} {
		keep["P#"+c] = k.get(t, "acme", "P#"+c)
		keep[skV(c, 1)] = k.get(t, "acme", skV(c, 1))
	}
	for _, tc := range []struct{ from, to string }{{"", b}, {b, ""}, {"pay", b}, {bp, b}, {b, "pay"}} {
		t.Run(tc.from+" as "+tc.to, func(t *testing.T) {
			defer func() {
				for sk, item := range keep {
					k.put(t, "acme", sk, item)
				}
			}()
			k.put(t, "acme", "P#"+tc.to, keep["P#"+tc.from])
			k.put(t, "acme", skV(tc.to, 1), keep[skV(tc.from, 1)])
			s := k.store()
			if _, err := s.CurrentKey(k.ctx, "acme", tc.to); !errors.Is(err, tenantkeys.ErrKeyRecordTampered) {
				t.Fatalf("CurrentKey err = %v, want ErrKeyRecordTampered", err)
			}
			if _, err := s.Key(k.ctx, ref("acme", tc.to, 1)); !errors.Is(err, tenantkeys.ErrKeyRecordTampered) {
				t.Fatalf("Key err = %v, want ErrKeyRecordTampered", err)
			}
			mustKey(t)(s.CurrentKey(k.ctx, "acme", tc.from))
		})
	}
}

// TestKMSBeaconKeyUnderClassKey: with a KMS key per tenant and class, the
// beacon key of a class is wrapped by that class's KMS key (the selector is
// asked about the data class, never about "__beacon.C", which no alias
// could name), under its own encryption context.
func TestKMSBeaconKeyUnderClassKey(t *testing.T) {
	ctx := context.Background()
	srv := startKMS(t)
	s := &kmsServer{name: "kmslocal", client: srv.Client(), prefix: "alias/"}
	payKey, payARN := s.createKey(t, "acme pay")
	defKey, _ := s.createKey(t, "acme default")
	s.alias(t, "acme/pay", payKey)
	s.alias(t, "acme/default", defKey)
	var mu sync.Mutex
	var asked []string
	pattern := tenantkeys.AliasPattern("alias/{tenant}/{class}")
	sel := func(tenant, class string) (string, error) {
		mu.Lock()
		asked = append(asked, class)
		mu.Unlock()
		return pattern(tenant, class)
	}
	store := tenantkeys.NewMemoryStore(tenantkeys.NewKMSWrapper(s.client, sel))
	for _, c := range []string{"", "pay"} {
		if _, err := store.Create(ctx, "acme", c); err != nil {
			t.Fatalf("Create(%q): %v", c, err)
		}
	}
	vs, err := store.Versions(ctx, "acme", tenantkeys.BeaconClass("pay"))
	if err != nil || len(vs) != 1 {
		t.Fatalf("beacon versions: %v %v", vs, err)
	}
	if id := vs[0].Wrapped.KeyID; id != payARN && id != payKey {
		t.Fatalf("beacon key of pay wrapped under %s, want the pay key %s", id, payARN)
	}
	beacon := mustKey(t)(store.CurrentKey(ctx, "acme", tenantkeys.BeaconClass("pay")))
	data := mustKey(t)(store.CurrentKey(ctx, "acme", "pay"))
	if beacon.Material == data.Material {
		t.Fatal("beacon key equals the data key")
	}
	// The blob is bound to the beacon class: a raw Decrypt under the data
	// class's context fails, under the beacon class's succeeds.
	for class, ok := range map[string]bool{"__beacon.pay": true, "pay": false} {
		_, err := s.client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: vs[0].Wrapped.Blob, EncryptionContext: map[string]string{
			"tenant": "acme", "class": class, "version": "1", "purpose": tenantkeys.Purpose,
		}})
		if (err == nil) != ok {
			t.Fatalf("raw Decrypt with class %q: err = %v", class, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, c := range asked {
		if tenantkeys.IsBeaconClass(c) {
			t.Fatalf("selector asked about beacon class %q", c)
		}
	}
}
