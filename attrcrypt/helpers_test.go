package attrcrypt

import (
	"crypto/sha256"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// testKey derives deterministic key material from a label so tests can make
// distinct tenants and versions.
func testKey(tenant, class string, version uint32) Key {
	k := Key{Ref: KeyRef{Tenant: tenant, Class: class, Version: version}}
	k.Material = sha256.Sum256([]byte("test key|" + tenant + "|" + class + "|" + string(rune('0'+version))))
	return k
}

func S(v string) types.AttributeValue     { return &types.AttributeValueMemberS{Value: v} }
func N(v string) types.AttributeValue     { return &types.AttributeValueMemberN{Value: v} }
func B(v []byte) types.AttributeValue     { return &types.AttributeValueMemberB{Value: v} }
func SS(v ...string) types.AttributeValue { return &types.AttributeValueMemberSS{Value: v} }
func NS(v ...string) types.AttributeValue { return &types.AttributeValueMemberNS{Value: v} }

// Reference item (DESIGN.md "Benchmarks").
const (
	refTable  = "bench"
	refTenant = "tenant-0042"
	refID     = "0b9e7c1a-3f1e-4a57-9d55-2f0f1f7c9e11"
)

var refActions = map[string]Action{
	"tenant": ActionSign, "id": ActionSign,
	"name": ActionEncrypt, "email": ActionEncrypt, "ssn": ActionEncrypt, "notes": ActionEncrypt,
	"plan": ActionSign, "created": ActionSign, "score": ActionSign, "tags": ActionSign,
}

func refItem() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"tenant":  S(refTenant),
		"id":      S(refID),
		"name":    S("Ada Lovelace-Byron, Cnt."),         // 24
		"email":   S("ada.lovelace@analyticalengine.uk"), // 32
		"ssn":     S("123-45-6789"),
		"notes":   S(strings.Repeat("Patient notes. ", 40)), // 600
		"plan":    S("business"),
		"created": N("1763800000"),
		"score":   N("12345"),
		"tags":    SS("alpha", "beta", "gamma"),
	}
}

func refSealer(tb testing.TB, opts ...Option) *Sealer {
	tb.Helper()
	s, err := NewSealer(Config{Table: refTable, TenantAttribute: "tenant", Actions: refActions}, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func cloneItem(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(item))
	for k, v := range item {
		out[k] = v
	}
	return out
}

func assertEqualItems(t *testing.T, got, want map[string]types.AttributeValue) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		for k := range want {
			if !reflect.DeepEqual(got[k], want[k]) {
				t.Errorf("attribute %q: got %#v, want %#v", k, got[k], want[k])
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected attribute %q", k)
			}
		}
	}
}

// wantTamper asserts err is ErrTampered with the given reason.
func wantTamper(t *testing.T, err error, reason string) {
	t.Helper()
	if !errors.Is(err, ErrTampered) {
		t.Fatalf("error = %v, want ErrTampered (%s)", err, reason)
	}
	var te *TamperError
	if !errors.As(err, &te) {
		t.Fatalf("error %v is not a *TamperError", err)
	}
	if te.Reason != reason {
		t.Fatalf("tamper reason = %q, want %q (error: %v)", te.Reason, reason, err)
	}
}

// assertNoValues fails if err's message contains any value of the
// reference item (or of the tamper and bad-input cases).
func assertNoValues(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, v := range []string{"Ada Lovelace", "analyticalengine", "123-45-6789", "Patient notes", "business",
		"1763800000", "12345", "alpha", refID, "enterprise", "Charles Babbage", "12abc", "1e999"} {
		if strings.Contains(msg, v) {
			t.Fatalf("error message contains a value (%q): %s", v, msg)
		}
	}
}
