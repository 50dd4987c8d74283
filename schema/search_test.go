package schema_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/schema"
)

func TestParseSealTagSearchOptions(t *testing.T) {
	cases := []struct {
		tag  string
		want schema.SealTag
	}{
		{"encrypt,beacon", schema.SealTag{Action: attrcrypt.ActionEncrypt, BeaconBits: schema.DefaultBeaconBits}},
		{"encrypt,beacon=2", schema.SealTag{Action: attrcrypt.ActionEncrypt, BeaconBits: 2}},
		{"encrypt,beacon=64,lower,trim", schema.SealTag{Action: attrcrypt.ActionEncrypt, BeaconBits: 64, Normalize: attrcrypt.NormalizeLower | attrcrypt.NormalizeTrim}},
		{"unique,trim", schema.SealTag{Unique: true, Normalize: attrcrypt.NormalizeTrim}},
		{"index=byStatus", schema.SealTag{Indexes: []schema.IndexKey{{Index: "byStatus"}}}},
		{"index=byStatus:sk", schema.SealTag{Indexes: []schema.IndexKey{{Index: "byStatus", Sort: true}}}},
		{"index=byStatus:pk", schema.SealTag{Indexes: []schema.IndexKey{{Index: "byStatus"}}}},
		{"index=a1x,index=b1x:sk", schema.SealTag{Indexes: []schema.IndexKey{{Index: "a1x"}, {Index: "b1x", Sort: true}}}},
		{" encrypt , beacon = 8 ", schema.SealTag{}}, // "beacon = 8" is not an option: see refusals
	}
	for _, c := range cases[:len(cases)-1] {
		got, err := schema.ParseSealTag(c.tag)
		if err != nil {
			t.Fatalf("%q: %v", c.tag, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Fatalf("%q = %+v, want %+v", c.tag, got, c.want)
		}
	}
	refused := map[string]string{
		"encrypt,beacon=1":           "from 2 to 64",
		"encrypt,beacon=65":          "from 2 to 64",
		"encrypt,beacon=0":           "from 2 to 64",
		"encrypt,beacon=x":           "from 2 to 64",
		"encrypt,beacon=":            "from 2 to 64",
		"encrypt,beacon=-4":          "from 2 to 64",
		"encrypt,beacon,beacon=20":   "beacon repeated",
		"encrypt,beacon=20,beacon":   "beacon repeated",
		"encrypt,beacon=20,beacon=8": "beacon repeated",
		"unique,unique":              "repeated",
		"lower,lower":                "repeated",
		"index=":                     "want index=NAME",
		"index=:sk":                  "want index=NAME",
		"index=a:xx":                 "want index=NAME",
		"index=a,index=a":            "repeated",
		"encrypt, beacon = 8":        "unknown option",
		"beacons":                    "unknown option",
	}
	for tag, want := range refused {
		_, err := schema.ParseSealTag(tag)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want one mentioning %q", tag, err, want)
		}
	}
}

type Customer struct {
	Tenant  string   `dynamodbav:"tenant" seal:"pk,tenant"`
	ID      string   `dynamodbav:"id" seal:"sk"`
	Email   string   `dynamodbav:"email" seal:"encrypt,beacon=20,lower,trim,unique,index=byEmail"`
	Phone   *string  `dynamodbav:"phone,omitempty" seal:"encrypt,beacon"`
	Status  string   `dynamodbav:"status,omitempty" seal:"index=byStatus"`
	Created int64    `dynamodbav:"created" seal:"index=byStatus:sk"`
	Code    []byte   `dynamodbav:"code" seal:"encrypt,beacon=8"`
	Score   int      `dynamodbav:"score" seal:"unique"`
	Region  string   `dynamodbav:"region,omitempty" seal:"plain"`
	_       struct{} `seal:"compound=status_email,parts=status+email"`
	_       struct{} `seal:"compound=region_created,parts=region+created"`
	_       struct{} `seal:"index=byStatusEmail,pk=status_email,sk=created"`
	_       struct{} `seal:"index=byPhone,pk=phone"`
	_       struct{} `seal:"index=byRegion,pk=tenant,sk=region_created"`
}

