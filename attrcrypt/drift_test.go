package attrcrypt

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func sealerWith(t *testing.T, actions map[string]Action, migrate bool) *Sealer {
	t.Helper()
	s, err := NewSealer(Config{Table: "tbl", TenantAttribute: "tenant", Actions: actions, AllowPlaintextMigration: migrate})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSchemaDriftPolicy walks the policy table of FORMAT.md: stored action
// × reader action.
func TestSchemaDriftPolicy(t *testing.T) {
	key := testKey("t1", "", 1)
	item := map[string]types.AttributeValue{"tenant": S("t1"), "x": S("value-x"), "seen": N("17")}
	cases := []struct {
		name      string
		writer    Action // action of x when sealed
		reader    Action // reader's action of x
		migrate   bool
		wantErr   error
		wantDrift []Drift
		migration bool
	}{
		{"sign/sign", ActionSign, ActionSign, false, nil, nil, false},
		{"encrypt/encrypt", ActionEncrypt, ActionEncrypt, false, nil, nil, false},
		{"plain/plain", ActionPlain, ActionPlain, false, nil, nil, false},
		{"sign/encrypt refused", ActionSign, ActionEncrypt, false, ErrSchemaMismatch, nil, false},
		{"sign/encrypt migration", ActionSign, ActionEncrypt, true, nil, []Drift{{"x", ActionSign, ActionEncrypt, true}}, true},
		{"sign/plain", ActionSign, ActionPlain, false, nil, []Drift{{"x", ActionSign, ActionPlain, true}}, false},
		{"encrypt/sign", ActionEncrypt, ActionSign, false, nil, []Drift{{"x", ActionEncrypt, ActionSign, true}}, false},
		{"encrypt/plain", ActionEncrypt, ActionPlain, false, nil, []Drift{{"x", ActionEncrypt, ActionPlain, true}}, false},
		{"plain/sign refused", ActionPlain, ActionSign, false, ErrSchemaMismatch, nil, false},
		{"plain/encrypt refused", ActionPlain, ActionEncrypt, false, ErrSchemaMismatch, nil, false},
		{"plain/sign migration", ActionPlain, ActionSign, true, nil, []Drift{{"x", ActionPlain, ActionSign, false}}, true},
		{"plain/encrypt migration", ActionPlain, ActionEncrypt, true, nil, []Drift{{"x", ActionPlain, ActionEncrypt, false}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := sealerWith(t, map[string]Action{"x": c.writer}, false)
			r := sealerWith(t, map[string]Action{"x": c.reader}, c.migrate)
			sealed, err := w.Seal(item, key)
			if err != nil {
				t.Fatal(err)
			}
			got, res, err := r.Open(sealed, key)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) || got != nil {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			assertEqualItems(t, got, item)
			if !reflect.DeepEqual(res.Drift, c.wantDrift) || res.MigrationUsed != c.migration {
				t.Fatalf("OpenResult = %+v, want drift %+v migration %v", res, c.wantDrift, c.migration)
			}
			if res.NeedsReseal() != (len(c.wantDrift) > 0) {
				t.Fatal("NeedsReseal disagrees with Drift")
			}
		})
	}
}

// An attribute stored signed that the reader now marks plain is still
// verified: editing it is caught.
func TestDriftSignToPlainStillVerified(t *testing.T) {
	key := testKey("t1", "", 1)
	w := sealerWith(t, nil, false)
	r := sealerWith(t, map[string]Action{"x": ActionPlain}, false)
	sealed, err := w.Seal(map[string]types.AttributeValue{"tenant": S("t1"), "x": S("a")}, key)
	if err != nil {
		t.Fatal(err)
	}
	sealed["x"] = S("b")
	_, _, err = r.Open(sealed, key)
	wantTamper(t, err, ReasonSignature)
}

// Plain attributes are outside the signature: they may be edited, added or
// removed by anyone, and Open returns them as found.
func TestPlainAttributesAreUnprotected(t *testing.T) {
	key := testKey("t1", "", 1)
	s := sealerWith(t, map[string]Action{"seen": ActionPlain, "later": ActionPlain}, false)
	sealed, err := s.Seal(map[string]types.AttributeValue{"tenant": S("t1"), "x": S("a"), "seen": N("1")}, key)
	if err != nil {
		t.Fatal(err)
	}
	m := cloneItem(sealed)
	m["seen"] = N("2")
	m["later"] = S("added after sealing")
	got, res, err := s.Open(m, key)
	if err != nil || res.NeedsReseal() {
		t.Fatalf("Open: %v %+v", err, res)
	}
	if got["seen"].(*types.AttributeValueMemberN).Value != "2" || got["later"] == nil {
		t.Fatal("plain attributes not returned as found")
	}
	delete(m, "seen")
	if _, _, err := s.Open(m, key); err != nil {
		t.Fatal(err)
	}
	// A reader whose schema added a plain attribute the writer never knew.
	r := sealerWith(t, map[string]Action{"seen": ActionPlain, "later": ActionPlain, "newer": ActionPlain}, false)
	m["newer"] = S("x")
	if _, _, err := r.Open(m, key); err != nil {
		t.Fatal(err)
	}
}

// Documented limitation: when the reader both moved a signed attribute to
// plain and the item gained an attribute that only the reader's schema
// marks plain, the covered set cannot be reconstructed and Open reports
// ReasonAttributeSet (reseal under a consistent schema).
func TestDriftLimitationAttributeSet(t *testing.T) {
	key := testKey("t1", "", 1)
	w := sealerWith(t, nil, false)
	r := sealerWith(t, map[string]Action{"x": ActionPlain, "newer": ActionPlain}, false)
	sealed, err := w.Seal(map[string]types.AttributeValue{"tenant": S("t1"), "x": S("a"), "y": S("b")}, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Open(sealed, key); err != nil {
		t.Fatal(err)
	}
	sealed["newer"] = S("z")
	_, _, err = r.Open(sealed, key)
	wantTamper(t, err, ReasonAttributeSet)
}

// TestDriftRefusalNamesSmallestAttribute: with several refused attributes
// of both kinds, the error always names the smallest name in byte order.
func TestDriftRefusalNamesSmallestAttribute(t *testing.T) {
	key := testKey("t1", "", 1)
	writer := sealerWith(t, map[string]Action{"b_plain": ActionPlain, "d_plain": ActionPlain}, false)
	item := map[string]types.AttributeValue{"tenant": S("t1"), "a_sign": S("1"), "b_plain": S("2"), "c_sign": S("3"), "d_plain": S("4")}
	sealed, err := writer.Seal(item, key)
	if err != nil {
		t.Fatal(err)
	}
	for want, acts := range map[string]map[string]Action{
		"a_sign":  {"a_sign": ActionEncrypt, "b_plain": ActionSign, "c_sign": ActionEncrypt, "d_plain": ActionSign},
		"b_plain": {"b_plain": ActionSign, "c_sign": ActionEncrypt, "d_plain": ActionEncrypt},
		"c_sign":  {"b_plain": ActionPlain, "c_sign": ActionEncrypt, "d_plain": ActionSign},
		"d_plain": {"b_plain": ActionPlain, "d_plain": ActionSign},
	} {
		r := sealerWith(t, acts, false)
		for range 20 { // map iteration order must not matter
			_, _, err := r.Open(sealed, key)
			if !errors.Is(err, ErrSchemaMismatch) || !strings.Contains(err.Error(), quote(want)) {
				t.Fatalf("reader %v: %v, want ErrSchemaMismatch naming %q", acts, err, want)
			}
		}
	}
}
