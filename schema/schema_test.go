package schema_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/schema"
)

type Patient struct {
	TenantID string    `dynamodbav:"tenant"  seal:"pk,tenant"`
	ID       string    `dynamodbav:"id"      seal:"sk"`
	Name     string    `dynamodbav:"name"    seal:"encrypt"`
	SSN      string    `dynamodbav:"ssn"     seal:"encrypt"`
	Plan     string    `dynamodbav:"plan"`
	Seen     time.Time `dynamodbav:"seen"    seal:"plain"`
	Version  int64     `dynamodbav:"v"       seal:"version"`
	//lint:ignore U1000 unexported and untagged: ignored, as attributevalue ignores it
	internal string
}

func TestPatientSchema(t *testing.T) {
	s, err := schema.For[Patient]()
	if err != nil {
		t.Fatal(err)
	}
	if s.PartitionKey != "tenant" || s.SortKey != "id" || s.Tenant != "tenant" || s.Version != "v" {
		t.Fatalf("roles: pk=%q sk=%q tenant=%q version=%q", s.PartitionKey, s.SortKey, s.Tenant, s.Version)
	}
	want := map[string]attrcrypt.Action{
		"tenant": attrcrypt.ActionSign, "id": attrcrypt.ActionSign, "name": attrcrypt.ActionEncrypt,
		"ssn": attrcrypt.ActionEncrypt, "plan": attrcrypt.ActionSign, "seen": attrcrypt.ActionPlain, "v": attrcrypt.ActionSign,
	}
	if !reflect.DeepEqual(s.Actions(), want) {
		t.Fatalf("actions = %v, want %v", s.Actions(), want)
	}
	in := s.CreateTableInput("patients")
	if *in.TableName != "patients" || len(in.KeySchema) != 2 || *in.KeySchema[0].AttributeName != "tenant" ||
		in.KeySchema[0].KeyType != types.KeyTypeHash || *in.KeySchema[1].AttributeName != "id" ||
		in.AttributeDefinitions[1].AttributeType != types.ScalarAttributeTypeS {
		t.Fatalf("CreateTableInput = %+v", in)
	}
}

// The schema must list exactly the attributes attributevalue writes, so the
// reflection walk is checked against MarshalMap itself.
type Inner struct {
	Street string `dynamodbav:"street" seal:"encrypt"`
	City   string
}
type base struct {
	Created int64 `dynamodbav:"created"`
}
type Shadow struct {
	City string `dynamodbav:"city_outer"`
}
type Nested struct {
	Tenant string `seal:"pk,tenant"`
	Inner
	*base
	Shadow
	Addr    Inner    `dynamodbav:"addr" seal:"encrypt"`
	Tags    []string `dynamodbav:"tags,stringset"`
	Skipped string   `dynamodbav:"-"`
	N       *int     `dynamodbav:"n,omitempty"`
}

func TestWalkMatchesAttributevalue(t *testing.T) {
	s, err := schema.For[Nested]()
	if err != nil {
		t.Fatal(err)
	}
	n := 3
	v := Nested{Tenant: "t", Inner: Inner{"s", "c"}, base: &base{Created: 1}, Shadow: Shadow{"o"}, Addr: Inner{"a", "b"}, Tags: []string{"x"}, N: &n}
	m, err := attributevalue.MarshalMap(v)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range s.Attributes {
		got = append(got, a.Name)
		if _, ok := m[a.Name]; !ok {
			t.Errorf("schema has %q, MarshalMap does not", a.Name)
		}
	}
	if len(got) != len(m) {
		t.Errorf("schema attributes %v, MarshalMap wrote %d attributes", got, len(m))
	}
	street, _ := s.Attribute("street")
	if street.Action != attrcrypt.ActionEncrypt || len(street.Path) != 2 || street.Path[0].Name != "Inner" {
		t.Errorf("promoted field street = %+v", street)
	}
	created, _ := s.Attribute("created")
	if !created.Path[0].Pointer {
		t.Errorf("created comes through *base; path %+v should mark the pointer hop", created.Path)
	}
}

