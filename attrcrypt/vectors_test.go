package attrcrypt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt/internal/ddbjson"
)

var update = flag.Bool("update", false, "regenerate testdata/vectors.json and the fuzz seed corpus (the committed files are the reference)")

const vectorsPath = "testdata/vectors.json"

type vectorFile struct {
	Comment       string     `json:"comment"`
	FormatVersion int        `json:"format_version"`
	Vectors       []vector   `json:"vectors"`
	OpenCases     []openCase `json:"open_cases"`
}

type vectorKey struct {
	Tenant      string `json:"tenant"`
	Class       string `json:"class"`
	Version     uint32 `json:"version"`
	MaterialHex string `json:"material_hex"`
}

type vector struct {
	Name            string            `json:"name"`
	Description     string            `json:"description"`
	Table           string            `json:"table"`
	TenantAttribute string            `json:"tenant_attribute"`
	Key             vectorKey         `json:"key"`
	SaltHex         string            `json:"salt_hex"`
	Actions         map[string]string `json:"actions"`
	Input           json.RawMessage   `json:"input"`
	Expected        json.RawMessage   `json:"expected"`
	Opened          json.RawMessage   `json:"opened"`
	Intermediate    intermediate      `json:"intermediate"`
}

type intermediate struct {
	EncKeyHex     string `json:"enc_key_hex"`
	MacKeyHex     string `json:"mac_key_hex"`
	CommitmentHex string `json:"commitment_hex"`
	HeaderHex     string `json:"header_hex"`
	MacInputHex   string `json:"mac_input_hex"`
	SignatureHex  string `json:"signature_hex"`
}

type vectorInput struct {
	name, description, table, tenantAttr string
	ref                                  KeyRef
	actions                              map[string]Action
	item                                 map[string]types.AttributeValue
}

func vectorInputs() []vectorInput {
	L := func(v ...types.AttributeValue) types.AttributeValue { return &types.AttributeValueMemberL{Value: v} }
	M := func(m map[string]types.AttributeValue) types.AttributeValue {
		return &types.AttributeValueMemberM{Value: m}
	}
	BS := func(v ...[]byte) types.AttributeValue { return &types.AttributeValueMemberBS{Value: v} }
	BOOL := func(v bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: v} }
	NULL := &types.AttributeValueMemberNULL{Value: true}
	every := func() map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"s": S("héllo"), "s_empty": S(""), "n": N("-0012.3400E+2"), "n_zero": N("-0.0"), "b": B([]byte{0, 1, 0xfe, 0xff}),
			"bool": BOOL(true), "null": NULL, "ss": SS("pear", "apple", "fig"), "ns": NS("10", "9.50", "-1E2"),
			"bs": BS([]byte{2}, []byte{1, 0}), "l": L(S("x"), N("1.0"), L(BOOL(false)), M(map[string]types.AttributeValue{"k": NULL})),
			"m": M(map[string]types.AttributeValue{"z": N("1E3"), "a": SS("b", "a"), "": S("empty key")}),
		}
	}
	encAll := map[string]Action{}
	for k := range every() {
		encAll[k] = ActionEncrypt
	}
	signed := every()
	signed["tenant"], signed["id"], signed["seen"] = S("acme"), S("order#0001"), N("1763800000")
	encrypted := every()
	encrypted["tenant"], encrypted["id"] = S("acme"), S("order#0002")
	return []vectorInput{
		{
			name:        "reference",
			description: "DESIGN.md reference item: 4 encrypted S attributes, 6 signed (S, N, SS)",
			table:       refTable, tenantAttr: "tenant", ref: KeyRef{Tenant: refTenant, Version: 1},
			actions: refActions, item: refItem(),
		},
		{
			name:        "every-type-encrypted",
			description: "every DynamoDB type, nested, encrypted; key class and version 3; non-canonical numbers and unsorted sets on input",
			table:       "orders", tenantAttr: "tenant", ref: KeyRef{Tenant: "acme", Class: "payments", Version: 3},
			actions: encAll, item: encrypted,
		},
		{
			name:        "every-type-signed-with-plain",
			description: "every DynamoDB type signed in plaintext (signature over canonical forms), one plain attribute listed in the header",
			table:       "orders", tenantAttr: "tenant", ref: KeyRef{Tenant: "acme", Version: 1},
			actions: map[string]Action{"seen": ActionPlain}, item: signed,
		},
		{
			name:        "tenant-only",
			description: "the smallest item: only the tenant attribute",
			table:       "t", tenantAttr: "pk", ref: KeyRef{Tenant: "x", Version: 4294967295},
			actions: nil, item: map[string]types.AttributeValue{"pk": S("x")},
		},
	}
}

// derivedBytes gives the fixed key material and salts of the vectors.
func derivedBytes(label, name string) []byte {
	h := sha256.Sum256([]byte("attrcrypt test vector " + label + " " + name))
	return h[:]
}

func TestVectors(t *testing.T) {
	if *update {
		writeVectors(t)
		writeFuzzSeeds(t)
	}
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if f.FormatVersion != FormatVersion || len(f.Vectors) < 4 {
		t.Fatalf("vector file: version %d, %d vectors", f.FormatVersion, len(f.Vectors))
	}
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) { checkVector(t, v) })
	}
	if len(f.OpenCases) < 40 {
		t.Fatalf("vector file has %d open cases", len(f.OpenCases))
	}
	for _, c := range f.OpenCases {
		t.Run("open/"+c.Name, func(t *testing.T) { checkOpenCase(t, c) })
	}
}

