package codegen

import (
	"bytes"
	"fmt"
	"go/types"
	"strconv"
	"strings"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/codegen/genrt"
)

// emitRoot writes everything generated for one item type.
func (g *gen) emitRoot(r *rootInfo) {
	fields := g.rootFields(r)
	name := r.name
	g.prefix = "dynaseal" + name
	w := &g.body
	ty := g.ty()

	fmt.Fprintf(w, "// %sFingerprint is the schema fingerprint of %s when this file was\n// generated; the repository constructor refuses a struct whose tags changed since.\nconst %sFingerprint = %q\n\n", name, name, name, r.schema.Fingerprint())

	fmt.Fprintf(w, "// %sCodec is the generated, reflection-free table.Codec of %s. Its items\n// are identical to attributevalue.MarshalMap's (default options) and it accepts\n// what attributevalue.UnmarshalMap accepts.\ntype %sCodec struct{}\n\n", name, name, name)

	// Marshal.
	g.curStruct = r.named
	var fb bytes.Buffer
	slots := map[avKind]int{}
	g.topNum = &numCtx{}
	for _, f := range fields {
		c := ectx{field: name + "." + f.name, ret: "return nil, "}
		g.encField(&fb, c, "v", f, g.slotSink(slots, strconv.Quote(f.name)), true)
	}
	nums := g.topNum
	g.topNum = nil
	slotType := g.prefix + "Slots"
	used := false
	for _, n := range slots {
		used = used || n > 0
	}
	if used {
		fmt.Fprintf(w, "// %s holds the attribute values of one marshaled %s, so that\n// they take one allocation instead of one each.\ntype %s struct {\n", slotType, name, slotType)
		for k := kS; k < kDyn; k++ {
			if n := slots[k]; n > 0 {
				fmt.Fprintf(w, "%s [%d]%s.AttributeValueMember%s\n", memberNames[k], n, ty, memberNames[k])
			}
		}
		w.WriteString("}\n\n")
	}
	g.imp(genrtPath)
	fmt.Fprintf(w, "// Marshal encodes v as a DynamoDB item.\nfunc (%sCodec) Marshal(v *%s) (map[string]%s.AttributeValue, error) {\nif v == nil {\nreturn nil, %s.Errorf(\"%%w: nil *%s\", genrt.ErrEncode)\n}\n", name, name, ty, g.imp("fmt"), name)
	fmt.Fprintf(w, "m := make(map[string]%s.AttributeValue, %d)\n", ty, len(fields))
	if used {
		fmt.Fprintf(w, "sl := new(%s)\n", slotType)
	}
	if nums.n > 0 {
		fmt.Fprintf(w, "// Top-level numbers are formatted into one buffer and converted to\n// one string, which the attributes share.\nvar nbArr [%d]byte\nnb := nbArr[:0]\nvar nbOff, nbEnd [%d]int\n", 24*nums.n, nums.n)
	}
	w.Write(fb.Bytes())
	if nums.n > 0 {
		w.WriteString("if len(nb) > 0 {\nns := string(nb)\n")
		for _, f := range nums.fills {
			fmt.Fprintf(w, "sl.%s[%d].Value = ns[nbOff[%d]:nbEnd[%d]]\n", memberNames[f.kind], f.slot, f.num, f.num)
		}
		w.WriteString("}\n")
	}
	w.WriteString("return m, nil\n}\n\n")

	// Unmarshal.
	fmt.Fprintf(w, "// Unmarshal decodes item into v. Attributes absent from item leave v's\n// fields unchanged, as with attributevalue.UnmarshalMap.\nfunc (%sCodec) Unmarshal(item map[string]%s.AttributeValue, v *%s) error {\nif v == nil {\nreturn %s.Errorf(\"%%w: nil *%s\", genrt.ErrDecode)\n}\n", name, ty, name, g.imp("fmt"), name)
	g.decLoop(w, name, "v", g.prefix+"Names", fields)
	w.WriteString("return nil\n}\n\n")

	g.emitNames(w, g.prefix+"Names", fields)

	// Versioner.
	if r.schema.Version != "" {
		for _, f := range fields {
			if f.name != r.schema.Version {
				continue
			}
			x, nilable := fieldPath("v", f.path)
			fmt.Fprintf(w, "// Version returns v's version attribute (table.Versioner).\nfunc (%sCodec) Version(v *%s) int64 {\n", name, name)
			for _, n := range nilable {
				fmt.Fprintf(w, "if %s == nil {\nreturn 0\n}\n", n)
			}
			fmt.Fprintf(w, "return int64(%s)\n}\n\n", x)
			fmt.Fprintf(w, "// SetVersion sets v's version attribute (table.Versioner).\nfunc (%sCodec) SetVersion(v *%s, version int64) {\n", name, name)
			for _, n := range nilable {
				fmt.Fprintf(w, "if %s == nil {\n%s = new(%s)\n}\n", n, n, g.typ(derefType(g.typeAt("v", n, f))))
			}
			fmt.Fprintf(w, "%s = %s(version)\n}\n\n", x, g.typ(f.typ))
		}
	}

	// Nested helpers (may queue more).
	for len(g.queue) > 0 {
		h := g.queue[0]
		g.queue = g.queue[1:]
		g.emitHelper(w, h)
	}

	g.emitGuard(w, r)
	g.emitRedaction(w, r, fields)
	if !g.opts.NoRepository {
		g.emitRepository(w, r, fields)
		g.emitImage(w, r)
	}
}

