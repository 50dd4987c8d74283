package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Spec describes an item type without Go code, for tools that work on a
// table without the application's types (the migrate job of the dynaseal
// command). Its JSON form, read by ParseSpec, is
//
//	{
//	  "type": "Patient",
//	  "partitionKey": "tenant",
//	  "sortKey": "id",
//	  "tenant": "tenant",
//	  "version": "v",
//	  "keyTypes": {"id": "S"},
//	  "attributes": {"name": "encrypt", "ssn": "encrypt", "plan": "sign", "seen": "plain"}
//	}
//
// partitionKey and tenant are required (they may name the same attribute);
// sortKey and version are optional. keyTypes gives the DynamoDB type ("S",
// "N" or "B") of the key attributes, "S" by default. attributes maps
// attribute names to their action: "encrypt", "sign" or "plain". The key,
// tenant and version attributes are always signed (listing them as "sign"
// is allowed, anything else is refused, as for struct tags). As with an
// untagged struct field, an attribute an item holds that the spec does not
// list is signed: nothing is left unprotected unless "plain" is asked for.
// Unknown JSON fields are refused.
//
// The schema FromSpec builds is the one Build would build from a struct
// with those attributes (same checks, same Actions and Fingerprint), so a
// spec and a Go type with the same names and actions seal items the same
// way. Its attributes have no Go type (the table package's typed handles
// need one; table.NewAdmin does not).
type Spec struct {
	// Type names the item type in errors (default "spec").
	Type string `json:"type,omitempty"`
	// PartitionKey, SortKey, Tenant and Version are attribute names;
	// SortKey and Version may be empty.
	PartitionKey string `json:"partitionKey"`
	SortKey      string `json:"sortKey,omitempty"`
	Tenant       string `json:"tenant"`
	Version      string `json:"version,omitempty"`
	// KeyTypes gives the DynamoDB scalar type (S, N or B) of the partition
	// and sort key; S when absent.
	KeyTypes map[string]string `json:"keyTypes,omitempty"`
	// Attributes maps attribute names to "encrypt", "sign" or "plain".
	Attributes map[string]string `json:"attributes,omitempty"`
}

// ParseSpec parses the JSON form of a Spec (see Spec) and builds its
// schema. Unknown fields, trailing data and every problem FromSpec finds
// are errors wrapping ErrInvalid.
func ParseSpec(data []byte) (*Schema, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var sp Spec
	if err := dec.Decode(&sp); err != nil {
		return nil, fmt.Errorf("%w: schema spec: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: schema spec: trailing data after the JSON object", ErrInvalid)
	}
	return FromSpec(sp)
}

// FromSpec builds the schema sp describes. Every problem is reported
// (joined), each wrapping ErrInvalid.
func FromSpec(sp Spec) (*Schema, error) {
	typeName := sp.Type
	if typeName == "" {
		typeName = "spec"
	}
	var problems []error
	bad := func(format string, args ...any) {
		problems = append(problems, &Error{Type: typeName, Reason: fmt.Sprintf(format, args...)})
	}
	if sp.PartitionKey == "" {
		bad("no partitionKey")
	}
	if sp.Tenant == "" {
		bad("no tenant attribute")
	}
	roles := map[string][]string{}
	addRole := func(name, role string) {
		if name != "" {
			roles[name] = append(roles[name], role)
		}
	}
	addRole(sp.PartitionKey, "pk")
	addRole(sp.SortKey, "sk")
	addRole(sp.Tenant, "tenant")
	addRole(sp.Version, "version")
	for name, kt := range sp.KeyTypes {
		if name != sp.PartitionKey && name != sp.SortKey {
			bad("keyTypes names %q, which is not a key", name)
		}
		if kt != "S" && kt != "N" && kt != "B" {
			bad("keyTypes[%q] is %q; want S, N or B", name, kt)
		}
	}
	names := make([]string, 0, len(sp.Attributes)+len(roles))
	for n := range sp.Attributes {
		names = append(names, n)
	}
	for n := range roles {
		if _, ok := sp.Attributes[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	st := &specStruct{name: typeName}
	for _, n := range names {
		if n == "" || n == "-" || strings.ContainsAny(n, ",") || !utf8.ValidString(n) {
			bad("attribute name %q cannot be used (empty, \"-\", a comma or invalid UTF-8)", n)
			continue
		}
		opts := roles[n]
		if a, ok := sp.Attributes[n]; ok {
			switch a {
			case "encrypt", "sign", "plain":
				opts = append(opts, a)
			default:
				bad("attribute %q has action %q; want encrypt, sign or plain", n, a)
				continue
			}
		}
		ft := specScalar{kind: KindInterface, name: "any"}
		switch {
		case slices.Contains(roles[n], "version"):
			ft = specScalar{kind: KindInt, name: "int64"}
		case slices.Contains(roles[n], "pk"), slices.Contains(roles[n], "sk"):
			switch sp.KeyTypes[n] {
			case "N":
				ft = specScalar{kind: KindInt, name: "int64"}
			case "B":
				ft = specScalar{kind: KindBytes, name: "[]byte"}
			default:
				ft = specScalar{kind: KindString, name: "string"}
			}
		case slices.Contains(roles[n], "tenant"):
			ft = specScalar{kind: KindString, name: "string"}
		}
		tag := DynamoTagKey + ":" + strconv.Quote(n)
		if len(opts) > 0 {
			tag += " " + SealTagKey + ":" + strconv.Quote(strings.Join(opts, ","))
		}
		st.fields = append(st.fields, FieldInfo{Name: n, Exported: true, Tag: reflect.StructTag(tag), Type: ft, Pos: "spec attribute " + strconv.Quote(n)})
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return Build(typeName, st)
}

// specStruct is the struct a Spec stands for, as the schema walk sees it:
// one exported field per attribute, tagged as a Go field would be.
type specStruct struct {
	name   string
	fields []FieldInfo
}

func (s *specStruct) Kind() Kind            { return KindStruct }
func (s *specStruct) Named() bool           { return true }
func (s *specStruct) IsTime() bool          { return false }
func (s *specStruct) Elem() TypeInfo        { return nil }
func (s *specStruct) NumField() int         { return len(s.fields) }
func (s *specStruct) Field(i int) FieldInfo { return s.fields[i] }
func (s *specStruct) ID() any               { return s }
func (s *specStruct) String() string        { return s.name }

// specScalar is the stand-in Go type of a spec attribute: a string, int64
// or []byte for keys, tenant and version, and any (stored as whatever it
// holds) for the others.
type specScalar struct {
	kind Kind
	name string
}

func (s specScalar) Kind() Kind          { return s.kind }
func (s specScalar) Named() bool         { return false }
func (s specScalar) IsTime() bool        { return false }
func (s specScalar) Elem() TypeInfo      { return specScalar{kind: KindInterface, name: "any"} }
func (s specScalar) NumField() int       { return 0 }
func (s specScalar) Field(int) FieldInfo { return FieldInfo{} }
func (s specScalar) ID() any             { return s }
func (s specScalar) String() string      { return s.name }
