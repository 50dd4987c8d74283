package attrcrypt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt/internal/ddbjson"
)

// Open cases of testdata/vectors.json ("open_cases"): stored items a reader
// must open under schema drift, and stored items it must refuse, each with
// the required error kind (FORMAT.md, "Errors"). They check another
// implementation's reader, rejection logic included.

type openCase struct {
	Name                    string            `json:"name"`
	Description             string            `json:"description"`
	Table                   string            `json:"table"`
	TenantAttribute         string            `json:"tenant_attribute"`
	Key                     vectorKey         `json:"key"`
	ReaderActions           map[string]string `json:"reader_actions"`
	AllowPlaintextMigration bool              `json:"allow_plaintext_migration"`
	Stored                  json.RawMessage   `json:"stored"`
	Opened                  json.RawMessage   `json:"opened,omitempty"`
	Drift                   []driftJSON       `json:"drift,omitempty"`
	MigrationUsed           bool              `json:"migration_used,omitempty"`
	Error                   *errorKindJSON    `json:"error,omitempty"`
}

type driftJSON struct {
	Name     string `json:"name"`
	Stored   string `json:"stored"`
	Reader   string `json:"reader"`
	Verified bool   `json:"verified"`
}

// errorKindJSON is the required failure: kind is one of "tampered",
// "wrong-tenant", "schema-mismatch"; reason (tampered) is a TamperError
// reason; attribute, when set, is the attribute the error must name.
type errorKindJSON struct {
	Kind      string `json:"kind"`
	Reason    string `json:"reason,omitempty"`
	Attribute string `json:"attribute,omitempty"`
	// AlsoUnsupportedVersion: the error must also match "unsupported
	// version" (reason "version").
	AlsoUnsupportedVersion bool `json:"also_unsupported_version,omitempty"`
}

func actionsFromJSON(t *testing.T, m map[string]string) map[string]Action {
	out := map[string]Action{}
	for name, a := range m {
		switch a {
		case "sign":
			out[name] = ActionSign
		case "encrypt":
			out[name] = ActionEncrypt
		case "plain":
			out[name] = ActionPlain
		default:
			t.Fatalf("unknown action %q", a)
		}
	}
	return out
}

func actionsToJSON(m map[string]Action) map[string]string {
	out := map[string]string{}
	for name, a := range m {
		out[name] = a.String()
	}
	return out
}

func checkOpenCase(t *testing.T, c openCase) {
	var key Key
	key.Ref = KeyRef{Tenant: c.Key.Tenant, Class: c.Key.Class, Version: c.Key.Version}
	copy(key.Material[:], mustHex(t, c.Key.MaterialHex))
	s, err := NewSealer(Config{Table: c.Table, TenantAttribute: c.TenantAttribute, Actions: actionsFromJSON(t, c.ReaderActions), AllowPlaintextMigration: c.AllowPlaintextMigration})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := ddbjson.UnmarshalItem(c.Stored)
	if err != nil {
		t.Fatal(err)
	}
	got, res, err := s.Open(stored, key)
	if c.Error == nil {
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		want, err := ddbjson.UnmarshalItem(c.Opened)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			gj, _ := ddbjson.MarshalItem(got)
			t.Fatalf("opened item differs\n got %s\nwant %s", gj, c.Opened)
		}
		var drift []driftJSON
		for _, d := range res.Drift {
			drift = append(drift, driftJSON{Name: d.Name, Stored: d.Stored.String(), Reader: d.Reader.String(), Verified: d.Verified})
		}
		if !reflect.DeepEqual(drift, c.Drift) || res.MigrationUsed != c.MigrationUsed {
			t.Fatalf("drift %+v migration %v, want %+v %v", drift, res.MigrationUsed, c.Drift, c.MigrationUsed)
		}
		return
	}
	if err == nil || got != nil {
		t.Fatalf("Open succeeded, want %+v", *c.Error)
	}
	assertErrorKind(t, err, *c.Error)
}

func assertErrorKind(t *testing.T, err error, want errorKindJSON) {
	t.Helper()
	kinds := map[string]error{"tampered": ErrTampered, "wrong-tenant": ErrWrongTenant, "schema-mismatch": ErrSchemaMismatch}
	sentinel, ok := kinds[want.Kind]
	if !ok {
		t.Fatalf("unknown error kind %q", want.Kind)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want kind %s", err, want.Kind)
	}
	for k, e := range kinds {
		if k != want.Kind && errors.Is(err, e) {
			t.Fatalf("error %v also matches %s", err, k)
		}
	}
	if errors.Is(err, ErrUnsupportedVersion) != want.AlsoUnsupportedVersion {
		t.Fatalf("error %v: matches unsupported version = %v, want %v", err, !want.AlsoUnsupportedVersion, want.AlsoUnsupportedVersion)
	}
	if want.Kind == "tampered" {
		var te *TamperError
		if !errors.As(err, &te) || te.Reason != want.Reason {
			t.Fatalf("error %v, want reason %q", err, want.Reason)
		}
		if want.Attribute != "" && te.Attribute != want.Attribute {
			t.Fatalf("error %v names %q, want %q", err, te.Attribute, want.Attribute)
		}
	} else if want.Attribute != "" && !bytes.Contains([]byte(err.Error()), []byte(quote(want.Attribute))) {
		t.Fatalf("error %v does not name %q", err, want.Attribute)
	}
}