func TestSearchSchema(t *testing.T) {
	s, err := schema.For[Customer]()
	if err != nil {
		t.Fatal(err)
	}
	wantBeacons := []schema.Beacon{
		{Attribute: "email#b", Source: "email", Bits: 20, Normalize: attrcrypt.NormalizeLower | attrcrypt.NormalizeTrim},
		{Attribute: "phone#b", Source: "phone", Bits: schema.DefaultBeaconBits},
		{Attribute: "code#b", Source: "code", Bits: 8},
	}
	if !reflect.DeepEqual(s.Beacons, wantBeacons) {
		t.Fatalf("beacons = %+v", s.Beacons)
	}
	wantCompounds := []schema.Compound{
		{Attribute: "status_email", Parts: []string{"status", "email"}},
		{Attribute: "region_created", Parts: []string{"region", "created"}},
	}
	if !reflect.DeepEqual(s.Compounds, wantCompounds) {
		t.Fatalf("compounds = %+v", s.Compounds)
	}
	if !reflect.DeepEqual(s.Unique, []string{"email", "score"}) {
		t.Fatalf("unique = %v", s.Unique)
	}
	wantIndexes := []schema.Index{
		{Name: "byEmail", PartitionKey: "email#b"},
		{Name: "byStatus", PartitionKey: "status", SortKey: "created"},
		{Name: "byStatusEmail", PartitionKey: "status_email", SortKey: "created"},
		{Name: "byPhone", PartitionKey: "phone#b"},
		{Name: "byRegion", PartitionKey: "tenant", SortKey: "region_created"},
	}
	if !reflect.DeepEqual(s.Indexes, wantIndexes) {
		t.Fatalf("indexes = %+v", s.Indexes)
	}
	if b, ok := s.BeaconOf("email"); !ok || b.Attribute != "email#b" {
		t.Fatal("BeaconOf(email)")
	}
	if b, ok := s.BeaconStored("phone#b"); !ok || b.Source != "phone" {
		t.Fatal("BeaconStored(phone#b)")
	}
	if _, ok := s.BeaconOf("status"); ok {
		t.Fatal("status has no beacon")
	}
	if _, ok := s.CompoundNamed("status_email"); !ok {
		t.Fatal("CompoundNamed")
	}
	if ix, ok := s.IndexNamed("byPhone"); !ok || ix.PartitionKey != "phone#b" {
		t.Fatal("IndexNamed")
	}
	if got := s.DerivedAttributes(); !reflect.DeepEqual(got, []string{"code#b", "email#b", "phone#b", "region_created", "status_email"}) {
		t.Fatalf("derived = %v", got)
	}
	// Beacons are signed attributes, not in the declared actions: the
	// engine adds them; the fingerprint changes with them.
	if _, ok := s.Actions()["email#b"]; ok {
		t.Fatal("beacon listed among the declared attributes")
	}
}

func TestSearchCreateTableInput(t *testing.T) {
	s, err := schema.For[Customer]()
	if err != nil {
		t.Fatal(err)
	}
	in := s.CreateTableInput("customers")
	defs := map[string]types.ScalarAttributeType{}
	for _, d := range in.AttributeDefinitions {
		name := aws.ToString(d.AttributeName)
		if _, dup := defs[name]; dup {
			t.Fatalf("attribute %s defined twice", name)
		}
		defs[name] = d.AttributeType
	}
	wantDefs := map[string]types.ScalarAttributeType{
		"tenant": "S", "id": "S", "email#b": "S", "status": "S", "created": "N",
		"status_email": "S", "phone#b": "S", "region_created": "S",
	}
	if !reflect.DeepEqual(defs, wantDefs) {
		t.Fatalf("attribute definitions = %v, want %v", defs, wantDefs)
	}
	if len(in.GlobalSecondaryIndexes) != 5 {
		t.Fatalf("%d GSIs", len(in.GlobalSecondaryIndexes))
	}
	for i, g := range in.GlobalSecondaryIndexes {
		want := s.Indexes[i]
		if aws.ToString(g.IndexName) != want.Name || g.Projection == nil || g.Projection.ProjectionType != types.ProjectionTypeAll {
			t.Fatalf("GSI %d = %+v", i, g)
		}
		if aws.ToString(g.KeySchema[0].AttributeName) != want.PartitionKey || g.KeySchema[0].KeyType != types.KeyTypeHash {
			t.Fatalf("GSI %s partition key %+v", want.Name, g.KeySchema[0])
		}
		if want.SortKey == "" && len(g.KeySchema) != 1 ||
			want.SortKey != "" && (len(g.KeySchema) != 2 || aws.ToString(g.KeySchema[1].AttributeName) != want.SortKey || g.KeySchema[1].KeyType != types.KeyTypeRange) {
			t.Fatalf("GSI %s key schema %+v", want.Name, g.KeySchema)
		}
	}
	// A type without declarations gets no GSIs (unchanged output).
	p, err := schema.For[Patient]()
	if err != nil {
		t.Fatal(err)
	}
	if in := p.CreateTableInput("p"); len(in.GlobalSecondaryIndexes) != 0 || len(in.AttributeDefinitions) != 2 {
		t.Fatalf("plain type: %+v", in)
	}
}

