package codegen

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"go/token"
	"go/types"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/tools/go/packages"

	"github.com/dynaseal/dynaseal/schema"
)

// Options configure one run of the generator.
type Options struct {
	// Types are the names of the struct types to generate for.
	Types []string
	// Table is the physical DynamoDB table name the generated constructor
	// uses by default.
	Table string
	// LogicalTable, when set, is the name bound into every signature
	// (table.WithLogicalName); the default is the physical name.
	LogicalTable string
	// Class is the tenant key class (table.WithKeyClass); "" is the default.
	Class string
	// NoRedactFormat leaves out the generated String and Format methods
	// (LogValue is always generated).
	NoRedactFormat bool
	// NoRedactJSON leaves out the generated MarshalJSON, so encoding/json
	// (and slog's JSONHandler for values inside slices, maps and structs)
	// prints encrypted fields in clear.
	NoRedactJSON bool
	// NoRepository generates the codec only (no table dependency).
	NoRepository bool
	// Args is the command line recorded in the header comment.
	Args []string
}

// Package is what the generator needs from a loaded package.
type Package struct {
	Types *types.Package
	Fset  *token.FileSet
	// Dir is the package directory, used to shorten positions in errors.
	Dir string
}

// FromPackages adapts a package loaded with golang.org/x/tools/go/packages
// (NeedTypes and NeedSyntax or NeedTypesInfo).
func FromPackages(p *packages.Package) *Package {
	dir := ""
	if len(p.GoFiles) > 0 {
		dir = filepath.Dir(p.GoFiles[0])
	}
	return &Package{Types: p.Types, Fset: p.Fset, Dir: dir}
}

// DefaultOutput is the file name the command writes for types: the first
// type's name, lower-cased, with the suffix _dynaseal.go.
func DefaultOutput(typeNames []string) string {
	return strings.ToLower(typeNames[0]) + "_dynaseal.go"
}

