package schema

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// BeaconSuffix ends the stored name of every beacon attribute: the beacon
// of attribute "email" is stored as "email#b". A user attribute may not
// take a name the schema gives to a beacon or a compound beacon.
const BeaconSuffix = "#b"

// Beacon is a searchable companion of an attribute: a truncated keyed MAC
// of its normalised plaintext, stored beside it as a signed string
// attribute ("tenant" IndexSeparator "hex"; attrcrypt.Beacon).
type Beacon struct {
	// Attribute is the stored beacon attribute's name (Source+BeaconSuffix).
	Attribute string
	// Source is the attribute the beacon is computed from.
	Source string
	// Bits is the beacon length.
	Bits int
	// Normalize is applied to the value before the MAC.
	Normalize attrcrypt.Normalization
}

// Compound is a compound beacon: one stored string attribute joining the
// tenant and several parts, so that one index serves several access
// patterns. A part is the beacon of an attribute that has one, or else
// the attribute's signed plaintext (a string or a number). Declared on a
// blank field: _ struct{} `seal:"compound=NAME,parts=a+b"`.
type Compound struct {
	// Attribute is the stored attribute's name (NAME).
	Attribute string
	// Parts are the attribute names the value is built from, in order.
	Parts []string
}

// Index is a global secondary index declared by tags: on a field
// (index=NAME, index=NAME:sk) or on a blank field
// (_ struct{} `seal:"index=NAME,pk=ATTR,sk=ATTR"`). Its keys are stored
// attribute names: an encrypted field's beacon, a compound beacon, or a
// signed or plain attribute. It projects ALL attributes.
type Index struct {
	// Name is the index name.
	Name string
	// PartitionKey and SortKey are the stored key attribute names; SortKey
	// is empty when the index has none.
	PartitionKey, SortKey string
}

// BeaconOf returns the beacon computed from attribute source.
func (s *Schema) BeaconOf(source string) (Beacon, bool) {
	for _, b := range s.Beacons {
		if b.Source == source {
			return b, true
		}
	}
	return Beacon{}, false
}

// BeaconStored returns the beacon stored as attribute name.
func (s *Schema) BeaconStored(name string) (Beacon, bool) {
	for _, b := range s.Beacons {
		if b.Attribute == name {
			return b, true
		}
	}
	return Beacon{}, false
}

// CompoundNamed returns the compound beacon stored as attribute name.
func (s *Schema) CompoundNamed(name string) (Compound, bool) {
	for _, c := range s.Compounds {
		if c.Attribute == name {
			return c, true
		}
	}
	return Compound{}, false
}

// IndexNamed returns the declared index called name.
func (s *Schema) IndexNamed(name string) (Index, bool) {
	for _, ix := range s.Indexes {
		if ix.Name == name {
			return ix, true
		}
	}
	return Index{}, false
}

// DerivedAttributes lists the attributes the engine computes on write
// (beacons and compound beacons), sorted.
func (s *Schema) DerivedAttributes() []string {
	var out []string
	for _, b := range s.Beacons {
		out = append(out, b.Attribute)
	}
	for _, c := range s.Compounds {
		out = append(out, c.Attribute)
	}
	slices.Sort(out)
	return out
}

// searchable reports whether a is a scalar a beacon or a claim can be
// computed from (string, number or binary, or a pointer to one).
func searchable(a Attribute) bool {
	return scalarType(a) != ""
}

// scalarType is the DynamoDB scalar type a is stored as, looking through
// pointers (as table's index checks do), or "" if it is not a scalar.
func scalarType(a Attribute) types.ScalarAttributeType {
	return keyType(derefType(a.Type), a.Dynamo)
}

func derefType(t TypeInfo) TypeInfo {
	for t.Kind() == KindPointer {
		t = t.Elem()
	}
	return t
}

