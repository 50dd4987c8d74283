package codegen_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"

	"github.com/dynaseal/dynaseal/codegen"
)

// generateWith generates testdata/<name> with its input.go replaced by
// edit(input.go).
func generateWith(t *testing.T, name string, edit func(string) string) []byte {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(dir, "input.go"))
	if err != nil {
		t.Fatal(err)
	}
	args, err := os.ReadFile(filepath.Join(dir, "args"))
	if err != nil {
		t.Fatal(err)
	}
	opts, _, err := codegen.ParseArgs(strings.Fields(string(args)), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &packages.Config{
		Mode:    packages.NeedName | packages.NeedFiles | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedSyntax,
		Dir:     dir,
		Overlay: map[string][]byte{filepath.Join(dir, "input.go"): []byte(edit(string(src)))},
	}
	pkgs, err := packages.Load(cfg, ".")
	if err != nil || len(pkgs) != 1 || len(pkgs[0].Errors) > 0 {
		t.Fatalf("load: %v %v", err, pkgs)
	}
	out, err := codegen.Generate(codegen.FromPackages(pkgs[0]), opts)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStalenessIgnoresOtherTagKeys: a nested struct gaining a json tag, or
// any struct gaining a tag key no generated code reads (validate), generates
// the same file, so neither the generated Check nor
// TestGeneratedFilesAreFresh calls it stale; a dynamodbav change in a
// nested struct does change the file. (A json tag on the item type itself
// changes the generated MarshalJSON, which prints json's keys, but not
// Check: genrt's TestCheckTagsIgnoresOtherKeys.)
func TestStalenessIgnoresOtherTagKeys(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "embedded", "expected.golden"))
	if err != nil {
		t.Fatal(err)
	}
	withJSON := generateWith(t, "embedded", func(s string) string {
		s = strings.Replace(s, "`dynamodbav:\"street\"`", "`dynamodbav:\"street\" json:\"street\"`", 1)                                             // nested
		s = strings.Replace(s, "`dynamodbav:\"zip,omitempty\"`", "`json:\"zip,omitempty\" dynamodbav:\"zip,omitempty\"`", 1)                        // nested
		s = strings.Replace(s, "`dynamodbav:\"tenant\" seal:\"pk,tenant\"`", "`validate:\"required\" dynamodbav:\"tenant\" seal:\"pk,tenant\"`", 1) // embedded
		return strings.Replace(s, "`dynamodbav:\"order_id\" seal:\"sk\"`", "`dynamodbav:\"order_id\" seal:\"sk\" validate:\"required\"`", 1)
	})
	if !bytes.Equal(withJSON, want) {
		t.Fatalf("json tags on a nested struct or validate tags changed the generated file:\n%s", lineDiff(string(want), string(withJSON)))
	}
	changed := generateWith(t, "embedded", func(s string) string {
		return strings.Replace(s, "`dynamodbav:\"street\"`", "`dynamodbav:\"street,omitempty\"`", 1)
	})
	if bytes.Equal(changed, want) {
		t.Fatal("a dynamodbav change in a nested struct did not change the generated file")
	}
}
