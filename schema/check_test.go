package schema_test

import (
	"errors"
	"go/token"
	"go/types"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	avtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/schema"
)

// The types below are declared twice: here for reflection and in
// checkSource for go/types, so that both paths are held to the same answer.

type DupTagged struct {
	T string `dynamodbav:"t" seal:"pk,tenant"`
	A string `dynamodbav:"x"`
	B string `dynamodbav:"x"`
}

type DupA struct{ Dup string }
type DupB struct{ Dup string }
type DupSameDepth struct {
	T string `dynamodbav:"t" seal:"pk,tenant"`
	DupA
	DupB
}

type NameA struct{ Name string }
type NameB struct {
	Nm string `dynamodbav:"Name"`
}
type TaggedWins struct {
	T string `dynamodbav:"t" seal:"pk,tenant"`
	NameA
	NameB
}

type NameC struct {
	Name string `dynamodbav:"Name"`
}
type TaggedWinsAmbiguous struct {
	T string `dynamodbav:"t" seal:"pk,tenant"`
	NameA
	NameC
}

type Named struct {
	Name string `dynamodbav:"name"`
}
type ShallowerOtherName struct {
	T string `dynamodbav:"t" seal:"pk,tenant"`
	Named
	Title string `dynamodbav:"name"`
}
type Override struct {
	T string `dynamodbav:"t" seal:"pk,tenant"`
	Named
	Name string `dynamodbav:"name"`
}

type Secret struct {
	SSN string `seal:"encrypt"`
}
type HiddenSeal struct {
	T string `dynamodbav:"t" seal:"pk,tenant"`
	Secret
	SSN string
}

type Leaf struct{ X string }
type ViaA struct{ Leaf }
type ViaB struct{ Leaf }
type EmbeddedTwice struct {
	T string `dynamodbav:"t" seal:"pk,tenant"`
	ViaA
	ViaB
}

type WithChan struct {
	Ch chan int
	OK string
}
type NestedDup struct {
	A string `dynamodbav:"a"`
	B string `dynamodbav:"a"`
}
type Unstorable struct {
	T      string `dynamodbav:"t" seal:"pk,tenant"`
	Ch     chan int
	Fn     func() `dynamodbav:"fn"`
	C      complex128
	U      uintptr
	P      unsafe.Pointer
	L      []chan int
	M      map[string]func()
	PC     *complex64
	In     WithChan
	Dup    []NestedDup `seal:"encrypt"`
	Hidden chan int    `dynamodbav:"-"`
}

// Hook is a func type that stores itself: attributevalue calls its
// marshaler, so it is accepted.
type Hook func()

func (Hook) MarshalDynamoDBAttributeValue() (avtypes.AttributeValue, error) {
	return &avtypes.AttributeValueMemberS{Value: "hook"}, nil
}

type Trusted struct {
	T   string `dynamodbav:"t" seal:"pk,tenant"`
	H   Hook
	Any any
}

type SealInDynamo struct {
	T    string `dynamodbav:"t" seal:"pk,tenant"`
	Name string `dynamodbav:"name,encrypt"`
}

type OmitInSeal struct {
	T    string `dynamodbav:"t" seal:"pk,tenant"`
	Name string `dynamodbav:"name" seal:"encrypt,omitempty"`
}

