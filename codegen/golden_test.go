package codegen_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"

	"github.com/dynaseal/dynaseal/codegen"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestGolden")

// TestGolden runs the generator on every testdata/<case>/input.go with the
// command line in testdata/<case>/args and compares the output with
// testdata/<case>/expected.golden, or the error text with errors.golden.
// Generated output is also type-checked with the package it belongs to.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/args")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, argsFile := range dirs {
		dir := filepath.Dir(argsFile)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(argsFile)
			if err != nil {
				t.Fatal(err)
			}
			opts, out, err := codegen.ParseArgs(strings.Fields(string(raw)), os.Stderr)
			if err != nil {
				t.Fatal(err)
			}
			pkg, err := codegen.Load(dir, out, nil)
			if err != nil {
				t.Fatal(err)
			}
			src, genErr := codegen.Generate(pkg, opts)
			if genErr != nil {
				abs, _ := filepath.Abs(dir)
				got := strings.ReplaceAll(genErr.Error(), abs+string(filepath.Separator), "")
				compareGolden(t, filepath.Join(dir, "errors.golden"), []byte(got+"\n"))
				return
			}
			compareGolden(t, filepath.Join(dir, "expected.golden"), src)
			typeCheck(t, dir, out, src)
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./codegen -run TestGolden -update)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the generator's output (run with -update if intended):\n%s", path, lineDiff(string(want), string(got)))
	}
}

// typeCheck loads the case's package with the generated file added.
func typeCheck(t *testing.T, dir, out string, src []byte) {
	t.Helper()
	abs, _ := filepath.Abs(dir)
	cfg := &packages.Config{
		Mode:    packages.NeedTypes | packages.NeedName | packages.NeedFiles,
		Dir:     abs,
		Overlay: map[string][]byte{filepath.Join(abs, out): src},
	}
	pkgs, err := packages.Load(cfg, ".")
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	for _, e := range pkgs[0].Errors {
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		t.Errorf("generated code does not type-check: %v", errors.Join(errs...))
	}
}

// lineDiff is a small line-oriented diff: the first differing lines with
// context, enough to see what changed.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl == gl {
			continue
		}
		b.WriteString("line " + itoa(i+1) + ":\n- " + wl + "\n+ " + gl + "\n")
		if shown++; shown == 20 {
			b.WriteString("...\n")
			break
		}
	}
	return b.String()
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var d []byte
	for ; i > 0; i /= 10 {
		d = append([]byte{byte('0' + i%10)}, d...)
	}
	return string(d)
}
