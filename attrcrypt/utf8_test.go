package attrcrypt

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const badUTF8 = "caf\xe9-SECRET"

func M(m map[string]types.AttributeValue) types.AttributeValue {
	return &types.AttributeValueMemberM{Value: m}
}
func L(v ...types.AttributeValue) types.AttributeValue { return &types.AttributeValueMemberL{Value: v} }

// TestSealRefusesInvalidUTF8 puts an invalid UTF-8 string in every place
// of a signed value, in attribute names and in the tenant, and expects
// ErrMalformed naming the attribute and never quoting the value.
func TestSealRefusesInvalidUTF8(t *testing.T) {
	s, err := NewSealer(Config{Table: "tbl", TenantAttribute: "tenant", Actions: map[string]Action{"enc": ActionEncrypt, "p": ActionPlain}})
	if err != nil {
		t.Fatal(err)
	}
	key := testKey("t1", "", 1)
	deep := func(v types.AttributeValue) types.AttributeValue {
		return M(map[string]types.AttributeValue{"a": L(S("ok"), M(map[string]types.AttributeValue{"b": v}))})
	}
	cases := map[string]struct {
		attr string
		v    types.AttributeValue
	}{
		"S":                  {"sig", S(badUTF8)},
		"SS element":         {"sig", SS("ok", badUTF8)},
		"list element":       {"sig", L(S("ok"), S(badUTF8))},
		"nested S":           {"sig", deep(S(badUTF8))},
		"nested SS":          {"sig", deep(SS(badUTF8))},
		"top-level map key":  {"sig", M(map[string]types.AttributeValue{badUTF8: S("x")})},
		"nested map key":     {"sig", deep(M(map[string]types.AttributeValue{"ok": N("1"), badUTF8: N("2")}))},
		"signed name":        {badUTF8, S("x")},
		"encrypted-ish name": {"enc" + badUTF8, S("x")},
		"plain-ish name":     {"p\xff", S("x")},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			item := map[string]types.AttributeValue{"tenant": S("t1"), c.attr: c.v}
			_, err := s.Seal(item, key)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Seal: %v, want ErrMalformed", err)
			}
			if strings.Contains(err.Error(), "SECRET") && c.attr != badUTF8 && c.attr != "enc"+badUTF8 {
				t.Fatalf("error quotes the value: %v", err)
			}
			if !strings.Contains(err.Error(), quote(c.attr)) {
				t.Fatalf("error does not name attribute %q: %v", c.attr, err)
			}
		})
	}
	// The tenant attribute is signed: an invalid tenant is refused too.
	bad := testKey("t\xff", "", 1)
	if _, err := s.Seal(map[string]types.AttributeValue{"tenant": S("t\xff")}, bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("invalid tenant: %v, want ErrMalformed", err)
	}
}

// TestEncryptedMayHoldAnyBytes: encrypted values are stored as B, so any
// bytes are allowed, and they come back as written.
func TestEncryptedMayHoldAnyBytes(t *testing.T) {
	s, err := NewSealer(Config{Table: "tbl", TenantAttribute: "tenant", Actions: map[string]Action{"e1": ActionEncrypt, "e2": ActionEncrypt, "e3": ActionEncrypt, "p": ActionPlain}})
	if err != nil {
		t.Fatal(err)
	}
	key := testKey("t1", "", 1)
	item := map[string]types.AttributeValue{
		"tenant": S("t1"),
		"e1":     S(badUTF8),
		"e2":     SS("\xff", "ok"),
		"e3":     M(map[string]types.AttributeValue{badUTF8: L(S("\xc3"))}),
		"p":      S("\xfe plain values are not checked"),
	}
	sealed, err := s.Seal(item, key)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Open(sealed, key)
	if err != nil {
		t.Fatal(err)
	}
	item["e2"] = SS("ok", "\xff") // sets come back in canonical (byte) order
	assertEqualItems(t, got, item)
}

// TestLegacyInvalidUTF8StillOpens: items sealed before the check (signed
// strings with invalid UTF-8 that never went through DynamoDB) still open.
func TestLegacyInvalidUTF8StillOpens(t *testing.T) {
	s := refSealer(t)
	key := testKey(refTenant, "", 1)
	item := refItem()
	item["plan"] = S(badUTF8)
	old, err := sealLegacy(s, item, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(old, key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reseal(old, key, testKey(refTenant, "", 2)); err != nil {
		t.Fatal(err)
	}
}

func TestNewSealerRefusesInvalidUTF8Names(t *testing.T) {
	for _, cfg := range []Config{
		{Table: "x", TenantAttribute: "t\xff"},
		{Table: "x", TenantAttribute: "t", Actions: map[string]Action{"a\xff": ActionPlain}},
	} {
		if _, err := NewSealer(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("%q: %v, want ErrInvalidConfig", cfg.TenantAttribute, err)
		}
	}
}