const checkSource = `package p

import "unsafe"

type DupTagged struct {
	T string ` + "`dynamodbav:\"t\" seal:\"pk,tenant\"`" + `
	A string ` + "`dynamodbav:\"x\"`" + `
	B string ` + "`dynamodbav:\"x\"`" + `
}
type DupA struct{ Dup string }
type DupB struct{ Dup string }
type DupSameDepth struct {
	T string ` + "`dynamodbav:\"t\" seal:\"pk,tenant\"`" + `
	DupA
	DupB
}
type NameA struct{ Name string }
type NameB struct {
	Nm string ` + "`dynamodbav:\"Name\"`" + `
}
type TaggedWins struct {
	T string ` + "`dynamodbav:\"t\" seal:\"pk,tenant\"`" + `
	NameA
	NameB
}
type NameC struct {
	Name string ` + "`dynamodbav:\"Name\"`" + `
}
type TaggedWinsAmbiguous struct {
	T string ` + "`dynamodbav:\"t\" seal:\"pk,tenant\"`" + `
	NameA
	NameC
}
type Named struct {
	Name string ` + "`dynamodbav:\"name\"`" + `
}
type ShallowerOtherName struct {
	T string ` + "`dynamodbav:\"t\" seal:\"pk,tenant\"`" + `
	Named
	Title string ` + "`dynamodbav:\"name\"`" + `
}
type Override struct {
	T string ` + "`dynamodbav:\"t\" seal:\"pk,tenant\"`" + `
	Named
	Name string ` + "`dynamodbav:\"name\"`" + `
}
type Secret struct {
	SSN string ` + "`seal:\"encrypt\"`" + `
}
type HiddenSeal struct {
	T string ` + "`dynamodbav:\"t\" seal:\"pk,tenant\"`" + `
	Secret
	SSN string
}
type Leaf struct{ X string }
type ViaA struct{ Leaf }
type ViaB struct{ Leaf }
type EmbeddedTwice struct {
	T string ` + "`dynamodbav:\"t\" seal:\"pk,tenant\"`" + `
	ViaA
	ViaB
}
type WithChan struct {
	Ch chan int
	OK string
}
type NestedDup struct {
	A string ` + "`dynamodbav:\"a\"`" + `
	B string ` + "`dynamodbav:\"a\"`" + `
}
type Unstorable struct {
	T      string ` + "`dynamodbav:\"t\" seal:\"pk,tenant\"`" + `
	Ch     chan int
	Fn     func() ` + "`dynamodbav:\"fn\"`" + `
	C      complex128
	U      uintptr
	P      unsafe.Pointer
	L      []chan int
	M      map[string]func()
	PC     *complex64
	In     WithChan
	Dup    []NestedDup ` + "`seal:\"encrypt\"`" + `
	Hidden chan int    ` + "`dynamodbav:\"-\"`" + `
}
type SealInDynamo struct {
	T    string ` + "`dynamodbav:\"t\" seal:\"pk,tenant\"`" + `
	Name string ` + "`dynamodbav:\"name,encrypt\"`" + `
}
type OmitInSeal struct {
	T    string ` + "`dynamodbav:\"t\" seal:\"pk,tenant\"`" + `
	Name string ` + "`dynamodbav:\"name\" seal:\"encrypt,omitempty\"`" + `
}
`

var posPrefix = regexp.MustCompile(`(?m)^p\.go:\d+:\d+: `)

// refusal builds typ on both paths, checks they agree and returns the
// error text (without positions), "" when accepted.
func refusal(t *testing.T, pkg *types.Package, fset *token.FileSet, typ reflect.Type) string {
	t.Helper()
	rs, rerr := schema.FromReflect(typ)
	gs, gerr := schema.FromGoType(pkg.Scope().Lookup(typ.Name()).Type().(*types.Named), fset)
	if (rerr == nil) != (gerr == nil) {
		t.Fatalf("%s: reflection says %v, go/types says %v", typ.Name(), rerr, gerr)
	}
	if rerr == nil {
		if a, b := describe(gs), describe(rs); a != b {
			t.Fatalf("%s: go/types and reflection disagree:\n%s\nvs\n%s", typ.Name(), a, b)
		}
		return ""
	}
	if !errors.Is(rerr, schema.ErrInvalid) || !errors.Is(gerr, schema.ErrInvalid) {
		t.Fatalf("%s: errors do not wrap ErrInvalid: %v / %v", typ.Name(), rerr, gerr)
	}
	var se *schema.Error
	if !errors.As(gerr, &se) || se.Pos == "" {
		t.Fatalf("%s: go/types error has no position: %v", typ.Name(), gerr)
	}
	r, g := rerr.Error(), posPrefix.ReplaceAllString(gerr.Error(), "")
	if r != g {
		t.Fatalf("%s: reflection and go/types disagree:\n%s\nvs\n%s", typ.Name(), r, g)
	}
	return r
}

// fill sets every reachable string field of the struct at v (allocating
// embedded pointers) to a value unique to its index path.
func fill(v reflect.Value, path string) {
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		p := path + "." + v.Type().Field(i).Name
		switch {
		case f.Kind() == reflect.String && f.CanSet():
			f.SetString("value" + p)
		case f.Kind() == reflect.Struct:
			fill(f, p)
		case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct && f.CanSet():
			f.Set(reflect.New(f.Type().Elem()))
			fill(f.Elem(), p)
		}
	}
}

