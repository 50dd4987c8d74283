package schema_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/schema"
)

const patientSpec = `{
  "type": "Patient",
  "partitionKey": "tenant",
  "sortKey": "id",
  "tenant": "tenant",
  "version": "v",
  "attributes": {"name": "encrypt", "ssn": "encrypt", "plan": "sign", "seen": "plain"}
}`

// TestSpecMatchesGoType: a spec naming the same attributes and actions as a
// tagged struct builds the same schema: roles, actions, key types and
// fingerprint (so both seal items the same way).
func TestSpecMatchesGoType(t *testing.T) {
	want, err := schema.For[Patient]()
	if err != nil {
		t.Fatal(err)
	}
	got, err := schema.ParseSpec([]byte(patientSpec))
	if err != nil {
		t.Fatal(err)
	}
	if got.PartitionKey != "tenant" || got.SortKey != "id" || got.Tenant != "tenant" || got.Version != "v" {
		t.Fatalf("roles: %+v", got)
	}
	if !maps.Equal(got.Actions(), want.Actions()) {
		t.Fatalf("actions %v, want %v", got.Actions(), want.Actions())
	}
	if got.Fingerprint() != want.Fingerprint() {
		t.Fatalf("fingerprint %s, want %s", got.Fingerprint(), want.Fingerprint())
	}
	if got.KeyType("id") != types.ScalarAttributeTypeS || got.KeyType("tenant") != types.ScalarAttributeTypeS {
		t.Fatalf("key types %s %s", got.KeyType("tenant"), got.KeyType("id"))
	}
	// Changing one action changes the fingerprint.
	other, err := schema.ParseSpec([]byte(strings.Replace(patientSpec, `"plan": "sign"`, `"plan": "encrypt"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if other.Fingerprint() == want.Fingerprint() {
		t.Fatal("fingerprint ignores an action change")
	}
}

// TestSpecKeyTypesAndDefaults: key types come from keyTypes (S by
// default); roles need not be listed among the attributes.
func TestSpecKeyTypesAndDefaults(t *testing.T) {
	s, err := schema.FromSpec(schema.Spec{PartitionKey: "pk", SortKey: "n", Tenant: "org", KeyTypes: map[string]string{"n": "N"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyType("pk") != types.ScalarAttributeTypeS || s.KeyType("n") != types.ScalarAttributeTypeN {
		t.Fatalf("key types %s %s", s.KeyType("pk"), s.KeyType("n"))
	}
	in := s.CreateTableInput("t")
	if len(in.KeySchema) != 2 || len(in.AttributeDefinitions) != 2 {
		t.Fatalf("CreateTableInput %+v", in)
	}
	if len(s.Actions()) != 3 {
		t.Fatalf("actions %v", s.Actions())
	}
}

// TestSpecRefusals: every malformed spec is refused with ErrInvalid and a
// reason, as a malformed struct tag would be.
func TestSpecRefusals(t *testing.T) {
	for _, c := range []struct{ name, json, want string }{
		{"no partition key", `{"tenant":"t"}`, "partitionKey"},
		{"no tenant", `{"partitionKey":"pk"}`, "tenant"},
		{"encrypted key", `{"partitionKey":"pk","tenant":"t","attributes":{"pk":"encrypt"}}`, "partition key"},
		{"plain tenant", `{"partitionKey":"pk","tenant":"t","attributes":{"t":"plain"}}`, "tenant"},
		{"encrypted version", `{"partitionKey":"pk","tenant":"t","version":"v","attributes":{"v":"encrypt"}}`, "version"},
		{"version is the key", `{"partitionKey":"pk","tenant":"t","version":"pk"}`, "version"},
		{"unknown action", `{"partitionKey":"pk","tenant":"t","attributes":{"a":"hide"}}`, "hide"},
		{"reserved name", `{"partitionKey":"pk","tenant":"t","attributes":{"__h":"sign"}}`, "reserved"},
		{"comma in name", `{"partitionKey":"pk","tenant":"t","attributes":{"a,b":"sign"}}`, "comma"},
		{"keyTypes of a non-key", `{"partitionKey":"pk","tenant":"t","keyTypes":{"a":"S"}}`, "not a key"},
		{"bad key type", `{"partitionKey":"pk","tenant":"t","keyTypes":{"pk":"SS"}}`, "S, N or B"},
		{"unknown field", `{"partitionKey":"pk","tenant":"t","tenantAttr":"x"}`, "unknown field"},
		{"trailing data", `{"partitionKey":"pk","tenant":"t"} {}`, "trailing"},
		{"not JSON", `partitionKey: pk`, "invalid"},
	} {
		_, err := schema.ParseSpec([]byte(c.json))
		if !errors.Is(err, schema.ErrInvalid) {
			t.Fatalf("%s: %v, want ErrInvalid", c.name, err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: %v, want it to mention %q", c.name, err, c.want)
		}
	}
}
