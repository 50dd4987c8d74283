package attrcrypt

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// newerWriter seals with a schema that has attributes an older reader does
// not know: "diagnosis" encrypted, "ward" signed, "ttl" plain.
func newerWriter(t *testing.T) *Sealer {
	t.Helper()
	acts := map[string]Action{"diagnosis": ActionEncrypt, "ttl": ActionPlain, "expires": ActionPlain}
	for k, v := range refActions {
		acts[k] = v
	}
	s, err := NewSealer(Config{Table: refTable, TenantAttribute: "tenant", Actions: acts})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newerItem() map[string]types.AttributeValue {
	item := refItem()
	item["diagnosis"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"code": S("J45"), "dose": N("2.50"), "notes": &types.AttributeValueMemberL{Value: []types.AttributeValue{S("x"), N("1E3")}},
	}}
	item["ward"] = S("north")
	item["ttl"] = N("1800000000")
	return item
}

// olderReader knows only the reference schema, and even classifies one of
// its attributes differently (notes plain), to show the config is ignored.
func olderReader(t *testing.T) *Sealer {
	t.Helper()
	s, err := NewSealer(Config{Table: refTable, TenantAttribute: "tenant", Actions: map[string]Action{"notes": ActionPlain, "name": ActionSign}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newerSealed returns the newer writer, the older reader, key version 1 and
// newerItem sealed by the writer under it.
func newerSealed(t *testing.T) (*Sealer, *Sealer, Key, map[string]types.AttributeValue) {
	t.Helper()
	w := newerWriter(t)
	k1 := testKey(refTenant, "", 1)
	stored, err := w.Seal(newerItem(), k1)
	if err != nil {
		t.Fatal(err)
	}
	return w, olderReader(t), k1, stored
}

// TestResealKeepsEveryAttributeAndAction reseals, with a Sealer whose
// schema knows none of the newer attributes, an item a newer writer sealed,
// and checks that every attribute survives with its recorded action.
func TestResealKeepsEveryAttributeAndAction(t *testing.T) {
	w := newerWriter(t)
	r := olderReader(t)
	k1 := testKey(refTenant, "", 1)
	k2 := testKey(refTenant, "", 2)
	stored, err := w.Seal(newerItem(), k1)
	if err != nil {
		t.Fatal(err)
	}
	before := cloneItem(stored)
	resealed, err := r.Reseal(stored, k1, k2)
	if err != nil {
		t.Fatal(err)
	}
	assertEqualItems(t, stored, before) // input untouched
	for name := range stored {
		if _, ok := resealed[name]; !ok {
			t.Errorf("attribute %q dropped by Reseal", name)
		}
	}
	if len(resealed) != len(stored) {
		t.Fatalf("resealed has %d attributes, stored %d", len(resealed), len(stored))
	}
	// Same recorded actions and writer-plain list, new key reference.
	h1, _ := parseHeader(bval(stored, HeaderAttribute))
	h2, err := parseHeader(bval(resealed, HeaderAttribute))
	if err != nil {
		t.Fatal(err)
	}
	if h2.keyVersion != 2 || h1.n != h2.n || !bytes.Equal(h1.actions, h2.actions) || !bytes.Equal(h1.plainRaw, h2.plainRaw) {
		t.Fatalf("recorded actions changed: before n=%d %x %x, after v%d n=%d %x %x", h1.n, h1.actions, h1.plainRaw, h2.keyVersion, h2.n, h2.actions, h2.plainRaw)
	}
	if bytes.Equal(h1.salt, h2.salt) {
		t.Fatal("Reseal kept the salt")
	}
	for name, av := range stored {
		if IsReserved(name) {
			continue
		}
		switch w.action(name) {
		case ActionEncrypt:
			if bytes.Equal(bval(stored, name), bval(resealed, name)) {
				t.Errorf("encrypted %q not re-encrypted", name)
			}
		default: // signed and plain values are carried as stored
			if resealed[name] != av {
				t.Errorf("%q changed by Reseal", name)
			}
		}
	}
	// The newer writer opens it under the new key to the same values.
	got, res, err := w.Open(resealed, k2)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := w.Open(stored, k1)
	if err != nil {
		t.Fatal(err)
	}
	assertEqualItems(t, got, want)
	if res.NeedsReseal() {
		t.Fatalf("drift after Reseal: %+v", res.Drift)
	}
	// The old key no longer opens it.
	if _, _, err := w.Open(resealed, k1); err == nil {
		t.Fatal("resealed item opens under the old key")
	}
}

func TestResealErrors(t *testing.T) {
	s := refSealer(t)
	k1 := testKey(refTenant, "", 1)
	k2 := testKey(refTenant, "", 2)
	stored, err := s.Seal(refItem(), k1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Reseal(withB(stored, SignatureAttribute, flip(0)), k1, k2)
	wantTamper(t, err, ReasonSignature)
	_, err = s.Reseal(stored, k2, k2) // wrong old key version
	wantTamper(t, err, ReasonCommitment)
	added := cloneItem(stored)
	added["injected"] = S("x")
	_, err = s.Reseal(added, k1, k2)
	wantTamper(t, err, ReasonAttributeSet)
	if _, err = s.Reseal(stored, k1, testKey("tenant-0043", "", 2)); !errors.Is(err, ErrWrongTenant) {
		t.Fatalf("other tenant's new key: %v, want ErrWrongTenant", err)
	}
	if _, err = s.Reseal(stored, k1, Key{Ref: k2.Ref}); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("zero new key: %v, want ErrInvalidKey", err)
	}
	if _, err = s.Reseal(stored, testKey("tenant-0043", "", 1), k2); !errors.Is(err, ErrWrongTenant) {
		t.Fatalf("other tenant's old key: %v, want ErrWrongTenant", err)
	}
	// A ciphertext swap re-signed by a key holder is caught by GCM.
	m := cloneItem(stored)
	m["name"], m["email"] = stored["email"], stored["name"]
	resign(t, s, m, k1)
	_, err = s.Reseal(m, k1, k2)
	wantTamper(t, err, ReasonAttribute)
	assertNoValues(t, err)
}

func TestVerify(t *testing.T) {
	w, r, k1, stored := newerSealed(t)
	if err := r.Verify(stored, k1); err != nil {
		t.Fatalf("Verify of a genuine item under another schema: %v", err)
	}
	// The plain attribute is outside the signature: changing it is fine.
	m := cloneItem(stored)
	m["ttl"] = N("1")
	if err := r.Verify(m, k1); err != nil {
		t.Fatalf("Verify after a plain edit: %v", err)
	}
	wantTamper(t, r.Verify(withB(stored, HeaderAttribute, flip(40)), k1), ReasonCommitment)
	m = cloneItem(stored)
	m["ward"] = S("south")
	wantTamper(t, r.Verify(m, k1), ReasonSignature)
	m = cloneItem(stored)
	delete(m, "ward")
	wantTamper(t, r.Verify(m, k1), ReasonAttributeSet)
	// GCM is checked too: a ciphertext altered and re-signed by a key
	// holder passes the signature but not Verify.
	m = withB(stored, "diagnosis", flip(5))
	resign(t, w, m, k1)
	err := r.Verify(m, k1)
	wantTamper(t, err, ReasonAttribute)
	var te *TamperError
	if errors.As(err, &te); te.Attribute != "diagnosis" {
		t.Fatalf("attribute = %q, want diagnosis", te.Attribute)
	}
}

func TestOpenRecorded(t *testing.T) {
	w, r, k1, stored := newerSealed(t)
	want, _, err := w.Open(stored, k1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.OpenRecorded(stored, k1)
	if err != nil {
		t.Fatal(err)
	}
	assertEqualItems(t, got, want)
	// Under its own config the old reader would refuse (plain → sign).
	if _, _, err := r.Open(stored, k1); !errors.Is(err, ErrSchemaMismatch) {
		t.Fatalf("Open under the old schema: %v, want ErrSchemaMismatch", err)
	}
	_, err = r.OpenRecorded(withB(stored, SignatureAttribute, flip(31)), k1)
	wantTamper(t, err, ReasonSignature)
}

func TestCommitsTo(t *testing.T) {
	s := refSealer(t)
	k1 := testKey(refTenant, "", 1)
	stored, err := s.Seal(refItem(), k1)
	if err != nil {
		t.Fatal(err)
	}
	if !s.CommitsTo(stored, k1) {
		t.Fatal("CommitsTo(sealing key) = false")
	}
	// Edited key reference (version 1 → 7): still commits to key 1.
	edited := withB(stored, HeaderAttribute, func(b []byte) []byte { b[2+3] = 7; return b })
	if !s.CommitsTo(edited, k1) {
		t.Fatal("CommitsTo after a key-version edit = false")
	}
	if _, _, err := s.Open(edited, k1); err == nil {
		t.Fatal("edited item opens")
	}
	if s.CommitsTo(stored, testKey(refTenant, "", 2)) || s.CommitsTo(stored, testKey("tenant-0043", "", 1)) {
		t.Fatal("CommitsTo(another key) = true")
	}
	if s.CommitsTo(withB(stored, HeaderAttribute, flip(commitOffset(0))), k1) {
		t.Fatal("CommitsTo with an edited commitment = true")
	}
	if s.CommitsTo(withB(stored, HeaderAttribute, func(b []byte) []byte { return b[:10] }), k1) {
		t.Fatal("CommitsTo on a truncated header = true")
	}
	if s.CommitsTo(stored, Key{Ref: k1.Ref}) {
		t.Fatal("CommitsTo(zero key) = true")
	}
}

// TestPlainListRefusesReservedAndTenant forges items (with the tenant key)
// whose header lists a reserved name or the tenant attribute as plain.
func TestPlainListRefusesReservedAndTenant(t *testing.T) {
	k1 := testKey(refTenant, "", 1)
	for _, names := range [][]string{{"__h"}, {"__x"}, {"a", "__s", "z"}, {"tenant"}} {
		bad := refSealer(t)
		bad.plainRaw = encodePlainNames(sortedCopy(names))
		stored, err := bad.Seal(refItem(), k1)
		if err != nil {
			t.Fatal(err)
		}
		s := refSealer(t)
		_, _, err = s.Open(stored, k1)
		wantTamper(t, err, ReasonHeader)
		wantTamper(t, s.Verify(stored, k1), ReasonHeader)
		_, err = s.KeyRef(stored)
		wantTamper(t, err, ReasonHeader)
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// TestResealCarriesUnknownReservedNames: reserved attributes a future
// format version might add are outside the covered set; Reseal keeps them
// (every input attribute is in the output) and Open still hides them.
func TestResealCarriesUnknownReservedNames(t *testing.T) {
	s := refSealer(t)
	k1, k2 := testKey(refTenant, "", 1), testKey(refTenant, "", 2)
	stored, err := s.Seal(refItem(), k1)
	if err != nil {
		t.Fatal(err)
	}
	stored["__future"] = S("x")
	out, err := s.Reseal(stored, k1, k2)
	if err != nil {
		t.Fatal(err)
	}
	if out["__future"] != stored["__future"] {
		t.Fatal("Reseal dropped an unknown reserved attribute")
	}
	got, _, err := s.Open(out, k2)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["__future"]; ok {
		t.Fatal("Open returned a reserved attribute")
	}
	if err := s.Verify(out, k2); err != nil {
		t.Fatal(err)
	}
}