// lostFields returns the string fields whose value MarshalMap does not
// store anywhere, leaving out those Go hides as well (v.Name reaches
// another, shallower field of the same Go name).
func lostFields(t *testing.T, typ reflect.Type) []string {
	t.Helper()
	v := reflect.New(typ).Elem()
	fill(v, "")
	m, err := attributevalue.MarshalMap(v.Interface())
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, av := range m {
		if s, ok := av.(*avtypes.AttributeValueMemberS); ok {
			stored[s.Value] = true
		}
	}
	var lost []string
	var walk func(st reflect.Type, index []int)
	walk = func(st reflect.Type, index []int) {
		for i := 0; i < st.NumField(); i++ {
			sf := st.Field(i)
			idx := append(append([]int(nil), index...), i)
			if ft := sf.Type; sf.Anonymous && ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct {
				walk(ft.Elem(), idx)
				continue
			}
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				walk(sf.Type, idx)
				continue
			}
			if sf.Type.Kind() != reflect.String || !sf.IsExported() {
				continue
			}
			if sel, ok := typ.FieldByName(sf.Name); ok && !reflect.DeepEqual(sel.Index, idx) {
				continue // v.Name reaches another field: hidden in Go too
			}
			if val := v.FieldByIndex(idx).String(); !stored[val] {
				lost = append(lost, sf.Name)
			}
		}
	}
	walk(typ, nil)
	return lost
}

// TestNameCollisions checks the rule against attributevalue itself: a
// struct is refused exactly when MarshalMap would silently lose a field that
// Go code reaches by its name, on both the reflection and go/types paths.
func TestNameCollisions(t *testing.T) {
	pkg, fset := loadSource(t, checkSource)
	cases := []struct {
		typ  reflect.Type
		want string // substring of the refusal; "" when accepted
	}{
		{reflect.TypeFor[DupTagged](), `schema: DupTagged.A: attribute "x" is claimed by fields A, B at the same embedding depth, so attributevalue stores none of them`},
		{reflect.TypeFor[DupSameDepth](), `schema: DupSameDepth.DupA.Dup: attribute "Dup" is claimed by fields DupA.Dup, DupB.Dup at the same embedding depth`},
		{reflect.TypeFor[TaggedWins](), `schema: TaggedWins.NameA.Name: would be silently lost: attribute "Name" is also claimed by NameB.Nm, which attributevalue stores instead (it is tagged and this field is not)`},
		{reflect.TypeFor[TaggedWinsAmbiguous](), `schema: TaggedWinsAmbiguous.NameA.Name: would be silently lost: attribute "Name" is also claimed by NameC.Name`},
		{reflect.TypeFor[ShallowerOtherName](), `schema: ShallowerOtherName.Named.Name: would be silently lost: attribute "name" is also claimed by Title, which attributevalue stores instead (it is shallower)`},
		{reflect.TypeFor[EmbeddedTwice](), `attribute "X" is reached through more than one embedded struct at the same depth`},
		{reflect.TypeFor[Override](), ""},
	}
	for _, c := range cases {
		t.Run(c.typ.Name(), func(t *testing.T) {
			got := refusal(t, pkg, fset, c.typ)
			if c.want == "" && got != "" {
				t.Fatalf("refused: %s", got)
			}
			if !strings.Contains(got, c.want) {
				t.Fatalf("error %q\nwant it to contain %q", got, c.want)
			}
			lost := lostFields(t, c.typ)
			if (len(lost) > 0) != (got != "") {
				t.Fatalf("MarshalMap loses %v, but the schema refused=%v", lost, got != "")
			}
		})
	}
	// The accepted override stores the outer field, as Go's v.Name reads it.
	m, err := attributevalue.MarshalMap(Override{T: "t", Named: Named{Name: "inner"}, Name: "outer"})
	if err != nil || m["name"].(*avtypes.AttributeValueMemberS).Value != "outer" {
		t.Fatalf("override: %v %v", m, err)
	}
}

func TestHiddenSealTagRefused(t *testing.T) {
	pkg, fset := loadSource(t, checkSource)
	got := refusal(t, pkg, fset, reflect.TypeFor[HiddenSeal]())
	want := `schema: HiddenSeal.Secret.SSN: seal tag has no effect: the field is hidden by SSN, which attributevalue stores as attribute "SSN" instead`
	if !strings.Contains(got, want) {
		t.Fatalf("error %q\nwant %q", got, want)
	}
}

