package codegen

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"

	"golang.org/x/tools/go/packages"
)

// Load loads the package in dir for generation. The file output (a path in
// dir, usually the previously generated file) is hidden from the type
// checker with an overlay, so a stale generated file never stops its own
// regeneration. Type errors elsewhere are tolerated as long as the package
// type-checks far enough to describe the requested types; Generate refuses
// fields whose types are invalid.
func Load(dir, output string, env []string) (*Package, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("dynaseal-gen: %w", err)
	}
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedSyntax,
		Dir:  abs,
		Env:  env,
	}
	if output != "" {
		out := output
		if !filepath.IsAbs(out) {
			out = filepath.Join(abs, out)
		}
		if src, err := os.ReadFile(out); err == nil {
			f, perr := parser.ParseFile(token.NewFileSet(), out, src, parser.PackageClauseOnly)
			if perr == nil {
				cfg.Overlay = map[string][]byte{out: []byte("package " + f.Name.Name + "\n")}
			}
		}
	}
	pkgs, err := packages.Load(cfg, ".")
	if err != nil {
		return nil, fmt.Errorf("dynaseal-gen: loading %s: %w", dir, err)
	}
	if len(pkgs) != 1 {
		return nil, fmt.Errorf("dynaseal-gen: %s holds %d packages, want 1", dir, len(pkgs))
	}
	p := pkgs[0]
	if p.Types == nil || len(p.GoFiles) == 0 {
		var errs []error
		for _, e := range p.Errors {
			errs = append(errs, e)
		}
		return nil, fmt.Errorf("dynaseal-gen: loading %s: %w", dir, errors.Join(errs...))
	}
	for _, e := range p.Errors {
		if e.Kind != packages.TypeError {
			return nil, fmt.Errorf("dynaseal-gen: loading %s: %w", dir, e)
		}
	}
	return FromPackages(p), nil
}

// WriteFile loads the package in dir, generates for opts and writes the
// result to output (only when it changed, so file times stay put).
func WriteFile(dir, output string, opts Options) error {
	pkg, err := Load(dir, output, nil)
	if err != nil {
		return err
	}
	src, err := Generate(pkg, opts)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(output); err == nil && string(old) == string(src) {
		return nil
	}
	if err := os.WriteFile(output, src, 0o644); err != nil {
		return fmt.Errorf("dynaseal-gen: %w", err)
	}
	return nil
}