// CanBeEmpty reports whether a's stored value can be an empty string or
// binary, or NULL (a pointer, string or []byte without omitempty). Such an
// attribute cannot be an index key: DynamoDB rejects an empty or NULL key
// value, while with omitempty an empty value leaves the attribute out and
// the item out of the (sparse) index. The table's own keys and the tenant
// attribute are never stored empty.
func (a Attribute) CanBeEmpty() bool {
	if a.PartitionKey || a.SortKey || a.Tenant || a.Dynamo.OmitEmpty {
		return false
	}
	t := derefType(a.Type)
	return a.Type.Kind() == KindPointer || t.Kind() == KindString || t.Kind() == KindBytes
}

// emptyKeyReason explains the omitempty rule for index key a.
func emptyKeyReason(a Attribute, index string) string {
	return fmt.Sprintf("index %q key %s (type %s) can be empty and DynamoDB rejects an empty index key: add omitempty to its dynamodbav tag (`dynamodbav:\"%s,omitempty\"`)", index, a.Name, a.Type, a.Name)
}

// validIndexName reports whether name is a DynamoDB index name: 3 to 255
// characters from [A-Za-z0-9_.-].
func validIndexName(name string) bool {
	if len(name) < 3 || len(name) > 255 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// buildSearch fills the beacons, compounds, unique attributes and indexes
// of s from its attributes' tags and the blank-field declarations.
func buildSearch(s *Schema, decls []walkField) []error {
	var problems []error
	attrErr := func(a Attribute, reason string) {
		problems = append(problems, &Error{Type: s.TypeName, Field: a.Field, Pos: a.Pos, Reason: reason})
	}
	typeErr := func(reason string) { problems = append(problems, &Error{Type: s.TypeName, Reason: reason}) }
	indexes := map[string]*Index{}
	var order []string
	addKey := func(ixName, attr string, sort bool, where string) {
		ix := indexes[ixName]
		if ix == nil {
			ix = &Index{Name: ixName}
			indexes[ixName] = ix
			order = append(order, ixName)
		}
		slot := &ix.PartitionKey
		if sort {
			slot = &ix.SortKey
		}
		if *slot != "" {
			typeErr(fmt.Sprintf("index %q has two %s keys (%s and %s)", ixName, map[bool]string{false: "partition", true: "sort"}[sort], *slot, attr+where))
			return
		}
		*slot = attr
	}
	for _, a := range s.Attributes {
		role := a.PartitionKey || a.SortKey || a.Tenant || a.Version
		if a.BeaconBits > 0 {
			switch {
			case a.Action == attrcrypt.ActionPlain:
				attrErr(a, "beacon on a plain attribute: a beacon must be covered by the signature; search a plain attribute directly")
			case role:
				attrErr(a, "beacon on a key, tenant or version attribute, which is stored in plaintext and can be queried directly")
			case !searchable(a):
				attrErr(a, fmt.Sprintf("beacon on type %s; a beacon is computed from a string, a number or []byte", a.Type))
			default:
				s.Beacons = append(s.Beacons, Beacon{Attribute: a.Name + BeaconSuffix, Source: a.Name, Bits: a.BeaconBits, Normalize: a.Normalize})
			}
		}
		if a.Unique {
			switch {
			case a.Action == attrcrypt.ActionPlain:
				attrErr(a, "unique on a plain attribute: its value is not covered by the signature, so a claim could not be checked against it; make it signed or encrypted")
			case role:
				attrErr(a, "unique on a key, tenant or version attribute; the primary key is unique already")
			case !searchable(a):
				attrErr(a, fmt.Sprintf("unique on type %s; a unique value is a string, a number or []byte", a.Type))
			default:
				s.Unique = append(s.Unique, a.Name)
			}
		}
		if a.Normalize != 0 {
			if a.BeaconBits == 0 && !a.Unique {
				attrErr(a, "lower and trim apply to a beacon or a unique value; add beacon or unique")
			} else if derefType(a.Type).Kind() != KindString {
				attrErr(a, "lower and trim apply to strings only")
			}
		}
		for _, k := range a.Indexes {
			key := a.Name
			if a.Action == attrcrypt.ActionEncrypt {
				if a.BeaconBits == 0 {
					attrErr(a, fmt.Sprintf("index %q on an encrypted attribute: add beacon so the index keys on its beacon (DynamoDB only sees ciphertext)", k.Index))
					continue
				}
				key = a.Name + BeaconSuffix
			} else if !searchable(a) {
				attrErr(a, fmt.Sprintf("index %q key of type %s; an index key is a string, a number or []byte", k.Index, a.Type))
				continue
			} else if a.CanBeEmpty() {
				attrErr(a, emptyKeyReason(a, k.Index))
				continue
			}
			addKey(k.Index, key, k.Sort, "")
		}
	}
	names := map[string]bool{}
	for _, a := range s.Attributes {
		names[a.Name] = true
	}
	for _, b := range s.Beacons {
		if names[b.Attribute] {
			typeErr(fmt.Sprintf("attribute %q collides with the beacon of %q", b.Attribute, b.Source))
		}
		names[b.Attribute] = true
	}
	for _, d := range decls {
		problems = append(problems, parseDecl(s, d, names, addKey)...)
	}
	for _, name := range order {
		ix := indexes[name]
		switch {
		case !validIndexName(name):
			typeErr(fmt.Sprintf("index name %q: DynamoDB index names are 3 to 255 characters from A-Z a-z 0-9 _ . -", name))
			continue
		case ix.PartitionKey == "":
			typeErr(fmt.Sprintf("index %q has a sort key but no partition key", name))
			continue
		case ix.PartitionKey == ix.SortKey:
			typeErr(fmt.Sprintf("index %q uses %s as both partition and sort key", name, ix.PartitionKey))
			continue
		}
		s.Indexes = append(s.Indexes, *ix)
	}
	if len(s.Unique) > 0 {
		if s.KeyType(s.PartitionKey) != types.ScalarAttributeTypeS || (s.SortKey != "" && s.KeyType(s.SortKey) != types.ScalarAttributeTypeS) {
			typeErr("unique values need string primary keys: their claim items share the table and are keyed by strings")
		} else if s.PartitionKey == s.Tenant && s.SortKey == "" {
			typeErr("unique values need a sort key when the partition key is the tenant: claim items live in the tenant's partition")
		}
	}
	return problems
}

// parseDecl reads one blank-field declaration:
//
//	_ struct{} `seal:"compound=NAME,parts=a+b"`
//	_ struct{} `seal:"index=NAME,pk=ATTR,sk=ATTR"`
func parseDecl(s *Schema, d walkField, names map[string]bool, addKey func(ix, attr string, sort bool, where string)) []error {
	bad := func(reason string) []error {
		return []error{&Error{Type: s.TypeName, Field: "_", Pos: d.field.Pos, Reason: fmt.Sprintf("seal tag %q: %s", d.sealRaw, reason)}}
	}
	opts := map[string]string{}
	for _, opt := range strings.Split(d.sealRaw, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(opt), "=")
		if _, dup := opts[k]; dup {
			return bad("option " + k + " repeated")
		}
		opts[k] = v
	}
	switch {
	case opts["compound"] != "":
		name := opts["compound"]
		if len(opts) != 2 || opts["parts"] == "" {
			return bad("want compound=NAME,parts=ATTR+ATTR")
		}
		if attrcrypt.IsReserved(name) || names[name] || strings.HasSuffix(name, BeaconSuffix) {
			return bad(fmt.Sprintf("compound name %q is reserved or already an attribute", name))
		}
		c := Compound{Attribute: name}
		for _, p := range strings.Split(opts["parts"], "+") {
			a, ok := s.Attribute(p)
			if !ok {
				return bad(fmt.Sprintf("part %q is not an attribute of the type", p))
			}
			if slices.Contains(c.Parts, p) {
				return bad(fmt.Sprintf("part %q repeated", p))
			}
			if _, hasBeacon := s.BeaconOf(p); !hasBeacon {
				if a.Action == attrcrypt.ActionEncrypt {
					return bad(fmt.Sprintf("part %q is encrypted: give it a beacon", p))
				}
				if kt := scalarType(a); kt != types.ScalarAttributeTypeS && kt != types.ScalarAttributeTypeN {
					return bad(fmt.Sprintf("part %q must be a string or a number", p))
				}
			}
			c.Parts = append(c.Parts, p)
		}
		if len(c.Parts) < 2 {
			return bad("a compound beacon has at least two parts")
		}
		names[name] = true
		s.Compounds = append(s.Compounds, c)
	case opts["index"] != "":
		for k := range opts {
			if k != "index" && k != "pk" && k != "sk" {
				return bad("unknown option " + k + "; want index=NAME,pk=ATTR[,sk=ATTR]")
			}
		}
		if opts["pk"] == "" {
			return bad("an index declaration needs pk=ATTR")
		}
		for _, role := range []string{"pk", "sk"} {
			attr := opts[role]
			if attr == "" {
				continue
			}
			stored, err := s.indexKeyAttribute(opts["index"], attr)
			if err != "" {
				return bad(err)
			}
			addKey(opts["index"], stored, role == "sk", "")
		}
	default:
		return bad("a blank field's seal tag declares compound=NAME,parts=... or index=NAME,pk=...")
	}
	return nil
}