// numCtx collects the top-level numbers of Marshal, formatted into one
// shared buffer.
type numCtx struct {
	n     int
	fills []numFill
}

type numFill struct {
	kind      avKind
	slot, num int
}

// numMarker marks a sink expression whose value is number i of numCtx.
const numMarker = "\x00num:"

// slotSink stores top-level attributes into m, taking their members from
// the slots struct sl (one allocation instead of one per attribute).
func (g *gen) slotSink(slots map[avKind]int, key string) sink {
	return func(w *bytes.Buffer, k avKind, e string) {
		if k == kDyn {
			fmt.Fprintf(w, "m[%s] = %s\n", key, e)
			return
		}
		i := slots[k]
		slots[k]++
		switch {
		case strings.HasPrefix(e, numMarker):
			n, _ := strconv.Atoi(strings.TrimPrefix(e, numMarker))
			g.topNum.fills = append(g.topNum.fills, numFill{kind: k, slot: i, num: n})
		case k == kNULL:
			fmt.Fprintf(w, "sl.%s[%d].Value = true\n", memberNames[k], i)
		default:
			fmt.Fprintf(w, "sl.%s[%d].Value = %s\n", memberNames[k], i, e)
		}
		fmt.Fprintf(w, "m[%s] = &sl.%s[%d]\n", key, memberNames[k], i)
	}
}

// decLoop decodes every attribute of item into the struct at base:
// exact names first, then attributevalue's case-insensitive fallback.
func (g *gen) decLoop(w *bytes.Buffer, owner, base, names string, fields []field) {
	if len(fields) == 0 {
		w.WriteString("_ = item\n")
		return
	}
	fmt.Fprintf(w, "for k, av := range item {\nf := -1\nswitch k {\n")
	for i, f := range fields {
		fmt.Fprintf(w, "case %q:\nf = %d\n", f.name, i)
	}
	fmt.Fprintf(w, "default:\nf = genrt.Fold(k, %s)\n}\nswitch f {\n", names)
	for i, f := range fields {
		fmt.Fprintf(w, "case %d:\n", i)
		g.decField(w, ectx{field: owner + "." + f.name, ret: "return "}, base, f, "av")
	}
	w.WriteString("}\n}\n")
}

func (g *gen) emitNames(w *bytes.Buffer, varName string, fields []field) {
	fmt.Fprintf(w, "// %s lists the attribute names in field order, for attributevalue's\n// case-insensitive name matching.\nvar %s = []string{", varName, varName)
	for i, f := range fields {
		if i > 0 {
			w.WriteString(", ")
		}
		fmt.Fprintf(w, "%q", f.name)
	}
	w.WriteString("}\n\n")
}