// Generate returns the formatted Go source of the generated file for
// opts.Types in pkg. It is a pure function of its arguments. Every problem
// found is reported (joined), each with file:line:col, type, field and
// reason.
func Generate(pkg *Package, opts Options) ([]byte, error) {
	if len(opts.Types) == 0 {
		return nil, errors.New("dynaseal-gen: no type given (-type)")
	}
	g := newGen(pkg, opts)
	var errs []error
	var roots []*rootInfo
	for _, name := range opts.Types {
		r, err := g.root(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		roots = append(roots, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, r := range roots {
		g.emitRoot(r)
	}
	if len(g.errs) > 0 {
		seen := map[string]bool{}
		var uniq []error
		for _, e := range g.errs {
			if !seen[e.Error()] {
				seen[e.Error()] = true
				uniq = append(uniq, e)
			}
		}
		return nil, errors.Join(uniq...)
	}
	src := g.file()
	out, err := format.Source(src)
	if err != nil {
		return src, fmt.Errorf("dynaseal-gen: generated code does not parse (a generator bug): %w", err)
	}
	return out, nil
}

// rootInfo is one item type to generate for.
type rootInfo struct {
	named  *types.Named
	name   string
	schema *schema.Schema
}

type gen struct {
	pkg       *Package
	opts      Options
	imports   map[string]string // path -> name
	taken     map[string]string // name -> path
	body      bytes.Buffer
	errs      []error
	tmp       int
	check     *checker
	prefix    string          // helper name prefix (first root's name)
	helpers   map[string]bool // helper function names already queued
	queue     []helperReq
	structs   []*types.Named // same-package struct types to guard
	guarded   map[*types.Named]bool
	curStruct types.Type
	topNum    *numCtx         // non-nil while a top-level attribute of Marshal is emitted
	scratch   map[string]bool // local variables the decoder discards when it fails
}

type helperReq struct {
	t    *types.Named
	addr bool
	enc  bool
	name string
}

func newGen(pkg *Package, opts Options) *gen {
	g := &gen{
		pkg: pkg, opts: opts,
		imports: map[string]string{}, taken: map[string]string{},
		scratch: map[string]bool{},
		check:   &checker{pkg: pkg.Types, busy: map[types.Type]bool{}},
		prefix:  "dynaseal" + opts.Types[0],
		helpers: map[string]bool{}, guarded: map[*types.Named]bool{},
	}
	return g
}

// imp returns the name under which path is imported, adding the import.
func (g *gen) imp(path string) string {
	if n, ok := g.imports[path]; ok {
		return n
	}
	base := path[strings.LastIndex(path, "/")+1:]
	if path == avTypesPath {
		base = "types"
	}
	if strings.HasPrefix(base, "v") && len(path) > len(base)+1 {
		if _, err := strconv.Atoi(base[1:]); err == nil {
			p := path[:len(path)-len(base)-1]
			base = p[strings.LastIndex(p, "/")+1:]
		}
	}
	base = strings.Map(func(r rune) rune {
		if r == '-' || r == '.' {
			return '_'
		}
		return r
	}, base)
	name := base
	for i := 2; ; i++ {
		_, used := g.taken[name]
		if !used && g.pkg.Types.Scope().Lookup(name) == nil {
			break
		}
		name = fmt.Sprintf("%s%d", base, i)
	}
	g.imports[path] = name
	g.taken[name] = path
	return name
}

func (g *gen) ty() string { return g.imp(avTypesPath) }

// typ spells t in the generated package.
func (g *gen) typ(t types.Type) string {
	return types.TypeString(t, func(p *types.Package) string {
		if p == g.pkg.Types {
			return ""
		}
		return g.imp(p.Path())
	})
}

func (g *gen) v(prefix string) string {
	g.tmp++
	return fmt.Sprintf("%s%d", prefix, g.tmp)
}

func (g *gen) pos(p token.Pos) string {
	if !p.IsValid() || g.pkg.Fset == nil {
		return ""
	}
	pos := g.pkg.Fset.Position(p)
	return pos.String()
}

func (g *gen) fail(pos token.Pos, typ, field, reason string) {
	g.errs = append(g.errs, &posError{pos: g.pos(pos), typ: typ, field: field, reason: reason})
}

func (g *gen) root(name string) (*rootInfo, error) {
	obj := g.pkg.Types.Scope().Lookup(name)
	if obj == nil {
		return nil, fmt.Errorf("dynaseal-gen: type %s not found in package %s", name, g.pkg.Types.Path())
	}
	tn, ok := obj.(*types.TypeName)
	if !ok {
		return nil, &posError{pos: g.pos(obj.Pos()), typ: name, reason: "not a type"}
	}
	named, ok := unalias(tn.Type()).(*types.Named)
	if !ok || tn.IsAlias() {
		return nil, &posError{pos: g.pos(obj.Pos()), typ: name, reason: "not a defined struct type (aliases are not supported; name the aliased type)"}
	}
	if named.TypeParams().Len() > 0 {
		return nil, &posError{pos: g.pos(obj.Pos()), typ: name, reason: "generic types are not supported"}
	}
	if _, ok := named.Underlying().(*types.Struct); !ok {
		return nil, &posError{pos: g.pos(obj.Pos()), typ: name, reason: "not a struct type"}
	}
	if marshalerIn(types.NewPointer(named)) || unmarshalerIn(types.NewPointer(named)) {
		return nil, &posError{pos: g.pos(obj.Pos()), typ: name, reason: "the item type implements attributevalue's Marshaler or Unmarshaler itself; generate for the plain struct instead"}
	}
	s, err := schema.FromGoType(named, g.pkg.Fset)
	if err != nil {
		return nil, err
	}
	return &rootInfo{named: named, name: name, schema: s}, nil
}

func (g *gen) file() []byte {
	var b bytes.Buffer
	args := strings.Join(g.opts.Args, " ")
	if args != "" {
		args = " " + args
	}
	fmt.Fprintf(&b, "%s%s%s\n\n", generatedPrefix, args, generatedSuffix)
	fmt.Fprintf(&b, "package %s\n\n", g.pkg.Types.Name())
	paths := make([]string, 0, len(g.imports))
	for p := range g.imports {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool {
		si := !strings.Contains(strings.SplitN(paths[i], "/", 2)[0], ".")
		sj := !strings.Contains(strings.SplitN(paths[j], "/", 2)[0], ".")
		if si != sj {
			return si
		}
		return paths[i] < paths[j]
	})
	b.WriteString("import (\n")
	std := true
	for _, p := range paths {
		isStd := !strings.Contains(strings.SplitN(p, "/", 2)[0], ".")
		if isStd != std {
			b.WriteString("\n")
			std = isStd
		}
		n := g.imports[p]
		base := p[strings.LastIndex(p, "/")+1:]
		if n == base {
			fmt.Fprintf(&b, "\t%q\n", p)
		} else {
			fmt.Fprintf(&b, "\t%s %q\n", n, p)
		}
	}
	b.WriteString(")\n\n")
	b.Write(g.body.Bytes())
	return b.Bytes()
}

// fieldPath is the Go expression of an attribute's field below base, and
// the embedded-pointer prefixes that must be non-nil on the way.
func fieldPath(base string, path []schema.Step) (expr string, nilable []string) {
	expr = base
	for i, s := range path {
		expr += "." + s.Name
		if s.Pointer && i < len(path)-1 {
			nilable = append(nilable, expr)
		}
	}
	return expr, nilable
}
