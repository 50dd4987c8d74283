package attrcrypt

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func bval(item map[string]types.AttributeValue, name string) []byte {
	return item[name].(*types.AttributeValueMemberB).Value
}

// withB returns a copy of item whose attribute name holds a copy of b
// transformed by f.
func withB(item map[string]types.AttributeValue, name string, f func([]byte) []byte) map[string]types.AttributeValue {
	out := cloneItem(item)
	out[name] = B(f(bytes.Clone(bval(item, name))))
	return out
}

func flip(i int) func([]byte) []byte {
	return func(b []byte) []byte { b[i] ^= 0x01; return b }
}

// TestTamperMatrix alters a sealed reference item in every way the design
// names and checks Open's specific error and TamperError reason.
func TestTamperMatrix(t *testing.T) {
	s := refSealer(t)
	key := testKey(refTenant, "", 1)
	keyOther := testKey("tenant-0043", "", 1)
	keyV2 := testKey(refTenant, "", 2)

	sealed, err := s.Seal(refItem(), key)
	if err != nil {
		t.Fatal(err)
	}
	second := refItem()
	second["id"] = S("5f1d3c8e-0000-4000-8000-000000000002")
	second["name"] = S("Charles Babbage, Esq.   ") // same length as the first name
	sealed2, err := s.Seal(second, key)
	if err != nil {
		t.Fatal(err)
	}
	otherTable, _ := NewSealer(Config{Table: "bench-restored", TenantAttribute: "tenant", Actions: refActions})
	fromOtherTable, err := otherTable.Seal(refItem(), key)
	if err != nil {
		t.Fatal(err)
	}
	otherTenantItem := refItem()
	otherTenantItem["tenant"] = S("tenant-0043")
	fromOtherTenant, err := s.Seal(otherTenantItem, keyOther)
	if err != nil {
		t.Fatal(err)
	}

	hdr := bval(sealed, HeaderAttribute)
	clsLen := int(hdr[1])
	keyVerOff := 2 + clsLen
	saltOff := saltOffset(clsLen)
	commitOff := commitOffset(clsLen)
	actionsOff := commitOff + commitSize + 4

	type tc struct {
		item   map[string]types.AttributeValue
		key    Key
		sealer *Sealer
		reason string // "" means a sentinel below
		attr   string // TamperError.Attribute, when set
		also   error  // a second sentinel the tamper error matches
		want   error
	}
	set := func(name string, v types.AttributeValue) map[string]types.AttributeValue {
		m := cloneItem(sealed)
		m[name] = v
		return m
	}
	del := func(name string) map[string]types.AttributeValue {
		m := cloneItem(sealed)
		delete(m, name)
		return m
	}
	setVersion := func(v byte) func([]byte) []byte {
		return func(b []byte) []byte { b[keyVerOff+3] = v; return b }
	}
	cases := map[string]tc{
		// Tenant and table binding.
		"row moved to another tenant (opened with that tenant's key)": {item: set("tenant", S("tenant-0043")), key: keyOther, reason: ReasonCommitment},
		"row moved to another tenant (opened with the original key)":  {item: set("tenant", S("tenant-0043")), key: key, want: ErrWrongTenant},
		"well-formed item of another tenant":                          {item: fromOtherTenant, key: key, want: ErrWrongTenant},
		"well-formed item of another tenant, tenant attr rewritten": {item: func() map[string]types.AttributeValue {
			m := cloneItem(fromOtherTenant)
			m["tenant"] = S(refTenant)
			return m
		}(), key: key, reason: ReasonCommitment},
		"copied to another table":            {item: sealed, key: key, sealer: otherTable, reason: ReasonSignature},
		"well-formed item of another table":  {item: fromOtherTable, key: key, reason: ReasonSignature},
		"sort key changed":                   {item: set("id", S("5f1d3c8e-0000-4000-8000-000000000002")), key: key, reason: ReasonSignature},
		"tenant attribute removed":           {item: del("tenant"), key: key, reason: ReasonTenant},
		"tenant attribute turned into a set": {item: set("tenant", SS(refTenant)), key: key, reason: ReasonTenant},
		"tenant attribute turned into a B":   {item: set("tenant", B([]byte(refTenant))), key: key, reason: ReasonTenant},

		// Encrypted values moved around.
		"encrypted values swapped between attributes": {item: func() map[string]types.AttributeValue {
			m := cloneItem(sealed)
			m["name"], m["email"] = sealed["email"], sealed["name"]
			return m
		}(), key: key, reason: ReasonSignature},
		"encrypted value taken from another item": {item: set("name", sealed2["name"]), key: key, reason: ReasonSignature},
		"encrypted value bit flipped":             {item: withB(sealed, "ssn", flip(5)), key: key, reason: ReasonSignature},
		"encrypted value type byte changed":       {item: withB(sealed, "ssn", func(b []byte) []byte { b[0] = codeB; return b }), key: key, reason: ReasonSignature},
		"encrypted value truncated":               {item: withB(sealed, "notes", func(b []byte) []byte { return b[:len(b)-1] }), key: key, reason: ReasonSignature},

		// Signed attributes.
		"signed attribute edited":       {item: set("plan", S("enterprise")), key: key, reason: ReasonSignature},
		"signed number edited":          {item: set("score", N("12346")), key: key, reason: ReasonSignature},
		"signed set element added":      {item: set("tags", SS("alpha", "beta", "gamma", "delta")), key: key, reason: ReasonSignature},
		"signed attribute type changed": {item: set("score", S("12345")), key: key, reason: ReasonSignature},
		// Values no writer can sign: caught while rebuilding the signature
		// input, still tampered (naming the attribute).
		"signed number made invalid":         {item: set("score", N("12abc")), key: key, reason: ReasonAttribute, attr: "score"},
		"signed number out of range":         {item: set("created", N("1e999")), key: key, reason: ReasonAttribute, attr: "created"},
		"signed set given a duplicate":       {item: set("tags", SS("alpha", "alpha")), key: key, reason: ReasonAttribute, attr: "tags"},
		"signed value made nil":              {item: set("plan", nil), key: key, reason: ReasonAttribute, attr: "plan"},
		"signed value made NULL false":       {item: set("plan", &types.AttributeValueMemberNULL{}), key: key, reason: ReasonAttribute, attr: "plan"},
		"signed document nested too deeply":  {item: set("plan", deepList(maxReadDepth+1)), key: key, reason: ReasonAttribute, attr: "plan"},
		"signed attribute added":             {item: set("extra", S("x")), key: key, reason: ReasonAttributeSet},
		"signed attribute removed":           {item: del("plan"), key: key, reason: ReasonAttributeSet},
		"encrypted attribute removed":        {item: del("ssn"), key: key, reason: ReasonAttributeSet},
		"attribute renamed":                  {item: func() map[string]types.AttributeValue { m := del("plan"); m["plan2"] = sealed["plan"]; return m }(), key: key, reason: ReasonSignature},
		"signed attribute replaced by other": {item: func() map[string]types.AttributeValue { m := del("plan"); m["extra"] = S("x"); return m }(), key: key, reason: ReasonSignature},

		// Header.
		"header removed":                      {item: del(HeaderAttribute), key: key, reason: ReasonHeader},
		"header not binary":                   {item: set(HeaderAttribute, S("x")), key: key, reason: ReasonHeader},
		"header truncated":                    {item: withB(sealed, HeaderAttribute, func(b []byte) []byte { return b[:len(b)-1] }), key: key, reason: ReasonHeader},
		"header truncated to the salt":        {item: withB(sealed, HeaderAttribute, func(b []byte) []byte { return b[:saltOff+5] }), key: key, reason: ReasonHeader},
		"header extended":                     {item: withB(sealed, HeaderAttribute, func(b []byte) []byte { return append(b, 0) }), key: key, reason: ReasonHeader},
		"header over 400 KB":                  {item: set(HeaderAttribute, B(append(append([]byte(nil), bval(sealed, HeaderAttribute)...), make([]byte, MaxItemSize)...))), key: key, reason: ReasonHeader},
		"header empty":                        {item: set(HeaderAttribute, B([]byte{})), key: key, reason: ReasonHeader},
		"header salt flipped":                 {item: withB(sealed, HeaderAttribute, flip(saltOff+3)), key: key, reason: ReasonCommitment},
		"header commitment flipped":           {item: withB(sealed, HeaderAttribute, flip(commitOff+31)), key: key, reason: ReasonCommitment},
		"header action flipped sign/encrypt":  {item: withB(sealed, HeaderAttribute, flip(actionsOff)), key: key, reason: ReasonSignature},
		"header action made unknown":          {item: withB(sealed, HeaderAttribute, func(b []byte) []byte { b[actionsOff] |= 0x03; return b }), key: key, reason: ReasonHeader},
		"header count changed":                {item: withB(sealed, HeaderAttribute, flip(actionsOff-1)), key: key, reason: ReasonAttributeSet},
		"header count grown past the actions": {item: withB(sealed, HeaderAttribute, func(b []byte) []byte { b[actionsOff-1] = 200; return b }), key: key, reason: ReasonHeader},
		"header taken from another item":      {item: set(HeaderAttribute, sealed2[HeaderAttribute]), key: key, reason: ReasonSignature},
		"header format version changed":       {item: withB(sealed, HeaderAttribute, func(b []byte) []byte { b[0] = 2; return b }), key: key, reason: ReasonVersion, also: ErrUnsupportedVersion},
		"header format version zeroed":        {item: withB(sealed, HeaderAttribute, func(b []byte) []byte { b[0] = 0; return b }), key: key, reason: ReasonVersion, also: ErrUnsupportedVersion},

		// Signature.
		"signature removed":                 {item: del(SignatureAttribute), key: key, reason: ReasonSignature},
		"signature truncated":               {item: withB(sealed, SignatureAttribute, func(b []byte) []byte { return b[:31] }), key: key, reason: ReasonSignature},
		"signature flipped":                 {item: withB(sealed, SignatureAttribute, flip(0)), key: key, reason: ReasonSignature},
		"signature taken from another item": {item: set(SignatureAttribute, sealed2[SignatureAttribute]), key: key, reason: ReasonSignature},
		"header and signature from another item": {item: func() map[string]types.AttributeValue {
			m := cloneItem(sealed)
			m[HeaderAttribute], m[SignatureAttribute] = sealed2[HeaderAttribute], sealed2[SignatureAttribute]
			return m
		}(), key: key, reason: ReasonSignature},

		// Key versions.
		"opened with another key version":                 {item: sealed, key: keyV2, reason: ReasonCommitment},
		"header points at another version (its key used)": {item: withB(sealed, HeaderAttribute, setVersion(2)), key: keyV2, reason: ReasonCommitment},
		"header points at another version (original key)": {item: withB(sealed, HeaderAttribute, setVersion(2)), key: key, reason: ReasonCommitment},
		"opened with another key class": {item: sealed, key: func() Key {
			k := key
			k.Ref.Class = "payments"
			return k
		}(), reason: ReasonCommitment},
		"opened with other material under the same reference": {item: sealed, key: func() Key {
			k := key
			k.Material[0] ^= 1
			return k
		}(), reason: ReasonCommitment},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			sl := s
			if c.sealer != nil {
				sl = c.sealer
			}
			out, _, err := sl.Open(c.item, c.key)
			if out != nil {
				t.Fatal("Open returned an item along with an error")
			}
			assertNoValues(t, err)
			if c.reason != "" {
				wantTamper(t, err, c.reason)
				var te *TamperError
				errors.As(err, &te)
				if c.attr != "" && te.Attribute != c.attr {
					t.Fatalf("TamperError.Attribute = %q, want %q", te.Attribute, c.attr)
				}
				if c.also != nil && !errors.Is(err, c.also) {
					t.Fatalf("err = %v does not also match %v", err, c.also)
				}
				if c.also == nil && errors.Is(err, ErrUnsupportedVersion) {
					t.Fatalf("err = %v matches ErrUnsupportedVersion", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if errors.Is(err, ErrTampered) {
				t.Fatalf("err = %v also matches ErrTampered", err)
			}
		})
	}
	// The untouched item still opens, with every key that should work.
	if _, _, err := s.Open(sealed, key); err != nil {
		t.Fatal(err)
	}
	if _, _, err := otherTable.Open(fromOtherTable, key); err != nil {
		t.Fatal(err)
	}
}

// The signature catches every swap first; this test shows the per-attribute
// AES-GCM binding holds on its own: it swaps two ciphertexts and re-signs
// the item with the correct MAC key (possible only with the tenant key), and
// Open still refuses, naming the attribute.
func TestAttributeAADBindsName(t *testing.T) {
	s := refSealer(t)
	key := testKey(refTenant, "", 1)
	sealed, err := s.Seal(refItem(), key)
	if err != nil {
		t.Fatal(err)
	}
	m := cloneItem(sealed)
	m["name"], m["email"] = sealed["email"], sealed["name"]
	resign(t, s, m, key)
	_, _, err = s.Open(m, key)
	wantTamper(t, err, ReasonAttribute)
	var te *TamperError
	errors.As(err, &te)
	if te.Attribute != "email" && te.Attribute != "name" {
		t.Fatalf("TamperError.Attribute = %q, want email or name", te.Attribute)
	}
}

// resign recomputes the signature of item with the item's own derived MAC
// key, as a writer holding the tenant key could.
func resign(t *testing.T, s *Sealer, item map[string]types.AttributeValue, key Key) {
	t.Helper()
	h, err := parseHeader(bval(item, HeaderAttribute))
	if err != nil {
		t.Fatal(err)
	}
	var keys itemKeys
	deriveKeys(&keys, &key, h.salt)
	var attrs []attr
	for name, av := range item {
		if !IsReserved(name) && !slices.Contains(h.plain, name) {
			attrs = append(attrs, attr{name: name, av: av})
		}
	}
	sortAttrs(attrs)
	for i := range attrs {
		attrs[i].act = h.action(i)
	}
	var e encoder
	in, err := s.appendMACInput(nil, &e, key.Ref.Tenant, bval(item, HeaderAttribute), attrs)
	if err != nil {
		t.Fatal(err)
	}
	var mac [32]byte
	computeMAC(&mac, keys.mac[:], in)
	item[SignatureAttribute] = B(mac[:])
}

func TestKeyRef(t *testing.T) {
	s := refSealer(t)
	key := testKey(refTenant, "payments", 7)
	sealed, err := s.Seal(refItem(), key)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.KeyRef(sealed)
	if err != nil || ref != key.Ref {
		t.Fatalf("KeyRef = %v, %v; want %v", ref, err, key.Ref)
	}
	m := cloneItem(sealed)
	delete(m, HeaderAttribute)
	_, err = s.KeyRef(m)
	wantTamper(t, err, ReasonHeader)
	m = withB(sealed, HeaderAttribute, func(b []byte) []byte { b[0] = 9; return b })
	_, err = s.KeyRef(m)
	wantTamper(t, err, ReasonVersion)
	if !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("KeyRef of a v9 header: %v, want it to match ErrUnsupportedVersion too", err)
	}
	m = cloneItem(sealed)
	delete(m, "tenant")
	_, err = s.KeyRef(m)
	wantTamper(t, err, ReasonTenant)
	_, res, err := s.Open(sealed, key)
	if err != nil || res.Ref != key.Ref {
		t.Fatalf("Open: %v, ref %v", err, res.Ref)
	}
}
