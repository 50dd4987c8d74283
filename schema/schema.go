package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// Attribute is one stored attribute of an item type.
type Attribute struct {
	// Name is the DynamoDB attribute name.
	Name string
	// Field is the Go field name (the last hop of Path).
	Field string
	// Path leads from the root struct to the field, through embedded structs.
	Path []Step
	// Type is the field's declared Go type.
	Type TypeInfo
	// Dynamo is the parsed dynamodbav tag.
	Dynamo DynamoTag
	// Action is what dynaseal does with the attribute.
	Action attrcrypt.Action
	// Roles.
	PartitionKey, SortKey, Tenant, Version bool
	// BeaconBits is the length of the attribute's beacon, 0 for none.
	BeaconBits int
	// Unique is set when the value is kept unique per tenant.
	Unique bool
	// Normalize is how the beacon and the claim see the value.
	Normalize attrcrypt.Normalization
	// Indexes lists the declared indexes the attribute is a key of.
	Indexes []IndexKey
	// Pos is the field's source position when known.
	Pos string
}

// Schema is the model of one item type.
type Schema struct {
	// TypeName is the Go type's name, used in error messages.
	TypeName string
	// Attributes lists every stored attribute in Go field order.
	Attributes []Attribute
	// PartitionKey, SortKey, Tenant and Version are attribute names; SortKey
	// and Version are empty when the type has none.
	PartitionKey, SortKey, Tenant, Version string
	// Beacons lists the beacons of the type, in attribute order.
	Beacons []Beacon
	// Compounds lists the compound beacons declared on blank fields.
	Compounds []Compound
	// Unique lists the attributes whose values are unique per tenant.
	Unique []string
	// Indexes lists the global secondary indexes declared by tags.
	Indexes []Index

	actions     map[string]attrcrypt.Action
	byName      map[string]int
	fingerprint string
}