// TestSearchFingerprint: search declarations change the fingerprint (they
// change what is stored); indexes alone do not.
func TestSearchFingerprint(t *testing.T) {
	type base struct {
		T string `dynamodbav:"t" seal:"pk,tenant"`
		E string `dynamodbav:"e" seal:"encrypt"`
		S string `dynamodbav:"s,omitempty"`
	}
	type withBeacon struct {
		T string `dynamodbav:"t" seal:"pk,tenant"`
		E string `dynamodbav:"e" seal:"encrypt,beacon"`
		S string `dynamodbav:"s,omitempty"`
	}
	type otherBits struct {
		T string `dynamodbav:"t" seal:"pk,tenant"`
		E string `dynamodbav:"e" seal:"encrypt,beacon=12"`
		S string `dynamodbav:"s,omitempty"`
	}
	type withIndex struct {
		T string `dynamodbav:"t" seal:"pk,tenant"`
		E string `dynamodbav:"e" seal:"encrypt"`
		S string `dynamodbav:"s,omitempty" seal:"index=byS"`
	}
	fp := func(typ reflect.Type) string {
		s, err := schema.FromReflect(typ)
		if err != nil {
			t.Fatal(err)
		}
		return s.Fingerprint()
	}
	b, wb, ob, wi := fp(reflect.TypeFor[base]()), fp(reflect.TypeFor[withBeacon]()), fp(reflect.TypeFor[otherBits]()), fp(reflect.TypeFor[withIndex]())
	if b == wb || wb == ob {
		t.Fatal("beacon declarations do not change the fingerprint")
	}
	if b != wi {
		t.Fatal("an index declaration changed the fingerprint")
	}
}

