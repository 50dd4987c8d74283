package attrcrypt

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// readers are every call that reads a stored item, each returning whether
// it handed back any data.
func readers(s *Sealer, key Key) map[string]func(map[string]types.AttributeValue) (bool, error) {
	return map[string]func(map[string]types.AttributeValue) (bool, error){
		"Open": func(m map[string]types.AttributeValue) (bool, error) {
			out, _, err := s.Open(m, key)
			return out != nil, err
		},
		"OpenRecorded": func(m map[string]types.AttributeValue) (bool, error) {
			out, err := s.OpenRecorded(m, key)
			return out != nil, err
		},
		"Verify": func(m map[string]types.AttributeValue) (bool, error) { return false, s.Verify(m, key) },
		"Reseal": func(m map[string]types.AttributeValue) (bool, error) {
			out, err := s.Reseal(m, key, testKey(refTenant, "", 2))
			return out != nil, err
		},
		"KeyRef": func(m map[string]types.AttributeValue) (bool, error) {
			_, err := s.KeyRef(m)
			return false, err
		},
	}
}

// TestNotSealedIsNotTampered: a plaintext item (never sealed) and a sealed
// item stripped of both __h and __s are ErrNotSealed, never ErrTampered,
// from every reader, and no reader returns their data.
func TestNotSealedIsNotTampered(t *testing.T) {
	s := refSealer(t)
	key := testKey(refTenant, "", 1)
	sealed, err := s.Seal(refItem(), key)
	if err != nil {
		t.Fatal(err)
	}
	stripped := cloneItem(sealed)
	delete(stripped, HeaderAttribute)
	delete(stripped, SignatureAttribute)
	for name, item := range map[string]map[string]types.AttributeValue{"plaintext": refItem(), "stripped": stripped} {
		if !IsUnsealed(item) {
			t.Fatalf("%s: IsUnsealed = false", name)
		}
		for rn, read := range readers(s, key) {
			data, err := read(item)
			if !errors.Is(err, ErrNotSealed) {
				t.Fatalf("%s %s: %v, want ErrNotSealed", name, rn, err)
			}
			if errors.Is(err, ErrTampered) {
				t.Fatalf("%s %s: %v matches ErrTampered", name, rn, err)
			}
			var te *TamperError
			if errors.As(err, &te) {
				t.Fatalf("%s %s: %v is a *TamperError", name, rn, err)
			}
			if data {
				t.Fatalf("%s %s returned data with ErrNotSealed", name, rn)
			}
			assertNoValues(t, err)
		}
	}
	if IsUnsealed(sealed) {
		t.Fatal("IsUnsealed(sealed) = true")
	}
}

// TestNotSealedHalfStripped: removing only one of the two reserved
// attributes, or breaking the header while removing the signature, is
// tampering, not "not sealed": only an item with neither is unsealed.
func TestNotSealedHalfStripped(t *testing.T) {
	s := refSealer(t)
	key := testKey(refTenant, "", 1)
	sealed, err := s.Seal(refItem(), key)
	if err != nil {
		t.Fatal(err)
	}
	noH := cloneItem(sealed)
	delete(noH, HeaderAttribute)
	noS := cloneItem(sealed)
	delete(noS, SignatureAttribute)
	badHnoS := withB(noS, HeaderAttribute, func(b []byte) []byte { return b[:3] })
	sAsH := cloneItem(noS)
	sAsH[HeaderAttribute] = S("not binary")
	for _, c := range []struct {
		name   string
		item   map[string]types.AttributeValue
		reason string
	}{
		{"no header", noH, ReasonHeader},
		{"no signature", noS, ReasonSignature},
		{"truncated header, no signature", badHnoS, ReasonHeader},
		{"header not binary, no signature", sAsH, ReasonHeader},
	} {
		if IsUnsealed(c.item) {
			t.Fatalf("%s: IsUnsealed = true", c.name)
		}
		for rn, read := range readers(s, key) {
			if rn == "Reseal" || rn == "KeyRef" && c.reason == ReasonSignature {
				continue // KeyRef reads only the header
			}
			_, err := read(c.item)
			if errors.Is(err, ErrNotSealed) {
				t.Fatalf("%s %s: %v matches ErrNotSealed", c.name, rn, err)
			}
			wantTamper(t, err, c.reason)
		}
	}
}

// TestNotSealedTenantFirst: the tenant check runs before the sealed check,
// as for a sealed item: an unsealed item of another tenant is
// ErrWrongTenant, one without a tenant attribute is tampered (tenant).
func TestNotSealedTenantFirst(t *testing.T) {
	s := refSealer(t)
	other := refItem()
	other["tenant"] = S("tenant-other")
	if _, _, err := s.Open(other, testKey(refTenant, "", 1)); !errors.Is(err, ErrWrongTenant) || errors.Is(err, ErrNotSealed) {
		t.Fatalf("Open of another tenant's unsealed item: %v, want ErrWrongTenant only", err)
	}
	none := refItem()
	delete(none, "tenant")
	_, _, err := s.Open(none, testKey(refTenant, "", 1))
	wantTamper(t, err, ReasonTenant)
}

// TestNotSealedProperty removes random subsets of attributes from a sealed
// item: the result is ErrNotSealed exactly when both __h and __s are gone,
// success only when nothing covered is gone, and tampering otherwise.
func TestNotSealedProperty(t *testing.T) {
	s := refSealer(t)
	key := testKey(refTenant, "", 1)
	sealed, err := s.Seal(refItem(), key)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(sealed))
	for n := range sealed {
		if n != "tenant" { // its removal is the tenant check, tested above
			names = append(names, n)
		}
	}
	slices.Sort(names)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		m := cloneItem(sealed)
		for _, n := range names {
			if r.IntN(3) == 0 {
				delete(m, n)
			}
		}
		if i%4 == 0 { // make the both-gone case common
			delete(m, HeaderAttribute)
			delete(m, SignatureAttribute)
		}
		out, _, err := s.Open(m, key)
		_, hasH := m[HeaderAttribute]
		_, hasS := m[SignatureAttribute]
		switch {
		case !hasH && !hasS:
			if !errors.Is(err, ErrNotSealed) || errors.Is(err, ErrTampered) || out != nil {
				t.Fatalf("both gone: %v (data %v)", err, out != nil)
			}
		case len(m) == len(sealed):
			if err != nil {
				t.Fatalf("nothing removed: %v", err)
			}
		default:
			if !errors.Is(err, ErrTampered) || errors.Is(err, ErrNotSealed) || out != nil {
				t.Fatalf("removed some of %v: %v", names, err)
			}
		}
	}
}