func (g *gen) emitHelper(w *bytes.Buffer, h helperReq) {
	owner := h.t.Obj().Name()
	prev := g.curStruct
	g.curStruct = h.t
	defer func() { g.curStruct = prev }()
	fields := g.nestedStructFields(h.t)
	g.guard(h.t)
	ty := g.ty()
	if h.enc {
		fmt.Fprintf(w, "// %s encodes a nested %s as attributevalue does.\nfunc %s(v *%s) (map[string]%s.AttributeValue, error) {\nm := make(map[string]%s.AttributeValue, %d)\n", h.name, owner, h.name, g.typ(h.t), ty, ty, len(fields))
		for _, f := range fields {
			c := ectx{field: owner + "." + f.name, ret: "return nil, "}
			g.encField(w, c, "v", f, g.mapSink("m", strconv.Quote(f.name)), h.addr || hasPointerStep(f))
		}
		w.WriteString("return m, nil\n}\n\n")
		return
	}
	fmt.Fprintf(w, "// %s decodes a nested %s as attributevalue does.\nfunc %s(item map[string]%s.AttributeValue, v *%s) error {\n", h.name, owner, h.name, ty, g.typ(h.t))
	g.imp(genrtPath)
	g.decLoop(w, owner, "v", h.name+"Names", fields)
	w.WriteString("return nil\n}\n\n")
	g.emitNames(w, h.name+"Names", fields)
}

func hasPointerStep(f field) bool {
	for _, s := range f.path[:len(f.path)-1] {
		if s.Pointer {
			return true
		}
	}
	return false
}

// guard records a same-package struct type for the compile-time guard.
func (g *gen) guard(t *types.Named) {
	if g.guarded[t] {
		return
	}
	g.guarded[t] = true
	g.structs = append(g.structs, t)
	st := t.Underlying().(*types.Struct)
	for i := 0; i < st.NumFields(); i++ {
		f := st.Field(i)
		if !f.Embedded() {
			continue
		}
		ft := derefType(unalias(f.Type()))
		if n, ok := unalias(ft).(*types.Named); ok && n.Obj().Pkg() == g.pkg.Types {
			if _, ok := n.Underlying().(*types.Struct); ok && n.TypeArgs().Len() == 0 {
				g.guard(n)
			}
		}
	}
}

// emitGuard writes the compile-time conversions and the run-time Check.
func (g *gen) emitGuard(w *bytes.Buffer, r *rootInfo) {
	g.guard(r.named)
	name := r.name
	reflectPkg := g.imp("reflect")
	fmt.Fprintf(w, "// The conversions below stop compiling when a field of a struct this file\n// was generated from is added, removed, renamed or changes type: run go generate.\n// Struct tags are ignored by conversions; %sCodec.Check compares the\n// dynamodbav and seal tags (other tag keys never change the item).\n", name)
	for _, t := range g.structs {
		st := t.Underlying().(*types.Struct)
		fmt.Fprintf(w, "var _ = struct {\n")
		for i := 0; i < st.NumFields(); i++ {
			f := st.Field(i)
			tag := genrt.ItemTag(st.Tag(i))
			tagLit := ""
			if tag != "" {
				tagLit = " " + strconv.Quote(tag)
			}
			if f.Embedded() {
				fmt.Fprintf(w, "%s%s\n", g.typ(f.Type()), tagLit)
			} else {
				fmt.Fprintf(w, "%s %s%s\n", f.Name(), g.typ(f.Type()), tagLit)
			}
		}
		fmt.Fprintf(w, "}(%s{})\n\n", g.typ(t))
	}
	fmt.Fprintf(w, "// Check reports whether %s (and the structs it embeds or nests) still\n// has the struct tags and schema fingerprint this file was generated from;\n// when not, it returns an error wrapping genrt.ErrStale: run go generate.\n// The generated repository constructor calls it.\nfunc (%sCodec) Check() error {\n", name, name)
	for _, t := range g.structs {
		st := t.Underlying().(*types.Struct)
		fmt.Fprintf(w, "if err := genrt.CheckTags(%s.TypeFor[%s](), []genrt.FieldTag{\n", reflectPkg, g.typ(t))
		for i := 0; i < st.NumFields(); i++ {
			fmt.Fprintf(w, "{Index: []int{%d}, Tag: %s},\n", i, strconv.Quote(genrt.ItemTag(st.Tag(i))))
		}
		w.WriteString("}); err != nil {\nreturn err\n}\n")
	}
	fmt.Fprintf(w, "_, err := genrt.CheckSchema[%s](%sFingerprint)\nreturn err\n}\n\n", name, name)
	g.structs = g.structs[:0]
}

