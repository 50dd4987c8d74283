package tenantkeys_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

func ref(tenant, class string, v uint32) attrcrypt.KeyRef {
	return attrcrypt.KeyRef{Tenant: tenant, Class: class, Version: v}
}

func testKeyring(t testing.TB) *tenantkeys.Keyring {
	t.Helper()
	kr, err := tenantkeys.GenerateMasterKeyFile(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestParseKeyringFormats(t *testing.T) {
	raw := bytes.Repeat([]byte{0xab}, 32)
	hx := hex.EncodeToString(raw)
	b64 := base64.StdEncoding.EncodeToString(raw)
	for name, text := range map[string]string{
		"bare hex":        hx,
		"bare base64":     b64,
		"raw url base64":  base64.RawURLEncoding.EncodeToString(raw),
		"id space hex":    "# comment\n\nk1 " + hx + "\n",
		"id colon base64": "k1:" + b64,
		"env separators":  "k1:" + hx + ";k2:" + b64,
	} {
		kr, err := tenantkeys.ParseKeyring([]byte(text))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if kr.Newest() == "" {
			t.Errorf("%s: no newest key", name)
		}
	}
	kr, _ := tenantkeys.ParseKeyring([]byte("a " + hx + "\nb " + b64))
	if kr.Newest() != "b" || strings.Join(kr.IDs(), ",") != "a,b" {
		t.Fatalf("ids = %v newest = %s", kr.IDs(), kr.Newest())
	}
	for name, text := range map[string]string{
		"empty":          "# nothing\n",
		"short key":      "k1 " + hx[:62],
		"31 bytes b64":   base64.StdEncoding.EncodeToString(raw[:31]),
		"two bare keys":  hx + "\n" + b64,
		"duplicate id":   "k " + hx + "\nk " + b64,
		"bad id":         "k/1 " + hx,
		"not key at all": "k1 zzzz",
	} {
		_, err := tenantkeys.ParseKeyring([]byte(text))
		if !errors.Is(err, tenantkeys.ErrKeyring) {
			t.Errorf("%s: err = %v, want ErrKeyring", name, err)
		}
		if err != nil && strings.Contains(err.Error(), hx[:16]) {
			t.Errorf("%s: error echoes key material", name)
		}
	}
}

func TestKeyringFromEnv(t *testing.T) {
	t.Setenv("DYNASEAL_TEST_MK", "k1:"+strings.Repeat("01", 32))
	kr, err := tenantkeys.KeyringFromEnv("DYNASEAL_TEST_MK")
	if err != nil || kr.Newest() != "k1" {
		t.Fatalf("KeyringFromEnv: %v", err)
	}
	if _, err := tenantkeys.KeyringFromEnv("DYNASEAL_TEST_UNSET_VARIABLE"); !errors.Is(err, tenantkeys.ErrKeyring) {
		t.Fatalf("unset variable: err = %v", err)
	}
}

func TestGenerateMasterKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cfg", "dynaseal", "master.key")
	kr, err := tenantkeys.GenerateMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %#o, want 0600", st.Mode().Perm())
	}
	if _, err := tenantkeys.GenerateMasterKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second generate: err = %v, want fs.ErrExist", err)
	}
	loaded, err := tenantkeys.LoadKeyringFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The loaded keyring is the same key: it unwraps what the first wrapped.
	ctx := context.Background()
	k, w, err := kr.GenerateKey(ctx, ref("t", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	got, err := loaded.Unwrap(ctx, ref("t", "", 1), w)
	if err != nil || got.Material != k.Material {
		t.Fatalf("unwrap with loaded keyring: %v", err)
	}
	// Two generated files hold different keys.
	other := testKeyring(t)
	if _, err := other.Unwrap(ctx, ref("t", "", 1), w); !errors.Is(err, tenantkeys.ErrKeyCorrupt) {
		t.Fatalf("unwrap under another master key: err = %v, want ErrKeyCorrupt", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tenantkeys.LoadKeyringFile(path); !errors.Is(err, tenantkeys.ErrKeyring) {
		t.Fatalf("world-readable file: err = %v, want ErrKeyring", err)
	}
}

func TestMasterKeyRotation(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "master.key")
	kr1, err := tenantkeys.GenerateMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k1, w1, err := kr1.GenerateKey(ctx, ref("t", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	kr2, err := tenantkeys.RotateMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("rotated file mode = %#o", st.Mode().Perm())
	}
	if kr2.Newest() != "k2" || len(kr2.IDs()) != 2 {
		t.Fatalf("after rotation ids = %v newest = %s", kr2.IDs(), kr2.Newest())
	}
	_, w2, err := kr2.GenerateKey(ctx, ref("t", "", 2))
	if err != nil {
		t.Fatal(err)
	}
	if w1.KeyID != "local:k1" || w2.KeyID != "local:k2" {
		t.Fatalf("wrapping key ids = %s, %s", w1.KeyID, w2.KeyID)
	}
	got, err := kr2.Unwrap(ctx, ref("t", "", 1), w1)
	if err != nil || got.Material != k1.Material {
		t.Fatalf("old wrap under rotated keyring: %v", err)
	}
	// A keyring that lacks the recorded master key says so.
	if _, err := kr1.Unwrap(ctx, ref("t", "", 2), w2); !errors.Is(err, tenantkeys.ErrKeyNotFound) {
		t.Fatalf("missing master key: err = %v, want ErrKeyNotFound", err)
	}
}

func TestLocalWrapBindsContext(t *testing.T) {
	ctx := context.Background()
	kr := testKeyring(t)
	k, w, err := kr.GenerateKey(ctx, ref("tenant-a", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	if k.IsZero() {
		t.Fatal("generated key is zero")
	}
	for _, r := range []attrcrypt.KeyRef{ref("tenant-b", "", 1), ref("tenant-a", "payments", 1), ref("tenant-a", "", 2)} {
		if _, err := kr.Unwrap(ctx, r, w); !errors.Is(err, tenantkeys.ErrKeyCorrupt) {
			t.Errorf("unwrap as %s: err = %v, want ErrKeyCorrupt", r, err)
		}
	}
	flipped := tenantkeys.Wrapped{KeyID: w.KeyID, Blob: bytes.Clone(w.Blob)}
	flipped.Blob[len(flipped.Blob)-1] ^= 1
	if _, err := kr.Unwrap(ctx, ref("tenant-a", "", 1), flipped); !errors.Is(err, tenantkeys.ErrKeyCorrupt) {
		t.Errorf("flipped blob: err = %v", err)
	}
	relabelled := tenantkeys.Wrapped{KeyID: "local:other", Blob: w.Blob}
	if _, err := kr.Unwrap(ctx, ref("tenant-a", "", 1), relabelled); !errors.Is(err, tenantkeys.ErrKeyCorrupt) {
		t.Errorf("relabelled key id: err = %v", err)
	}
	w2, err := kr.GenerateWrapped(ctx, ref("tenant-a", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := kr.Unwrap(ctx, ref("tenant-a", "", 1), w2)
	if err != nil || k2.Material == k.Material {
		t.Fatalf("GenerateWrapped: err = %v, material repeated = %v", err, k2.Material == k.Material)
	}
}

func TestValidateNames(t *testing.T) {
	for _, tenant := range []string{"", strings.Repeat("x", 257), "a\nb", "\xff"} {
		if err := tenantkeys.ValidateTenant(tenant); !errors.Is(err, tenantkeys.ErrInvalidName) {
			t.Errorf("tenant %q: err = %v", tenant, err)
		}
	}
	for _, class := range []string{"default", "a#b", "a b", strings.Repeat("c", 65)} {
		if err := tenantkeys.ValidateClass(class); !errors.Is(err, tenantkeys.ErrInvalidName) {
			t.Errorf("class %q: err = %v", class, err)
		}
	}
	for _, class := range []string{"", "payments", "pii.v2", "A_b-c"} {
		if err := tenantkeys.ValidateClass(class); err != nil {
			t.Errorf("class %q: %v", class, err)
		}
	}
	ec := tenantkeys.EncryptionContext(ref("t1", "", 3))
	want := map[string]string{"tenant": "t1", "class": "default", "version": "3", "purpose": "dynaseal-tenant-key"}
	if len(ec) != len(want) {
		t.Fatalf("context = %v", ec)
	}
	for k, v := range want {
		if ec[k] != v {
			t.Fatalf("context = %v, want %v", ec, want)
		}
	}
}