// indexKeyAttribute maps an attribute named in an index declaration to the
// stored key attribute: a compound, a beacon for an encrypted attribute,
// or the attribute itself.
func (s *Schema) indexKeyAttribute(index, attr string) (string, string) {
	if _, ok := s.CompoundNamed(attr); ok {
		return attr, ""
	}
	if _, ok := s.BeaconStored(attr); ok {
		return attr, ""
	}
	a, ok := s.Attribute(attr)
	if !ok {
		return "", fmt.Sprintf("index key %q is not an attribute of the type (declare compounds before the indexes that use them)", attr)
	}
	if a.Action == attrcrypt.ActionEncrypt {
		if b, ok := s.BeaconOf(attr); ok {
			return b.Attribute, ""
		}
		return "", fmt.Sprintf("index key %q is encrypted: give it a beacon", attr)
	}
	if !searchable(a) {
		return "", fmt.Sprintf("index key %q must be a string, a number or []byte", attr)
	}
	if a.CanBeEmpty() {
		return "", emptyKeyReason(a, index)
	}
	return attr, ""
}

// indexKeyType is the DynamoDB type of a declared index key attribute.
func (s *Schema) indexKeyType(name string) types.ScalarAttributeType {
	if _, ok := s.BeaconStored(name); ok {
		return types.ScalarAttributeTypeS
	}
	if _, ok := s.CompoundNamed(name); ok {
		return types.ScalarAttributeTypeS
	}
	a, ok := s.Attribute(name)
	if !ok {
		return ""
	}
	return scalarType(a)
}

// addIndexes adds the declared indexes to a CreateTableInput.
func (s *Schema) addIndexes(in *dynamodb.CreateTableInput) {
	defined := map[string]bool{}
	for _, d := range in.AttributeDefinitions {
		defined[aws.ToString(d.AttributeName)] = true
	}
	define := func(name string) {
		if name != "" && !defined[name] {
			defined[name] = true
			in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: s.indexKeyType(name)})
		}
	}
	for _, ix := range s.Indexes {
		gsi := types.GlobalSecondaryIndex{
			IndexName:  aws.String(ix.Name),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String(ix.PartitionKey), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}
		define(ix.PartitionKey)
		if ix.SortKey != "" {
			gsi.KeySchema = append(gsi.KeySchema, types.KeySchemaElement{AttributeName: aws.String(ix.SortKey), KeyType: types.KeyTypeRange})
			define(ix.SortKey)
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, gsi)
	}
}