// Build makes the schema of the struct type root, named typeName in errors.
// Every problem found is reported (joined), each as an *Error wrapping
// ErrInvalid.
func Build(typeName string, root TypeInfo) (*Schema, error) {
	if root.Kind() != KindStruct {
		return nil, &Error{Type: typeName, Reason: "not a struct (kind " + root.String() + ")"}
	}
	fields, problems := walk(typeName, root, false)
	seen := map[any]bool{root.ID(): true}
	s := &Schema{TypeName: typeName, byName: map[string]int{}, actions: map[string]attrcrypt.Action{}}
	var pkFields, tenantFields, skFields, versionFields []string
	var decls []walkField
	for _, wf := range fields {
		if wf.decl {
			decls = append(decls, wf)
			continue
		}
		st, err := parseSealTag(wf.sealRaw, wf.name)
		if err != nil {
			problems = append(problems, fieldError(typeName, wf.field, err.Error()))
			continue
		}
		a := Attribute{
			Name: wf.name, Field: wf.field.Name, Path: wf.path, Type: wf.field.Type,
			Dynamo: wf.dynamo, Action: st.Action, Pos: wf.field.Pos,
			PartitionKey: st.PartitionKey, SortKey: st.SortKey, Tenant: st.Tenant, Version: st.Version,
			BeaconBits: st.BeaconBits, Unique: st.Unique, Normalize: st.Normalize, Indexes: st.Indexes,
		}
		if reason := checkAttribute(a); reason != "" {
			problems = append(problems, fieldError(typeName, wf.field, reason))
			continue
		}
		if errs := checkTypes(typeName, a, seen); len(errs) > 0 {
			problems = append(problems, errs...)
			continue
		}
		if a.PartitionKey {
			pkFields = append(pkFields, a.Field)
			s.PartitionKey = a.Name
		}
		if a.SortKey {
			skFields = append(skFields, a.Field)
			s.SortKey = a.Name
		}
		if a.Tenant {
			tenantFields = append(tenantFields, a.Field)
			s.Tenant = a.Name
		}
		if a.Version {
			versionFields = append(versionFields, a.Field)
			s.Version = a.Name
		}
		s.byName[a.Name] = len(s.Attributes)
		s.actions[a.Name] = a.Action
		s.Attributes = append(s.Attributes, a)
	}
	typeErr := func(reason string) { problems = append(problems, &Error{Type: typeName, Reason: reason}) }
	switch {
	case len(pkFields) == 0:
		typeErr(`no partition key: tag one field seal:"pk"`)
	case len(pkFields) > 1:
		typeErr("more than one partition key: " + strings.Join(pkFields, ", "))
	}
	if len(skFields) > 1 {
		typeErr("more than one sort key: " + strings.Join(skFields, ", "))
	}
	switch {
	case len(tenantFields) == 0:
		typeErr(`no tenant attribute: tag exactly one string field seal:"tenant" (it may be the partition key)`)
	case len(tenantFields) > 1:
		typeErr("more than one tenant field: " + strings.Join(tenantFields, ", "))
	}
	if len(versionFields) > 1 {
		typeErr("more than one version field: " + strings.Join(versionFields, ", "))
	}
	if len(problems) == 0 {
		problems = buildSearch(s, decls)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	s.fingerprint = fingerprint(s)
	return s, nil
}

// checkAttribute returns why a is unusable, or "".
func checkAttribute(a Attribute) string {
	if attrcrypt.IsReserved(a.Name) {
		return fmt.Sprintf("attribute name %q is reserved by dynaseal's item format", a.Name)
	}
	if a.Name == "" {
		return "empty attribute name"
	}
	role := ""
	switch {
	case a.PartitionKey:
		role = "partition key"
	case a.SortKey:
		role = "sort key"
	case a.Tenant:
		role = "tenant"
	case a.Version:
		role = "version"
	}
	if role != "" && a.Action != attrcrypt.ActionSign {
		return fmt.Sprintf("%s field cannot be %s: DynamoDB and dynaseal must read it, so it is always signed and stored in plaintext", role, a.Action)
	}
	if a.Version && (a.PartitionKey || a.SortKey || a.Tenant) {
		return "version field cannot also be a key or the tenant"
	}
	t := a.Type
	if (a.PartitionKey || a.SortKey) && keyType(t, a.Dynamo) == "" {
		return fmt.Sprintf("%s field has type %s; a key must be a string, a number, []byte or time.Time (not a pointer)", role, t)
	}
	if a.Tenant && (t.Kind() != KindString || a.Dynamo.AsString) {
		return fmt.Sprintf("tenant field has type %s; it must be a string", t)
	}
	if a.Version && ((t.Kind() != KindInt && t.Kind() != KindUint) || a.Dynamo.AsString) {
		return fmt.Sprintf("version field has type %s; it must be an integer type stored as a number", t)
	}
	return ""
}

// keyType is the DynamoDB scalar type a key field is stored as, or "".
func keyType(t TypeInfo, d DynamoTag) types.ScalarAttributeType {
	if t.IsTime() {
		if d.AsUnixTime {
			return types.ScalarAttributeTypeN
		}
		return types.ScalarAttributeTypeS
	}
	switch t.Kind() {
	case KindString:
		return types.ScalarAttributeTypeS
	case KindInt, KindUint, KindFloat:
		if d.AsString {
			return types.ScalarAttributeTypeS
		}
		return types.ScalarAttributeTypeN
	case KindBytes:
		return types.ScalarAttributeTypeB
	}
	return ""
}

// Attribute returns the attribute called name.
func (s *Schema) Attribute(name string) (Attribute, bool) {
	i, ok := s.byName[name]
	if !ok {
		return Attribute{}, false
	}
	return s.Attributes[i], true
}

// Actions returns the crypto action of every attribute, the form
// attrcrypt's configuration takes. The map is shared: do not modify it.
func (s *Schema) Actions() map[string]attrcrypt.Action { return s.actions }

// Fingerprint is a stable digest of the schema's crypto-relevant shape:
// every attribute's name, action and role. It changes exactly when a change
// to the struct changes what is encrypted, signed, or used as a key, and
// ignores Go field names and order.
func (s *Schema) Fingerprint() string { return s.fingerprint }

func fingerprint(s *Schema) string {
	lines := make([]string, 0, len(s.Attributes))
	for _, a := range s.Attributes {
		var roles []string
		for _, r := range []struct {
			on   bool
			name string
		}{{a.PartitionKey, "pk"}, {a.SortKey, "sk"}, {a.Tenant, "tenant"}, {a.Version, "version"}} {
			if r.on {
				roles = append(roles, r.name)
			}
		}
		lines = append(lines, fmt.Sprintf("%d:%s\t%s\t%s", len(a.Name), a.Name, a.Action, strings.Join(roles, ",")))
	}
	// Search declarations change what is stored; they add lines only when
	// present, so the fingerprints of types without them are unchanged.
	for _, b := range s.Beacons {
		lines = append(lines, fmt.Sprintf("beacon\t%s\t%s\t%d\t%d", b.Attribute, b.Source, b.Bits, b.Normalize))
	}
	for _, c := range s.Compounds {
		lines = append(lines, fmt.Sprintf("compound\t%s\t%s", c.Attribute, strings.Join(c.Parts, "+")))
	}
	for _, u := range s.Unique {
		a, _ := s.Attribute(u)
		lines = append(lines, fmt.Sprintf("unique\t%s\t%d", u, a.Normalize))
	}
	sort.Strings(lines)
	h := sha256.New()
	h.Write([]byte("dynaseal-schema-fingerprint-v1\n"))
	for _, l := range lines {
		h.Write([]byte(l))
		h.Write([]byte{'\n'})
	}
	return "v1-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// KeyType returns the DynamoDB scalar type of the named key attribute.
func (s *Schema) KeyType(name string) types.ScalarAttributeType {
	a, ok := s.Attribute(name)
	if !ok {
		return ""
	}
	return keyType(a.Type, a.Dynamo)
}

// CreateTableInput returns the input that creates a table for this schema
// (on-demand billing). Callers may add indexes or change billing before use.
func (s *Schema) CreateTableInput(table string) *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(s.PartitionKey), KeyType: types.KeyTypeHash},
		},
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(s.PartitionKey), AttributeType: s.KeyType(s.PartitionKey)},
		},
	}
	if s.SortKey != "" {
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(s.SortKey), KeyType: types.KeyTypeRange})
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(s.SortKey), AttributeType: s.KeyType(s.SortKey)})
	}
	s.addIndexes(in)
	return in
}