func TestInvalidStructs(t *testing.T) {
	type noPK struct {
		T string `seal:"tenant"`
	}
	type twoTenants struct {
		A string `seal:"pk,tenant"`
		B string `seal:"tenant"`
	}
	type encryptedKey struct {
		A string `seal:"pk,tenant"`
		B string `seal:"sk,encrypt"`
	}
	type encryptedTenant struct {
		A string `seal:"pk"`
		B string `seal:"tenant,encrypt"`
	}
	type badVersion struct {
		A string `seal:"pk,tenant"`
		V string `seal:"version"`
	}
	type unknownOption struct {
		A string `seal:"pk,tenant"`
		B string `seal:"encrpyt"`
	}
	reserved := reflect.StructOf([]reflect.StructField{
		{Name: "A", Type: reflect.TypeFor[string](), Tag: `seal:"pk,tenant"`},
		{Name: "B", Type: reflect.TypeFor[string](), Tag: reflect.StructTag(`dynamodbav:"` + attrcrypt.HeaderAttribute + `"`)},
	})
	type unexported struct {
		A string `seal:"pk,tenant"`
		//lint:ignore U1000 an unexported tagged field is the point of the test
		b string `seal:"encrypt"`
	}
	type noTenant struct {
		A string `seal:"pk"`
	}
	type pointerKey struct {
		A *string `seal:"pk,tenant"`
	}
	type intTenant struct {
		A string `seal:"pk"`
		T int    `seal:"tenant"`
	}
	type twoActions struct {
		A string `seal:"pk,tenant"`
		B string `seal:"encrypt,plain"`
	}
	cases := []struct {
		name   string
		typ    reflect.Type
		field  string
		reason string
	}{
		{"missing partition key", reflect.TypeFor[noPK](), "", "no partition key"},
		{"two tenant fields", reflect.TypeFor[twoTenants](), "", "more than one tenant field: A, B"},
		{"encrypt on a key", reflect.TypeFor[encryptedKey](), "B", "sort key field cannot be encrypt"},
		{"encrypt on the tenant", reflect.TypeFor[encryptedTenant](), "B", "tenant field cannot be encrypt"},
		{"version on a non-integer", reflect.TypeFor[badVersion](), "V", "must be an integer"},
		{"unknown option", reflect.TypeFor[unknownOption](), "B", `unknown option "encrpyt"`},
		{"reserved attribute name", reserved, "B", "is reserved"},
		{"unexported tagged field", reflect.TypeFor[unexported](), "b", "unexported"},
		{"no tenant", reflect.TypeFor[noTenant](), "", "no tenant attribute"},
		{"pointer key", reflect.TypeFor[pointerKey](), "A", "a key must be"},
		{"int tenant", reflect.TypeFor[intTenant](), "T", "must be a string"},
		{"two actions", reflect.TypeFor[twoActions](), "B", "more than one of encrypt, sign, plain"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := schema.FromReflect(c.typ)
			if !errors.Is(err, schema.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			var se *schema.Error
			if !errors.As(err, &se) {
				t.Fatalf("err %v is not a *schema.Error", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.reason) {
				t.Fatalf("error %q should say %q", msg, c.reason)
			}
			if c.field != "" && !strings.Contains(msg, c.typ.Name()+"."+c.field+":") {
				t.Fatalf("error %q should name field %s", msg, c.field)
			}
		})
	}
}

func TestParseSealTag(t *testing.T) {
	st, err := schema.ParseSealTag("pk, tenant")
	if err != nil || !st.PartitionKey || !st.Tenant || st.Action != attrcrypt.ActionSign {
		t.Fatalf("ParseSealTag(pk, tenant) = %+v, %v", st, err)
	}
	for _, bad := range []string{"pk,pk", "pk,", "encrypt,sign", "pk,sk", "Encrypt"} {
		if _, err := schema.ParseSealTag(bad); err == nil {
			t.Errorf("ParseSealTag(%q) accepted", bad)
		}
	}
}

func TestFingerprint(t *testing.T) {
	type a struct {
		T string `dynamodbav:"t" seal:"pk,tenant"`
		X string `dynamodbav:"x" seal:"encrypt"`
		Y int    `dynamodbav:"y"`
	}
	type reordered struct { // same attributes, other Go names and order
		Why   int    `dynamodbav:"y"`
		Ex    string `dynamodbav:"x" seal:"encrypt"`
		Tenny string `dynamodbav:"t" seal:"pk,tenant"`
	}
	type changed struct {
		T string `dynamodbav:"t" seal:"pk,tenant"`
		X string `dynamodbav:"x"` // no longer encrypted
		Y int    `dynamodbav:"y"`
	}
	fp := func(typ reflect.Type) string {
		s, err := schema.FromReflect(typ)
		if err != nil {
			t.Fatal(err)
		}
		return s.Fingerprint()
	}
	if fp(reflect.TypeFor[a]()) != fp(reflect.TypeFor[reordered]()) {
		t.Error("fingerprint depends on Go field names or order")
	}
	if fp(reflect.TypeFor[a]()) == fp(reflect.TypeFor[changed]()) {
		t.Error("fingerprint did not change when an attribute stopped being encrypted")
	}
	if got := fp(reflect.TypeFor[a]()); !strings.HasPrefix(got, "v1-") || len(got) != 27 {
		t.Errorf("fingerprint %q: want v1- and 24 hex digits", got)
	}
}