// openCaseInputs builds the open cases from one deterministic sealed item.
func openCaseInputs(t *testing.T) []openCase {
	const table, tenantAttr = "patients", "tenant"
	var key Key
	key.Ref = KeyRef{Tenant: refTenant, Version: 2}
	copy(key.Material[:], derivedBytes("key", "open-cases"))
	writerActs := map[string]Action{"seen": ActionPlain}
	for k, v := range refActions {
		writerActs[k] = v
	}
	writer, err := NewSealer(Config{Table: table, TenantAttribute: tenantAttr, Actions: writerActs}, WithRandom(bytes.NewReader(derivedBytes("salt", "open-cases"))))
	if err != nil {
		t.Fatal(err)
	}
	item := refItem()
	item["seen"] = N("1763800000")
	sealed, err := writer.Seal(item, key)
	if err != nil {
		t.Fatal(err)
	}
	// A writer holding the key can produce headers no conforming writer
	// would: forged (signed) with the same salt.
	forge := func(plain []string) map[string]types.AttributeValue {
		w, _ := NewSealer(Config{Table: table, TenantAttribute: tenantAttr, Actions: writerActs}, WithRandom(bytes.NewReader(derivedBytes("salt", "open-cases"))))
		w.plainRaw = encodePlainNames(plain)
		out, err := w.Seal(item, key)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	actionsOff := commitOffset(0) + commitSize + 4
	with := func(f func(m map[string]types.AttributeValue)) map[string]types.AttributeValue {
		m := cloneItem(sealed)
		f(m)
		return m
	}
	resigned := func(f func(m map[string]types.AttributeValue)) map[string]types.AttributeValue {
		m := with(f)
		resign(t, writer, m, key)
		return m
	}
	hdrEdit := func(f func([]byte) []byte) map[string]types.AttributeValue {
		return withB(sealed, HeaderAttribute, f)
	}
	otherKey := key
	otherKey.Ref.Tenant = "tenant-0043"
	copy(otherKey.Material[:], derivedBytes("key", "open-cases-other"))

	base := func(name, desc string) openCase {
		return openCase{Name: name, Description: desc, Table: table, TenantAttribute: tenantAttr,
			Key:           vectorKey{Tenant: key.Ref.Tenant, Class: key.Ref.Class, Version: key.Ref.Version, MaterialHex: hex.EncodeToString(key.Material[:])},
			ReaderActions: actionsToJSON(writerActs)}
	}
	reader := func(c openCase, changes map[string]Action, migrate bool) openCase {
		acts := map[string]Action{}
		for k, v := range writerActs {
			acts[k] = v
		}
		for k, v := range changes {
			acts[k] = v
		}
		c.ReaderActions, c.AllowPlaintextMigration = actionsToJSON(acts), migrate
		return c
	}
	tampered := func(c openCase, stored map[string]types.AttributeValue, reason, attr string) openCase {
		c.Stored = mustJSON(t, stored)
		c.Error = &errorKindJSON{Kind: "tampered", Reason: reason, Attribute: attr}
		return c
	}
	refused := func(c openCase, kind, attr string) openCase {
		c.Stored = mustJSON(t, sealed)
		c.Error = &errorKindJSON{Kind: kind, Attribute: attr}
		return c
	}
	drift := func(c openCase) openCase { c.Stored = mustJSON(t, sealed); return c }

	cases := []openCase{
		drift(base("genuine", "the item opened under the writer's own schema (writer-plain attribute seen)")),
		drift(reader(base("drift-sign-to-plain", "reader marks a signed attribute plain: verified, returned, reported"), map[string]Action{"plan": ActionPlain}, false)),
		drift(reader(base("drift-encrypt-to-sign", "reader signs an encrypted attribute: verified, decrypted, reported"), map[string]Action{"ssn": ActionSign}, false)),
		drift(reader(base("drift-encrypt-to-plain", "reader marks an encrypted attribute plain: verified, decrypted, reported"), map[string]Action{"notes": ActionPlain}, false)),
		drift(reader(base("drift-sign-to-encrypt-migration", "reader encrypts a signed attribute, migration mode: returned verified, reported, migration used"), map[string]Action{"plan": ActionEncrypt}, true)),
		drift(reader(base("drift-plain-to-sign-migration", "reader signs a writer-plain attribute, migration mode: returned unverified, reported, migration used"), map[string]Action{"seen": ActionSign}, true)),
		refused(reader(base("drift-sign-to-encrypt-refused", "reader encrypts a signed attribute without migration mode"), map[string]Action{"plan": ActionEncrypt}, false), "schema-mismatch", "plan"),
		refused(reader(base("drift-plain-to-encrypt-refused", "reader encrypts a writer-plain attribute without migration mode"), map[string]Action{"seen": ActionEncrypt}, false), "schema-mismatch", "seen"),
		refused(reader(base("drift-refusal-names-smallest", "several refusals of both kinds: the error names the smallest name in byte order (created < plan < seen)"), map[string]Action{"seen": ActionSign, "plan": ActionEncrypt, "created": ActionEncrypt}, false), "schema-mismatch", "created"),

		tampered(base("signature-flipped", "one bit of __s changed"), withB(sealed, SignatureAttribute, flip(0)), ReasonSignature, ""),
		tampered(base("signature-short", "__s is 31 bytes"), withB(sealed, SignatureAttribute, func(b []byte) []byte { return b[:31] }), ReasonSignature, SignatureAttribute),
		tampered(base("signature-missing", "__s removed"), with(func(m map[string]types.AttributeValue) { delete(m, SignatureAttribute) }), ReasonSignature, SignatureAttribute),
		tampered(base("signed-value-edited", "a signed S changed"), with(func(m map[string]types.AttributeValue) { m["plan"] = S("enterprise") }), ReasonSignature, ""),
		tampered(base("signed-number-edited", "a signed N changed in value"), with(func(m map[string]types.AttributeValue) { m["score"] = N("12346") }), ReasonSignature, ""),
		tampered(base("encrypted-swapped", "two ciphertexts swapped (not re-signed)"), with(func(m map[string]types.AttributeValue) { m["name"], m["email"] = sealed["email"], sealed["name"] }), ReasonSignature, ""),
		tampered(base("attribute-added", "a covered attribute added"), with(func(m map[string]types.AttributeValue) { m["extra"] = S("x") }), ReasonAttributeSet, ""),
		tampered(base("attribute-removed", "an encrypted attribute removed"), with(func(m map[string]types.AttributeValue) { delete(m, "ssn") }), ReasonAttributeSet, ""),
		tampered(base("header-missing", "__h removed"), with(func(m map[string]types.AttributeValue) { delete(m, HeaderAttribute) }), ReasonHeader, HeaderAttribute),
		tampered(base("header-not-binary", "__h is an S"), with(func(m map[string]types.AttributeValue) { m[HeaderAttribute] = S("x") }), ReasonHeader, HeaderAttribute),
		tampered(base("header-truncated", "last header byte removed"), hdrEdit(func(b []byte) []byte { return b[:len(b)-1] }), ReasonHeader, HeaderAttribute),
		tampered(base("header-trailing-byte", "a byte appended to the header"), hdrEdit(func(b []byte) []byte { return append(b, 0) }), ReasonHeader, HeaderAttribute),
		tampered(base("header-key-version-zero", "key version 0"), hdrEdit(func(b []byte) []byte { copy(b[2:6], []byte{0, 0, 0, 0}); return b }), ReasonHeader, HeaderAttribute),
		tampered(base("header-unknown-action", "action 3 recorded for attribute 0"), hdrEdit(func(b []byte) []byte { b[actionsOff] |= 3; return b }), ReasonHeader, HeaderAttribute),
		tampered(base("header-padding-bit", "a padding bit of the last action byte set (10 covered attributes)"), hdrEdit(func(b []byte) []byte { b[actionsOff+2] |= 0x80; return b }), ReasonHeader, HeaderAttribute),
		tampered(base("header-plain-reserved", "writer-plain list names __h (forged and signed by a key holder)"), forge([]string{HeaderAttribute, "seen"}), ReasonHeader, HeaderAttribute),
		tampered(base("header-plain-tenant", "writer-plain list names the tenant attribute (forged and signed by a key holder)"), forge([]string{"seen", tenantAttr}), ReasonHeader, HeaderAttribute),
		tampered(base("header-plain-unsorted", "writer-plain list not strictly ascending"), forge([]string{"seen", "a"}), ReasonHeader, HeaderAttribute),
		func() openCase {
			c := tampered(base("header-version-2", "format version byte 2: a newer writer or an edit; tampered, reason version, also unsupported version"), hdrEdit(func(b []byte) []byte { b[0] = 2; return b }), ReasonVersion, HeaderAttribute)
			c.Error.AlsoUnsupportedVersion = true
			return c
		}(),
		tampered(base("header-salt-flipped", "a salt bit changed"), hdrEdit(flip(saltOffset(0))), ReasonCommitment, ""),
		tampered(base("header-commitment-flipped", "a commitment bit changed"), hdrEdit(flip(commitOffset(0)+31)), ReasonCommitment, ""),
		tampered(base("header-key-version-edited", "header names key version 3, key 2 offered"), hdrEdit(func(b []byte) []byte { b[5] = 3; return b }), ReasonCommitment, ""),
		tampered(base("tenant-not-string", "tenant attribute turned into an SS"), with(func(m map[string]types.AttributeValue) { m[tenantAttr] = SS(refTenant) }), ReasonTenant, tenantAttr),
		tampered(base("tenant-missing", "tenant attribute removed"), with(func(m map[string]types.AttributeValue) { delete(m, tenantAttr) }), ReasonTenant, tenantAttr),
		func() openCase {
			c := tampered(base("moved-to-other-tenant", "tenant attribute rewritten to another tenant, opened with that tenant's key"), with(func(m map[string]types.AttributeValue) { m[tenantAttr] = S(otherKey.Ref.Tenant) }), ReasonCommitment, "")
			c.Key = vectorKey{Tenant: otherKey.Ref.Tenant, Version: otherKey.Ref.Version, MaterialHex: hex.EncodeToString(otherKey.Material[:])}
			return c
		}(),
		func() openCase {
			c := refused(base("wrong-tenant", "opened with another tenant's key (checked before any cryptography)"), "wrong-tenant", "")
			c.Key = vectorKey{Tenant: otherKey.Ref.Tenant, Version: otherKey.Ref.Version, MaterialHex: hex.EncodeToString(otherKey.Material[:])}
			return c
		}(),
		func() openCase {
			c := tampered(base("other-table", "opened by a reader configured with another table name"), sealed, ReasonSignature, "")
			c.Table = "patients-copy"
			return c
		}(),
		tampered(base("signed-number-invalid", "a signed N replaced by text that is no number: tampered, naming it"), with(func(m map[string]types.AttributeValue) { m["score"] = N("12abc") }), ReasonAttribute, "score"),
		tampered(base("signed-set-duplicate", "a signed SS given a duplicate element"), with(func(m map[string]types.AttributeValue) { m["tags"] = SS("alpha", "alpha") }), ReasonAttribute, "tags"),
		tampered(base("encrypted-swapped-resigned", "two ciphertexts swapped and the item re-signed by a key holder: AES-GCM (AAD binds the name)"), resigned(func(m map[string]types.AttributeValue) { m["name"], m["email"] = sealed["email"], sealed["name"] }), ReasonAttribute, "email"),
		tampered(base("encrypted-flipped-resigned", "a ciphertext bit changed and re-signed by a key holder"), resigned(func(m map[string]types.AttributeValue) { m["ssn"] = B(flip(5)(bytes.Clone(bval(sealed, "ssn")))) }), ReasonAttribute, "ssn"),
		tampered(base("encrypted-unknown-type-resigned", "encrypted value's type byte 0x0B, re-signed by a key holder"), resigned(func(m map[string]types.AttributeValue) {
			m["ssn"] = B(append([]byte{0x0B}, bval(sealed, "ssn")[1:]...))
		}), ReasonAttribute, "ssn"),
		tampered(base("encrypted-short-resigned", "encrypted value of 16 bytes, re-signed by a key holder"), resigned(func(m map[string]types.AttributeValue) { m["ssn"] = B(bval(sealed, "ssn")[:16]) }), ReasonAttribute, "ssn"),
	}
	// Fill the expected outcome of the cases that open.
	for i := range cases {
		c := &cases[i]
		if c.Error != nil {
			continue
		}
		s, err := NewSealer(Config{Table: c.Table, TenantAttribute: c.TenantAttribute, Actions: actionsFromJSON(t, c.ReaderActions), AllowPlaintextMigration: c.AllowPlaintextMigration})
		if err != nil {
			t.Fatal(err)
		}
		got, res, err := s.Open(sealed, key)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		c.Opened = mustJSON(t, got)
		for _, d := range res.Drift {
			c.Drift = append(c.Drift, driftJSON{Name: d.Name, Stored: d.Stored.String(), Reader: d.Reader.String(), Verified: d.Verified})
		}
		c.MigrationUsed = res.MigrationUsed
	}
	return cases
}

func mustJSON(t *testing.T, item map[string]types.AttributeValue) json.RawMessage {
	b, err := ddbjson.MarshalItem(item)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
