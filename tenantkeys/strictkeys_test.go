package tenantkeys_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/dynaseal/dynaseal/itest/kmslocal"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// decryptRecorder passes calls to a real KMS client and records the KeyId
// of every Decrypt.
type decryptRecorder struct {
	*kms.Client
	mu     sync.Mutex
	keyIDs []string
}

func (r *decryptRecorder) Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	r.mu.Lock()
	r.keyIDs = append(r.keyIDs, aws.ToString(in.KeyId))
	r.mu.Unlock()
	return r.Client.Decrypt(ctx, in, optFns...)
}

func (r *decryptRecorder) named() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.keyIDs...)
}

// TestAliasPatternStrictKeys: with a key per tenant by alias, Decrypt always
// names the alias (KMS checks the blob is under the key the alias names),
// a record under any other key is refused, an edited key id is refused, and
// after the alias is pointed at a new key the old versions open only through
// WithPreviousKeys until Rewrap moves them.
func TestAliasPatternStrictKeys(t *testing.T) {
	k := newKeyTable(t)
	keyA := k.srv.CreateKey("acme A")
	if err := k.srv.SetAlias("alias/tenant-acme", keyA); err != nil {
		t.Fatal(err)
	}
	rec := &decryptRecorder{Client: k.srv.Client()}
	sel := tenantkeys.AliasPattern("alias/tenant-{tenant}")
	store := func(opts ...tenantkeys.KMSOption) *tenantkeys.Store {
		return tenantkeys.NewDynamoDBStore(k.ddb, k.tbl, tenantkeys.NewKMSWrapper(rec, sel, opts...))
	}
	admin := store()
	if _, err := admin.Create(k.ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	v1 := mustKey(t)(store().Key(k.ctx, ref("acme", "", 1)))
	if got := k.get(t, "acme", skV("", 1))["kmsKeyId"].(*types.AttributeValueMemberS).Value; got != kmslocal.KeyARN(keyA) {
		t.Fatalf("recorded wrapping key %q, want the alias's target %q", got, kmslocal.KeyARN(keyA))
	}

	// A planted record under the attacker's key, claiming keyA.
	genuine := k.get(t, "acme", skV("", 1))
	forged, item := k.plant(t, ref("acme", "", 1), kmslocal.KeyARN(keyA))
	k.put(t, "acme", skV("", 1), item)
	if _, err := store().Key(k.ctx, ref("acme", "", 1)); !errors.Is(err, tenantkeys.ErrUntrustedKey) {
		t.Fatalf("planted record: err = %v, want ErrUntrustedKey", err)
	}
	forgeAndOpen(t, store(), forged)
	// The genuine blob, but the key id edited to the attacker's key.
	edited := make(map[string]types.AttributeValue, len(genuine))
	for n, v := range genuine {
		edited[n] = v
	}
	edited["kmsKeyId"] = &types.AttributeValueMemberS{Value: kmslocal.KeyARN(k.evil)}
	k.put(t, "acme", skV("", 1), edited)
	if _, err := store().Key(k.ctx, ref("acme", "", 1)); !errors.Is(err, tenantkeys.ErrUntrustedKey) {
		t.Fatalf("edited key id: err = %v, want ErrUntrustedKey", err)
	}
	k.put(t, "acme", skV("", 1), genuine)
	for _, id := range rec.named() {
		if id != "alias/tenant-acme" {
			t.Fatalf("Decrypt named %q, want the alias", id)
		}
	}

	// The alias moves to a new key: old versions are no longer allowed...
	keyB := k.srv.CreateKey("acme B")
	if err := k.srv.SetAlias("alias/tenant-acme", keyB); err != nil {
		t.Fatal(err)
	}
	if _, err := store().Key(k.ctx, ref("acme", "", 1)); !errors.Is(err, tenantkeys.ErrUntrustedKey) {
		t.Fatalf("after the alias moved: err = %v, want ErrUntrustedKey", err)
	}
	// ...unless the previous key is allowed, until Rewrap moves them.
	prev := tenantkeys.KeyMap(map[string]string{"acme": keyA}, nil)
	if got := mustKey(t)(store(tenantkeys.WithPreviousKeys(prev)).Key(k.ctx, ref("acme", "", 1))); got.Material != v1.Material {
		t.Fatal("previous key opened another key")
	}
	if n, err := store(tenantkeys.WithPreviousKeys(prev)).Rewrap(k.ctx, "acme", "", nil); err != nil || n != 2 {
		t.Fatalf("rewrap: %d, %v", n, err)
	}
	if got := mustKey(t)(store().Key(k.ctx, ref("acme", "", 1))); got.Material != v1.Material {
		t.Fatal("rewrap changed the key")
	}
	if _, err := k.srv.Client().DisableKey(k.ctx, &kms.DisableKeyInput{KeyId: aws.String(keyA)}); err != nil {
		t.Fatal(err)
	}
	mustKey(t)(store().CurrentKey(k.ctx, "acme", ""))
	// The previous-key option never admits the attacker's key.
	forged2, item2 := k.plant(t, ref("acme", "", 1), kmslocal.KeyARN(k.evil))
	k.put(t, "acme", skV("", 1), item2)
	if _, err := store(tenantkeys.WithPreviousKeys(prev)).Key(k.ctx, ref("acme", "", 1)); !errors.Is(err, tenantkeys.ErrUntrustedKey) {
		t.Fatalf("planted with previous keys allowed: err = %v, want ErrUntrustedKey", err)
	}
	forgeAndOpen(t, store(tenantkeys.WithPreviousKeys(prev)), forged2)
}

// TestSharedKeyDecryptNamesTheKey: with SharedKey and KeyMap, every Decrypt
// names the configured key, and a record naming another key is refused
// without calling KMS.
func TestSharedKeyDecryptNamesTheKey(t *testing.T) {
	k := newKeyTable(t)
	for name, sel := range map[string]tenantkeys.KeySelector{
		"shared": tenantkeys.SharedKey(k.good),
		"keymap": tenantkeys.KeyMap(map[string]string{"acme": kmslocal.KeyARN(k.good)}, nil),
	} {
		t.Run(name, func(t *testing.T) {
			rec := &decryptRecorder{Client: k.srv.Client()}
			w := tenantkeys.NewKMSWrapper(rec, sel)
			s := tenantkeys.NewMemoryStore(w)
			if _, err := s.Create(k.ctx, "acme", ""); err != nil {
				t.Fatal(err)
			}
			mustKey(t)(s.CurrentKey(k.ctx, "acme", ""))
			want, _ := sel("acme", "")
			for _, id := range rec.named() {
				if id != want {
					t.Fatalf("Decrypt named %q, want %q", id, want)
				}
			}
			_, planted := k.plant(t, ref("acme", "", 1), kmslocal.KeyARN(k.evil))
			before := len(rec.named())
			_, err := w.Unwrap(k.ctx, ref("acme", "", 1), tenantkeys.Wrapped{
				KeyID: kmslocal.KeyARN(k.evil), Blob: planted["wrapped"].(*types.AttributeValueMemberB).Value,
			})
			if !errors.Is(err, tenantkeys.ErrUntrustedKey) {
				t.Fatalf("record naming the attacker's key: err = %v", err)
			}
			if len(rec.named()) != before {
				t.Fatal("KMS was called for a record naming a key the configuration does not allow")
			}
		})
	}
}