func checkVector(t *testing.T, v vector) {
	var key Key
	key.Ref = KeyRef{Tenant: v.Key.Tenant, Class: v.Key.Class, Version: v.Key.Version}
	mat := mustHex(t, v.Key.MaterialHex)
	copy(key.Material[:], mat)
	salt := mustHex(t, v.SaltHex)
	actions := actionsFromJSON(t, v.Actions)
	s, err := NewSealer(Config{Table: v.Table, TenantAttribute: v.TenantAttribute, Actions: actions}, WithRandom(bytes.NewReader(salt)))
	if err != nil {
		t.Fatal(err)
	}
	input, err := ddbjson.UnmarshalItem(v.Input)
	if err != nil {
		t.Fatal(err)
	}
	expected, err := ddbjson.UnmarshalItem(v.Expected)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := ddbjson.UnmarshalItem(v.Opened)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal(input, key)
	if err != nil {
		t.Fatal(err)
	}
	// Byte for byte: same attributes, same values (B values compared as bytes).
	gotJSON, _ := ddbjson.MarshalItem(sealed)
	wantJSON, _ := ddbjson.MarshalItem(expected)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Fatalf("sealed item differs from the vector\n got %s\nwant %s", gotJSON, wantJSON)
	}
	// Intermediates.
	var keys itemKeys
	deriveKeys(&keys, &key, salt)
	hdr := bval(expected, HeaderAttribute)
	for what, pair := range map[string][2]string{
		"enc key":    {hex.EncodeToString(keys.enc[:]), v.Intermediate.EncKeyHex},
		"mac key":    {hex.EncodeToString(keys.mac[:]), v.Intermediate.MacKeyHex},
		"commitment": {hex.EncodeToString(keys.commit[:]), v.Intermediate.CommitmentHex},
		"header":     {hex.EncodeToString(hdr), v.Intermediate.HeaderHex},
		"mac input":  {hex.EncodeToString(macInputOf(t, s, expected, key)), v.Intermediate.MacInputHex},
		"signature":  {hex.EncodeToString(bval(expected, SignatureAttribute)), v.Intermediate.SignatureHex},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s: got %s, vector has %s", what, pair[0], pair[1])
		}
	}
	// Open of the committed expected item yields the committed opened item.
	got, res, err := s.Open(expected, key)
	if err != nil {
		t.Fatal(err)
	}
	if res.NeedsReseal() {
		t.Errorf("unexpected drift %+v", res.Drift)
	}
	if !reflect.DeepEqual(got, opened) {
		gj, _ := ddbjson.MarshalItem(got)
		t.Fatalf("opened item differs\n got %s\nwant %s", gj, v.Opened)
	}
}

func macInputOf(t *testing.T, s *Sealer, item map[string]types.AttributeValue, key Key) []byte {
	h, err := parseHeader(bval(item, HeaderAttribute))
	if err != nil {
		t.Fatal(err)
	}
	var attrs []attr
	for name, av := range item {
		if !IsReserved(name) && !h.isStoredPlain(name) {
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
	return in
}

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeVectors(t *testing.T) {
	f := vectorFile{
		Comment: "attrcrypt format v1 test vectors; see FORMAT.md. Items are DynamoDB JSON. " +
			"Seal(input) with key and salt must give expected byte for byte; Open(expected) must give opened. " +
			"open_cases: a reader with reader_actions (and allow_plaintext_migration) opening stored with key must give opened, drift and migration_used, or fail with error (kind, reason, attribute). " +
			"Regenerate with: go test ./attrcrypt -run TestVectors -update (then review the diff: the committed file is the reference).",
		FormatVersion: FormatVersion,
	}
	for _, in := range vectorInputs() {
		var key Key
		key.Ref = in.ref
		copy(key.Material[:], derivedBytes("key", in.name))
		salt := derivedBytes("salt", in.name)
		s, err := NewSealer(Config{Table: in.table, TenantAttribute: in.tenantAttr, Actions: in.actions}, WithRandom(bytes.NewReader(salt)))
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := s.Seal(in.item, key)
		if err != nil {
			t.Fatal(err)
		}
		opened, _, err := s.Open(sealed, key)
		if err != nil {
			t.Fatal(err)
		}
		var keys itemKeys
		deriveKeys(&keys, &key, salt)
		acts := map[string]string{}
		for name := range in.item {
			acts[name] = s.action(name).String()
		}
		for name, a := range in.actions {
			acts[name] = a.String()
		}
		j := func(m map[string]types.AttributeValue) json.RawMessage {
			b, err := ddbjson.MarshalItem(m)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		f.Vectors = append(f.Vectors, vector{
			Name: in.name, Description: in.description, Table: in.table, TenantAttribute: in.tenantAttr,
			Key:     vectorKey{Tenant: in.ref.Tenant, Class: in.ref.Class, Version: in.ref.Version, MaterialHex: hex.EncodeToString(key.Material[:])},
			SaltHex: hex.EncodeToString(salt), Actions: acts,
			Input: j(in.item), Expected: j(sealed), Opened: j(opened),
			Intermediate: intermediate{
				EncKeyHex: hex.EncodeToString(keys.enc[:]), MacKeyHex: hex.EncodeToString(keys.mac[:]),
				CommitmentHex: hex.EncodeToString(keys.commit[:]),
				HeaderHex:     hex.EncodeToString(bval(sealed, HeaderAttribute)),
				MacInputHex:   hex.EncodeToString(macInputOf(t, s, sealed, key)),
				SignatureHex:  hex.EncodeToString(bval(sealed, SignatureAttribute)),
			},
		})
	}
	f.OpenCases = openCaseInputs(t)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vectorsPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d vectors)", vectorsPath, len(f.Vectors))
}
