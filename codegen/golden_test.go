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
// All cases are loaded with one go/packages call, and type-checked with
// another.
func TestGolden(t *testing.T) {
	argFiles, err := filepath.Glob("testdata/*/args")
	if err != nil || len(argFiles) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, f := range argFiles {
		patterns = append(patterns, "./"+filepath.Dir(f))
	}
	mode := packages.NeedName | packages.NeedFiles | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedSyntax
	pkgs, err := packages.Load(&packages.Config{Mode: mode, Dir: wd}, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	byDir := map[string]*packages.Package{}
	for _, p := range pkgs {
		if len(p.GoFiles) > 0 {
			byDir[filepath.Dir(p.GoFiles[0])] = p
		}
	}
	overlay := map[string][]byte{}
	var generated []string
	for _, argsFile := range argFiles {
		dir := filepath.Dir(argsFile)
		abs := filepath.Join(wd, dir)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(argsFile)
			if err != nil {
				t.Fatal(err)
			}
			opts, out, err := codegen.ParseArgs(strings.Fields(string(raw)), os.Stderr)
			if err != nil {
				t.Fatal(err)
			}
			p := byDir[abs]
			if p == nil || p.Types == nil {
				t.Fatalf("package in %s not loaded", dir)
			}
			src, genErr := codegen.Generate(codegen.FromPackages(p), opts)
			if genErr != nil {
				got := strings.ReplaceAll(genErr.Error(), abs+string(filepath.Separator), "")
				compareGolden(t, filepath.Join(dir, "errors.golden"), []byte(got+"\n"))
				return
			}
			compareGolden(t, filepath.Join(dir, "expected.golden"), src)
			overlay[filepath.Join(abs, out)] = src
			generated = append(generated, "./"+dir)
		})
	}
	if len(generated) == 0 {
		return
	}
	// Type-check every generated file with its package.
	checked, err := packages.Load(&packages.Config{Mode: packages.NeedTypes | packages.NeedName | packages.NeedFiles, Dir: wd, Overlay: overlay}, generated...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checked {
		var errs []error
		for _, e := range p.Errors {
			errs = append(errs, e)
		}
		if len(errs) > 0 {
			t.Errorf("%s: generated code does not type-check: %v", p.PkgPath, errors.Join(errs...))
		}
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
