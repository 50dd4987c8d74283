package schema_test

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"reflect"
	"strings"
	"testing"

	"github.com/dynaseal/dynaseal/schema"
)

// agreeSource declares, as Go source, the same types this test file uses
// through reflection; both paths must produce the same schema.
const agreeSource = `package p

import "time"

type Inner struct {
	Street string ` + "`dynamodbav:\"street\" seal:\"encrypt\"`" + `
	City   string
}
type base struct {
	Created int64 ` + "`dynamodbav:\"created\"`" + `
}
type Shadow struct {
	City string ` + "`dynamodbav:\"city_outer\"`" + `
}
type Nested struct {
	Tenant string ` + "`seal:\"pk,tenant\"`" + `
	Inner
	*base
	Shadow
	Addr    Inner    ` + "`dynamodbav:\"addr\" seal:\"encrypt\"`" + `
	Tags    []string ` + "`dynamodbav:\"tags,stringset\"`" + `
	Skipped string   ` + "`dynamodbav:\"-\"`" + `
	N       *int     ` + "`dynamodbav:\"n,omitempty\"`" + `
}
type Patient struct {
	TenantID string    ` + "`dynamodbav:\"tenant\"  seal:\"pk,tenant\"`" + `
	ID       string    ` + "`dynamodbav:\"id\"      seal:\"sk\"`" + `
	Name     string    ` + "`dynamodbav:\"name\"    seal:\"encrypt\"`" + `
	SSN      string    ` + "`dynamodbav:\"ssn\"     seal:\"encrypt\"`" + `
	Plan     string    ` + "`dynamodbav:\"plan\"`" + `
	Seen     time.Time ` + "`dynamodbav:\"seen\"    seal:\"plain\"`" + `
	Version  int64     ` + "`dynamodbav:\"v\"       seal:\"version\"`" + `
	internal string
}
type Bad struct {
	A string ` + "`seal:\"pk,tenant\"`" + `
	B string ` + "`seal:\"sk,encrypt\"`" + `
}
`

// loadSource type-checks src as the file p.go of package p.
func loadSource(t *testing.T, src string) (*types.Package, *token.FileSet) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	pkg, err := conf.Check("p", fset, []*ast.File{f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pkg, fset
}

func describe(s *schema.Schema) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pk=%s sk=%s tenant=%s version=%s fp=%s\n", s.PartitionKey, s.SortKey, s.Tenant, s.Version, s.Fingerprint())
	for _, a := range s.Attributes {
		fmt.Fprintf(&b, "%s %s %v %+v %+v pk=%v sk=%v\n", a.Name, a.Field, a.Action, a.Path, a.Dynamo, a.PartitionKey, a.SortKey)
	}
	return b.String()
}

func TestGoTypesAgreesWithReflection(t *testing.T) {
	pkg, fset := loadSource(t, agreeSource)
	for _, c := range []struct {
		name string
		typ  reflect.Type
	}{{"Nested", reflect.TypeFor[Nested]()}, {"Patient", reflect.TypeFor[Patient]()}} {
		named := pkg.Scope().Lookup(c.name).Type().(*types.Named)
		fromSource, err := schema.FromGoType(named, fset)
		if err != nil {
			t.Fatal(err)
		}
		fromReflect, err := schema.FromReflect(c.typ)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := describe(fromSource), describe(fromReflect); a != b {
			t.Errorf("%s: go/types and reflection disagree:\n%s\nvs\n%s", c.name, a, b)
		}
	}
}

func TestGoTypesErrorHasPosition(t *testing.T) {
	pkg, fset := loadSource(t, agreeSource)
	_, err := schema.FromGoType(pkg.Scope().Lookup("Bad").Type().(*types.Named), fset)
	if err == nil || !strings.HasPrefix(err.Error(), "p.go:") || !strings.Contains(err.Error(), "Bad.B: sort key field cannot be encrypt") {
		t.Fatalf("err = %v; want p.go:line:col: ... Bad.B: sort key field cannot be encrypt", err)
	}
}