// emitRedaction writes LogValue (always) and String/Format (unless
// NoRedactFormat), skipping methods the type already declares.
func (g *gen) emitRedaction(w *bytes.Buffer, r *rootInfo, fields []field) {
	name := r.name
	// has reports a method m of the type (declared or promoted), or a field
	// m of its own that a generated method of that name would clash with.
	has := func(m string) bool {
		obj, index, _ := types.LookupFieldOrMethod(types.NewPointer(r.named), true, g.pkg.Types, m)
		switch obj.(type) {
		case *types.Func:
			return true
		case *types.Var:
			return len(index) == 1
		}
		return false
	}
	enc := map[string]bool{}
	for _, a := range r.schema.Attributes {
		if a.Action == attrcrypt.ActionEncrypt {
			enc[a.Name] = true
		}
	}
	slogPkg := g.imp("log/slog")
	if !has("LogValue") {
		fmt.Fprintf(w, "// LogValue implements slog.LogValuer: encrypted attributes of %s are\n// logged as [REDACTED], the others by attribute name and value.\nfunc (v %s) LogValue() %s.Value {\nattrs := make([]%s.Attr, 0, %d)\n", name, name, slogPkg, slogPkg, len(fields))
		for _, f := range fields {
			x, nilable := fieldPath("v", f.path)
			for _, n := range nilable {
				fmt.Fprintf(w, "if %s != nil {\n", n)
			}
			if enc[f.name] {
				fmt.Fprintf(w, "attrs = append(attrs, %s.String(%q, genrt.Redacted))\n", slogPkg, f.name)
			} else {
				fmt.Fprintf(w, "attrs = append(attrs, %s.Any(%q, %s))\n", slogPkg, f.name, x)
			}
			for range nilable {
				w.WriteString("}\n")
			}
		}
		fmt.Fprintf(w, "return %s.GroupValue(attrs...)\n}\n\n", slogPkg)
	}
	g.emitJSON(w, r, has)
	g.emitUnmarshalJSON(w, r, fields, has)
	g.emitReveal(w, r, has)
	if g.opts.NoRedactFormat || has("String") || has("Format") || has("GoString") {
		return
	}
	// Which direct fields hold an encrypted attribute (directly or through
	// an embedded struct)?
	st := r.named.Underlying().(*types.Struct)
	redact := map[int]bool{}
	for _, a := range r.schema.Attributes {
		if a.Action == attrcrypt.ActionEncrypt {
			redact[a.Path[0].Index] = true
		}
	}
	fmt.Fprintf(w, "// Format implements fmt.Formatter so that %%v, %%+v, %%#v and %%s print %s\n// with encrypted attributes as [REDACTED] (generated by dynaseal-gen; run it\n// with -no-redact-format to keep fmt's default output).\nfunc (v %s) Format(f %s.State, verb rune) {\ngenrt.Format(f, verb, %q, []genrt.Field{\n", name, name, g.imp("fmt"), g.pkg.Types.Name()+"."+name)
	for i := 0; i < st.NumFields(); i++ {
		fl := st.Field(i)
		switch {
		case redact[i]:
			fmt.Fprintf(w, "{Name: %q, Redacted: true},\n", fl.Name())
		case fl.Name() == "_":
			// A blank field (an index or compound declaration) cannot be
			// read by name; it always holds its type's zero value.
			fmt.Fprintf(w, "{Name: \"_\", Value: *new(%s)},\n", g.typ(fl.Type()))
		default:
			fmt.Fprintf(w, "{Name: %q, Value: v.%s},\n", fl.Name(), fl.Name())
		}
	}
	w.WriteString("})\n}\n\n")
	fmt.Fprintf(w, "// String returns v as %%v prints it, encrypted attributes redacted.\nfunc (v %s) String() string {\nreturn %s.Sprint(v)\n}\n\n", name, g.imp("fmt"))
}