// TestSearchRefusals: every refusal of the search declarations, each with
// a message naming the field (or type) and the reason.
func TestSearchRefusals(t *testing.T) {
	type beaconOnPlain struct {
		T string `seal:"pk,tenant"`
		E string `seal:"plain,beacon"`
	}
	type beaconOnKey struct {
		T string `seal:"pk,tenant"`
		K string `seal:"sk,beacon"`
	}
	type beaconOnBool struct {
		T string `seal:"pk,tenant"`
		B bool   `seal:"encrypt,beacon"`
	}
	type beaconOnList struct {
		T string   `seal:"pk,tenant"`
		L []string `seal:"encrypt,beacon"`
	}
	type uniqueOnKey struct {
		T string `seal:"pk,tenant"`
		K string `seal:"sk,unique"`
	}
	type uniqueOnPlain struct {
		T string `seal:"pk,tenant"`
		K string `seal:"sk"`
		U string `seal:"plain,unique"`
	}
	type uniqueOnMap struct {
		T string            `seal:"pk,tenant"`
		K string            `seal:"sk"`
		M map[string]string `seal:"unique"`
	}
	type lowerAlone struct {
		T string `seal:"pk,tenant"`
		E string `seal:"encrypt,lower"`
	}
	type lowerOnNumber struct {
		T string `seal:"pk,tenant"`
		N int    `seal:"encrypt,beacon,trim"`
	}
	type indexOnEncrypted struct {
		T string `seal:"pk,tenant"`
		E string `dynamodbav:"e,omitempty" seal:"encrypt,index=byE"`
	}
	type indexOnBool struct {
		T string `seal:"pk,tenant"`
		B bool   `seal:"index=byB"`
	}
	type indexEmptyString struct {
		T string `seal:"pk,tenant"`
		S string `dynamodbav:"s" seal:"index=byS"`
	}
	type indexNilPointer struct {
		T string `seal:"pk,tenant"`
		N *int   `dynamodbav:"n" seal:"index=byN"`
	}
	type indexEmptyBytes struct {
		T string `seal:"pk,tenant"`
		B []byte `dynamodbav:"b" seal:"plain,index=byB"`
	}
	type declEmptyString struct {
		T string   `seal:"pk,tenant"`
		S string   `dynamodbav:"s"`
		_ struct{} `seal:"index=byS,pk=s"`
	}
	type twoPartitionKeys struct {
		T string `seal:"pk,tenant"`
		A string `dynamodbav:"a,omitempty" seal:"index=ix1"`
		B string `dynamodbav:"b,omitempty" seal:"index=ix1"`
	}
	type sortOnly struct {
		T string `seal:"pk,tenant"`
		A string `dynamodbav:"a,omitempty" seal:"index=ix1:sk"`
	}
	type sameKeys struct {
		T string `seal:"pk,tenant"`
		A string `dynamodbav:"a,omitempty" seal:"index=ix1,index=ix1:sk"`
	}
	type badIndexName struct {
		T string `seal:"pk,tenant"`
		A string `dynamodbav:"a,omitempty" seal:"index=ab"`
	}
	type badIndexChars struct {
		T string `seal:"pk,tenant"`
		A string `dynamodbav:"a,omitempty" seal:"index=by#a"`
	}
	type beaconCollision struct {
		T  string `seal:"pk,tenant"`
		E  string `dynamodbav:"e" seal:"encrypt,beacon"`
		EB string `dynamodbav:"e#b"`
	}
	type uniqueNumberKeys struct {
		T string `seal:"pk,tenant"`
		K int    `seal:"sk"`
		E string `seal:"encrypt,unique"`
	}
	type uniqueTenantOnly struct {
		T string `seal:"pk,tenant"`
		E string `seal:"encrypt,unique"`
	}
	type compoundReserved struct {
		T string   `seal:"pk,tenant"`
		A string   `dynamodbav:"a"`
		B string   `dynamodbav:"b"`
		_ struct{} `seal:"compound=__x,parts=a+b"`
	}
	type compoundTaken struct {
		T string   `seal:"pk,tenant"`
		A string   `dynamodbav:"a"`
		B string   `dynamodbav:"b"`
		_ struct{} `seal:"compound=a,parts=a+b"`
	}
	type compoundSuffix struct {
		T string   `seal:"pk,tenant"`
		A string   `dynamodbav:"a"`
		B string   `dynamodbav:"b"`
		_ struct{} `seal:"compound=x#b,parts=a+b"`
	}
	type compoundOnePart struct {
		T string   `seal:"pk,tenant"`
		A string   `dynamodbav:"a"`
		_ struct{} `seal:"compound=ab,parts=a"`
	}
	type compoundUnknownPart struct {
		T string   `seal:"pk,tenant"`
		A string   `dynamodbav:"a"`
		_ struct{} `seal:"compound=ab,parts=a+zz"`
	}
	type compoundEncryptedPart struct {
		T string   `seal:"pk,tenant"`
		A string   `dynamodbav:"a"`
		E string   `dynamodbav:"e" seal:"encrypt"`
		_ struct{} `seal:"compound=ae,parts=a+e"`
	}
	type compoundBytesPart struct {
		T string   `seal:"pk,tenant"`
		A string   `dynamodbav:"a"`
		B []byte   `dynamodbav:"b"`
		_ struct{} `seal:"compound=ab,parts=a+b"`
	}
	type compoundRepeatedPart struct {
		T string   `seal:"pk,tenant"`
		A string   `dynamodbav:"a"`
		_ struct{} `seal:"compound=aa,parts=a+a"`
	}
	type compoundNoParts struct {
		T string   `seal:"pk,tenant"`
		_ struct{} `seal:"compound=ab"`
	}
	type compoundExtraOption struct {
		T string   `seal:"pk,tenant"`
		A string   `dynamodbav:"a"`
		B string   `dynamodbav:"b"`
		_ struct{} `seal:"compound=ab,parts=a+b,sk=a"`
	}
	type declUnknown struct {
		T string   `seal:"pk,tenant"`
		_ struct{} `seal:"encrypt"`
	}
	type declIndexNoPK struct {
		T string   `seal:"pk,tenant"`
		A string   `dynamodbav:"a,omitempty"`
		_ struct{} `seal:"index=ix1,sk=a"`
	}
	type declIndexUnknownOption struct {
		T string   `seal:"pk,tenant"`
		A string   `dynamodbav:"a,omitempty"`
		_ struct{} `seal:"index=ix1,pk=a,projection=ALL"`
	}
	type declIndexUnknownKey struct {
		T string   `seal:"pk,tenant"`
		_ struct{} `seal:"index=ix1,pk=nope"`
	}
	type declIndexEncrypted struct {
		T string   `seal:"pk,tenant"`
		E string   `dynamodbav:"e" seal:"encrypt"`
		_ struct{} `seal:"index=ix1,pk=e"`
	}
	type declIndexRepeated struct {
		T string   `seal:"pk,tenant"`
		A string   `dynamodbav:"a,omitempty"`
		_ struct{} `seal:"index=ix1,pk=a,pk=a"`
	}
	type declCompoundLater struct {
		T string   `seal:"pk,tenant"`
		A string   `dynamodbav:"a"`
		B string   `dynamodbav:"b"`
		_ struct{} `seal:"index=ix1,pk=ab"`
		_ struct{} `seal:"compound=ab,parts=a+b"`
	}
	cases := []struct {
		typ   reflect.Type
		field string // "" for a type-level error
		want  string
	}{
		{reflect.TypeFor[beaconOnPlain](), "E", "beacon on a plain attribute"},
		{reflect.TypeFor[beaconOnKey](), "K", "beacon on a key, tenant or version attribute"},
		{reflect.TypeFor[beaconOnBool](), "B", "beacon on type bool"},
		{reflect.TypeFor[beaconOnList](), "L", "beacon on type []string"},
		{reflect.TypeFor[uniqueOnKey](), "K", "unique on a key"},
		{reflect.TypeFor[uniqueOnMap](), "M", "unique on type map[string]string"},
		{reflect.TypeFor[uniqueOnPlain](), "U", "unique on a plain attribute"},
		{reflect.TypeFor[lowerAlone](), "E", "lower and trim apply to a beacon or a unique value"},
		{reflect.TypeFor[lowerOnNumber](), "N", "lower and trim apply to strings only"},
		{reflect.TypeFor[indexOnEncrypted](), "E", `index "byE" on an encrypted attribute: add beacon`},
		{reflect.TypeFor[indexOnBool](), "B", `index "byB" key of type bool`},
		{reflect.TypeFor[indexEmptyString](), "S", `index "byS" key s (type string) can be empty`},
		{reflect.TypeFor[indexNilPointer](), "N", `index "byN" key n (type *int) can be empty`},
		{reflect.TypeFor[indexEmptyBytes](), "B", `index "byB" key b (type []uint8) can be empty`},
		{reflect.TypeFor[declEmptyString](), "_", `index "byS" key s (type string) can be empty`},
		{reflect.TypeFor[twoPartitionKeys](), "", `index "ix1" has two partition keys (a and b)`},
		{reflect.TypeFor[sortOnly](), "", `index "ix1" has a sort key but no partition key`},
		{reflect.TypeFor[sameKeys](), "", `index "ix1" uses a as both partition and sort key`},
		{reflect.TypeFor[badIndexName](), "", `index name "ab"`},
		{reflect.TypeFor[badIndexChars](), "", `index name "by#a"`},
		{reflect.TypeFor[beaconCollision](), "", `attribute "e#b" collides with the beacon of "e"`},
		{reflect.TypeFor[uniqueNumberKeys](), "", "unique values need string primary keys"},
		{reflect.TypeFor[uniqueTenantOnly](), "", "unique values need a sort key when the partition key is the tenant"},
		{reflect.TypeFor[compoundReserved](), "_", `compound name "__x" is reserved`},
		{reflect.TypeFor[compoundTaken](), "_", `compound name "a" is reserved or already an attribute`},
		{reflect.TypeFor[compoundSuffix](), "_", `compound name "x#b" is reserved`},
		{reflect.TypeFor[compoundOnePart](), "_", "at least two parts"},
		{reflect.TypeFor[compoundUnknownPart](), "_", `part "zz" is not an attribute`},
		{reflect.TypeFor[compoundEncryptedPart](), "_", `part "e" is encrypted: give it a beacon`},
		{reflect.TypeFor[compoundBytesPart](), "_", `part "b" must be a string or a number`},
		{reflect.TypeFor[compoundRepeatedPart](), "_", `part "a" repeated`},
		{reflect.TypeFor[compoundNoParts](), "_", "want compound=NAME,parts=ATTR+ATTR"},
		{reflect.TypeFor[compoundExtraOption](), "_", "want compound=NAME,parts=ATTR+ATTR"},
		{reflect.TypeFor[declUnknown](), "_", "a blank field's seal tag declares compound=NAME,parts=... or index=NAME,pk=..."},
		{reflect.TypeFor[declIndexNoPK](), "_", "an index declaration needs pk=ATTR"},
		{reflect.TypeFor[declIndexUnknownOption](), "_", "unknown option projection"},
		{reflect.TypeFor[declIndexUnknownKey](), "_", `index key "nope" is not an attribute`},
		{reflect.TypeFor[declIndexEncrypted](), "_", `index key "e" is encrypted: give it a beacon`},
		{reflect.TypeFor[declIndexRepeated](), "_", "option pk repeated"},
		{reflect.TypeFor[declCompoundLater](), "_", "declare compounds before the indexes that use them"},
	}
	for _, c := range cases {
		t.Run(c.typ.Name(), func(t *testing.T) {
			_, err := schema.FromReflect(c.typ)
			if !errors.Is(err, schema.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			var se *schema.Error
			if !errors.As(err, &se) {
				t.Fatalf("err %v is not a *schema.Error", err)
			}
			found := false
			for _, e := range unwrapAll(err) {
				if errors.As(e, &se) && se.Field == c.field && strings.Contains(se.Reason, c.want) {
					found = true
				}
			}
			if !found {
				t.Fatalf("err = %v\nwant field %q and a reason containing %q", err, c.field, c.want)
			}
			if !strings.Contains(err.Error(), c.typ.Name()) {
				t.Fatalf("message does not name the type: %v", err)
			}
		})
	}
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// TestSearchAccepted: what the rules allow, at their edges.
func TestSearchAccepted(t *testing.T) {
	type edges struct {
		T  string   `dynamodbav:"t" seal:"pk,tenant"`
		K  string   `dynamodbav:"k" seal:"sk,index=byK"`                   // a table key needs no omitempty
		P  *string  `dynamodbav:"p,omitempty" seal:"encrypt,beacon,lower"` // pointer to string
		N  int      `dynamodbav:"n" seal:"index=byK:sk"`                   // a number is never empty
		B  []byte   `dynamodbav:"b,omitempty" seal:"encrypt,beacon=64"`
		U  string   `dynamodbav:"u" seal:"unique,lower,trim"` // signed unique
		X  string   `dynamodbav:"x,omitempty" seal:"plain,index=byX"`
		_  struct{} `seal:"compound=tp,parts=t+p"`
		_  struct{} `seal:"index=byTP,pk=tp,sk=p#b"`
		NS []string `dynamodbav:"ns"`
	}
	s, err := schema.For[edges]()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Beacons) != 2 || len(s.Unique) != 1 || len(s.Indexes) != 3 || len(s.Compounds) != 1 {
		t.Fatalf("%+v", s)
	}
	in := s.CreateTableInput("x")
	for _, d := range in.AttributeDefinitions {
		if d.AttributeType == "" {
			t.Fatalf("attribute %s defined without a type", aws.ToString(d.AttributeName))
		}
	}
}