func TestUnstorableTypes(t *testing.T) {
	pkg, fset := loadSource(t, checkSource)
	got := refusal(t, pkg, fset, reflect.TypeFor[Unstorable]())
	for _, want := range []string{
		"schema: Unstorable.Ch: type chan int is not stored by attributevalue (it would be silently dropped)",
		"schema: Unstorable.Fn: type func() is not stored",
		"schema: Unstorable.C: type complex128 is not stored",
		"schema: Unstorable.U: type uintptr is not stored",
		"schema: Unstorable.P: type unsafe.Pointer is not stored",
		"schema: Unstorable.L: type []chan int holds chan int, which is not stored",
		"schema: Unstorable.M: type map[string]func() holds func(), which is not stored",
		"schema: Unstorable.PC: type *complex64 holds complex64, which is not stored",
		"schema: WithChan.Ch: type chan int is not stored",
		`schema: NestedDup.A: attribute "a" is claimed by fields A, B at the same embedding depth`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("error lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Hidden") || strings.Contains(got, "OK") {
		t.Errorf("a skipped or storable field was reported:\n%s", got)
	}
	// Each refused field is one attributevalue really drops.
	ch := make(chan int)
	m, err := attributevalue.MarshalMap(Unstorable{T: "t", Ch: ch, Fn: func() {}, C: 1i, U: 1, L: []chan int{ch}, In: WithChan{Ch: ch}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Ch", "fn", "C", "U"} {
		if _, ok := m[name]; ok {
			t.Errorf("attributevalue stored %s; the refusal reason would be wrong", name)
		}
	}
	if l := m["L"].(*avtypes.AttributeValueMemberL); len(l.Value) != 0 {
		t.Errorf("attributevalue stored the chan element: %v", l.Value)
	}
	if in := m["In"].(*avtypes.AttributeValueMemberM); in.Value["Ch"] != nil {
		t.Errorf("attributevalue stored the nested chan")
	}
}

func TestMarshalerAndInterfaceFieldsAccepted(t *testing.T) {
	if _, err := schema.For[Trusted](); err != nil {
		t.Fatal(err)
	}
}

func TestTagOptionsInTheWrongTag(t *testing.T) {
	pkg, fset := loadSource(t, checkSource)
	got := refusal(t, pkg, fset, reflect.TypeFor[SealInDynamo]())
	if want := `SealInDynamo.Name: option "encrypt" in the dynamodbav tag "name,encrypt" belongs in the seal tag (seal:"encrypt"): attributevalue ignores it, so the field would not be encrypted`; !strings.Contains(got, want) {
		t.Errorf("error %q\nwant %q", got, want)
	}
	got = refusal(t, pkg, fset, reflect.TypeFor[OmitInSeal]())
	if want := `OmitInSeal.Name: option "omitempty" in seal tag "encrypt,omitempty" belongs in the dynamodbav tag (dynamodbav:"name,omitempty")`; !strings.Contains(got, want) {
		t.Errorf("error %q\nwant %q", got, want)
	}
}

// randomStruct builds a random struct type: string fields named from a
// small pool, tagged or not, and embedded structs (by value or pointer) up
// to depth levels down, so names collide at every depth and in every way.
func randomStruct(r *rand.Rand, depth int) reflect.Type {
	names := []string{"A", "B", "C"}
	tags := []string{"", "", `dynamodbav:"a"`, `dynamodbav:"b"`, `dynamodbav:"A"`}
	var fields []reflect.StructField
	used := map[string]bool{}
	for i, n := 0, 1+r.IntN(3); i < n; i++ {
		if depth > 0 && r.IntN(3) == 0 {
			name := "E" + names[r.IntN(len(names))]
			if used[name] {
				continue
			}
			used[name] = true
			ft := randomStruct(r, depth-1)
			if r.IntN(2) == 0 {
				ft = reflect.PointerTo(ft)
			}
			fields = append(fields, reflect.StructField{Name: name, Type: ft, Anonymous: true})
			continue
		}
		name := names[r.IntN(len(names))]
		if used[name] {
			continue
		}
		used[name] = true
		fields = append(fields, reflect.StructField{Name: name, Type: reflect.TypeFor[string](), Tag: reflect.StructTag(tags[r.IntN(len(tags))])})
	}
	return reflect.StructOf(fields)
}

// TestNameCollisionsProperty: over random struct shapes, the schema refuses
// a struct exactly when attributevalue.MarshalMap would silently lose a
// field (one Go does not hide as well), and every refusal is a collision.
func TestNameCollisionsProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	refused := 0
	for i := 0; i < 3000; i++ {
		body := randomStruct(r, 3)
		fields := []reflect.StructField{{Name: "T", Type: reflect.TypeFor[string](), Tag: `dynamodbav:"t" seal:"pk,tenant"`}}
		for j := 0; j < body.NumField(); j++ {
			fields = append(fields, body.Field(j))
		}
		typ := reflect.StructOf(fields)
		_, err := schema.FromReflect(typ)
		lost := lostFields(t, typ)
		if (err != nil) != (len(lost) > 0) {
			t.Fatalf("%v:\nschema error: %v\nMarshalMap loses: %v", typ, err, lost)
		}
		if err != nil {
			refused++
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.Contains(line, "claimed by") && !strings.Contains(line, "reached through more than one") && !strings.Contains(line, "embedded again") {
					t.Fatalf("%v: refusal is not a collision: %s", typ, line)
				}
			}
		}
	}
	if refused < 100 || refused > 2900 {
		t.Fatalf("%d of 3000 random structs refused: the generator does not exercise both outcomes", refused)
	}
}
