package codegen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dynaseal/dynaseal/codegen"
)

const usesGenerated = `package shop

// Handler already uses the repository that dynaseal-gen is about to
// write: the package does not compile until it has run.
type Handler struct {
	Orders *OrderRepository
}
`

// TestLoadBeforeFirstGeneration loads a package whose hand-written code
// uses names only the generated file defines (a fresh clone without the
// generated file, or code written before the first go generate). go list
// reports the compiler's output as a list error beside the type errors;
// Load must tolerate it and Generate must produce the repository, which
// then makes the package compile.
func TestLoadBeforeFirstGeneration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list on a fresh module; skipped with -short")
	}
	dir, write, run := newModule(t)
	model := strings.SplitN(twoDirectivesModel, "// Invoice is", 2)[0]
	write("shop/shop.go", model)
	write("shop/handler.go", usesGenerated)
	pkgDir := filepath.Join(dir, "shop")
	if out, err := run(pkgDir, "build", "."); err == nil || !strings.Contains(out, "undefined: OrderRepository") {
		t.Fatalf("the package compiles without its generated file (%v):\n%s", err, out)
	}
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	pkg, err := codegen.Load(pkgDir, "order_dynaseal.go", env)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	src, err := codegen.Generate(pkg, codegen.Options{Types: []string{"Order"}, Table: "orders"})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	write("shop/order_dynaseal.go", string(src))
	if out, err := run(pkgDir, "vet", "."); err != nil {
		t.Fatalf("go vet with the generated file: %v\n%s", err, out)
	}
}
