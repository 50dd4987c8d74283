package codegen

import (
	"bytes"
	"fmt"
	"go/types"
	"strings"
	"unicode"

	awstypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/schema"
)

// searchType is the Go type a typed query or search takes for field f:
// the field's type, or its element type when it is a pointer (a query value
// is never nil, and a non-nil pointer is stored as its element).
func searchType(f *field) types.Type {
	return derefType(f.typ)
}

// emitSortConds writes the typed sort conditions of key field sk (the
// table's sort key, or an index's): a value encoder named svName and
// <T><Field>Equal and friends.
func (g *gen) emitSortConds(w *bytes.Buffer, r *rootInfo, sk *field, svName string) {
	name, tbl, ty := r.name, g.imp(tablePath), g.ty()
	st := searchType(sk)
	fmt.Fprintf(w, "// %s encodes a sort-key value for a query condition; it panics\n// only if the key type's own marshaler fails.\nfunc %s(v %s) %s.AttributeValue {\nav, err := func() (%s.AttributeValue, error) {\nvar av %s.AttributeValue\n", svName, svName, g.typ(st), ty, ty, ty)
	cond := sk.tag
	cond.OmitEmpty, cond.NullEmpty = false, false
	g.enc(w, ectx{field: name + "." + sk.name, ret: "return nil, "}, st, "v", true, cond, g.varSink("av"), false)
	w.WriteString("return av, nil\n}()\nif err != nil {\npanic(err)\n}\nreturn av\n}\n\n")
	for _, c := range []struct{ fn, doc string }{
		{"Equal", "equal to v"}, {"LessThan", "less than v"}, {"LessOrEqual", "less than or equal to v"},
		{"GreaterThan", "greater than v"}, {"GreaterOrEqual", "greater than or equal to v"},
	} {
		fmt.Fprintf(w, "// %s%s%s matches %s items whose %s is %s.\nfunc %s%s%s(v %s) %s.SortCondition {\nreturn %s.%s(%s(v))\n}\n\n",
			name, sk.gonam, c.fn, name, sk.gonam, c.doc, name, sk.gonam, c.fn, g.typ(st), tbl, tbl, c.fn, svName)
	}
	fmt.Fprintf(w, "// %s%sBetween matches %s items with lo <= %s <= hi.\nfunc %s%sBetween(lo, hi %s) %s.SortCondition {\nreturn %s.Between(%s(lo), %s(hi))\n}\n\n",
		name, sk.gonam, name, sk.gonam, name, sk.gonam, g.typ(st), tbl, tbl, svName, svName)
	if kt := r.schema.KeyType(sk.name); kt == awstypes.ScalarAttributeTypeS || kt == awstypes.ScalarAttributeTypeB {
		fmt.Fprintf(w, "// %s%sBeginsWith matches %s items whose %s starts with prefix.\nfunc %s%sBeginsWith(prefix %s) %s.SortCondition {\nreturn %s.BeginsWith(%s(prefix))\n}\n\n",
			name, sk.gonam, name, sk.gonam, name, sk.gonam, g.typ(st), tbl, tbl, svName)
	}
}

// fieldNamed returns the encodable field of attribute name, or nil.
func fieldNamed(fields []field, name string) *field {
	for i := range fields {
		if fields[i].name == name {
			return &fields[i]
		}
	}
	return nil
}

// scopeMethods are the methods every generated scope has; a generated
// search method may not take one of their names.
var scopeMethods = []string{
	"Scope", "Tenant", "Get", "Put", "Create", "Delete", "Update", "Query", "QueryPage", "Count",
	"BatchGet", "BatchWrite", "TxPut", "TxCreate", "TxDelete", "TxUpdate", "TxConditionCheck", "TxGet",
	"GetKey", "DeleteKey", "UpdateKey", "TxGetKey", "TxDeleteKey", "TxUpdateKey", "TxConditionCheckKey",
}

// methodNames hands out the names of a scope's generated search methods
// and reports a collision (two indexes, or an index and a field, whose
// names map to one Go name) as a generation error.
type methodNames struct {
	g     *gen
	r     *rootInfo
	taken map[string]string
}

func (g *gen) newMethodNames(r *rootInfo) *methodNames {
	m := &methodNames{g: g, r: r, taken: map[string]string{}}
	for _, n := range scopeMethods {
		m.taken[n] = "a generated scope method"
	}
	return m
}

// claim reserves the method names for what (an index or a field) and
// reports false, with a generation error, when one is taken.
func (m *methodNames) claim(what string, names ...string) bool {
	for _, n := range names {
		if prev, ok := m.taken[n]; ok {
			m.g.fail(m.r.named.Obj().Pos(), m.r.name, "", fmt.Sprintf("%s needs method %s, which %s already has; rename one of them", what, n, prev))
			return false
		}
	}
	for _, n := range names {
		m.taken[n] = what
	}
	return true
}

// goName turns a DynamoDB index name (letters, digits, '_', '-', '.') into
// the exported Go name its methods use: the parts between separators,
// capitalised and joined, without a leading "By" or a trailing "Index"
// (indexes "byStatus", "status-index" and "status" all give
// QueryByStatus); "Index" is prefixed to a name that would start with a
// digit.
func goName(index string) string {
	var b []rune
	up := true
	for _, c := range index {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			up = true
			continue
		}
		if up {
			c = unicode.ToUpper(c)
			up = false
		}
		b = append(b, c)
	}
	s := string(b)
	if rest, ok := strings.CutPrefix(s, "By"); ok && rest != "" && !unicode.IsLower([]rune(rest)[0]) {
		s = rest
	}
	if rest, ok := strings.CutSuffix(s, "Index"); ok && rest != "" {
		s = rest
	}
	if s == "" || unicode.IsDigit([]rune(s)[0]) {
		s = "Index" + s
	}
	return s
}

// emitKeyMethods writes the scope methods that take the <T>Key struct
// instead of positional key arguments. They exist only for composite keys
// (two key arguments), where positional arguments of one type are easy to
// swap; the positional methods stay.
func (g *gen) emitKeyMethods(w *bytes.Buffer, r *rootInfo, nargs int) {
	if nargs < 2 {
		return
	}
	name, tbl, ctxPkg := r.name, g.imp(tablePath), g.imp("context")
	why := ", whose named\n// fields cannot be swapped as positional arguments can."
	fmt.Fprintf(w, "// GetKey is Get taking the key as a struct (%sKey)%s\nfunc (s %sScope) GetKey(ctx %s.Context, key %sKey, opts ...%s.ReadOption) (*%s, error) {\nk, err := key.TableKey()\nif err != nil {\nreturn nil, err\n}\nreturn s.s.Get(ctx, k, opts...)\n}\n\n",
		name, why, name, ctxPkg, name, tbl, name)
	fmt.Fprintf(w, "// DeleteKey is Delete taking the key as a struct (%sKey)%s\nfunc (s %sScope) DeleteKey(ctx %s.Context, key %sKey, opts ...%s.WriteOption) error {\nk, err := key.TableKey()\nif err != nil {\nreturn err\n}\nreturn s.s.Delete(ctx, k, opts...)\n}\n\n",
		name, why, name, ctxPkg, name, tbl)
	fmt.Fprintf(w, "// UpdateKey is Update taking the key as a struct (%sKey)%s\nfunc (s %sScope) UpdateKey(ctx %s.Context, key %sKey, fn func(*%s) error, opts ...%s.UpdateOption) (*%s, error) {\nk, err := key.TableKey()\nif err != nil {\nreturn nil, err\n}\nreturn s.s.Update(ctx, k, fn, opts...)\n}\n\n",
		name, why, name, ctxPkg, name, name, tbl, name)
	mustKey := g.prefix + "MustKey"
	fmt.Fprintf(w, "// TxGetKey is TxGet taking the key as a struct (%sKey).\nfunc (s %sScope) TxGetKey(key %sKey) *%s.TxRead[%s] {\nreturn s.s.TxGet(%s(key))\n}\n\n", name, name, name, tbl, name, mustKey)
	fmt.Fprintf(w, "// TxDeleteKey is TxDelete taking the key as a struct (%sKey).\nfunc (s %sScope) TxDeleteKey(key %sKey, opts ...%s.WriteOption) %s.TxOp {\nreturn s.s.TxDelete(%s(key), opts...)\n}\n\n", name, name, name, tbl, tbl, mustKey)
	fmt.Fprintf(w, "// TxUpdateKey is TxUpdate taking the key as a struct (%sKey).\nfunc (s %sScope) TxUpdateKey(key %sKey, fn func(*%s) error) %s.TxOp {\nreturn s.s.TxUpdate(%s(key), fn)\n}\n\n", name, name, name, name, tbl, mustKey)
	fmt.Fprintf(w, "// TxConditionCheckKey is TxConditionCheck taking the key as a struct (%sKey).\nfunc (s %sScope) TxConditionCheckKey(key %sKey, opts ...%s.WriteOption) %s.TxOp {\nreturn s.s.TxConditionCheck(%s(key), opts...)\n}\n\n", name, name, name, tbl, tbl, mustKey)
}

// plainIndex reports whether every key of ix is an ordinary attribute
// (signed, plain, or the tenant), not a beacon or a compound beacon: such
// an index is queried with the key fields' Go values (QueryBy<Index>).
func plainIndex(r *rootInfo, fields []field, ix schema.Index) bool {
	for _, k := range []string{ix.PartitionKey, ix.SortKey} {
		if k == "" {
			continue
		}
		if _, ok := r.schema.BeaconStored(k); ok {
			return false
		}
		if _, ok := r.schema.CompoundNamed(k); ok {
			return false
		}
		if fieldNamed(fields, k) == nil {
			return false
		}
	}
	return true
}

// emitValueFunc writes fname, which encodes a value of field f's Go type
// as the attribute value the codec stores (omitempty ignored: a query
// value is always sent).
func (g *gen) emitValueFunc(w *bytes.Buffer, r *rootInfo, f *field, fname string) {
	ty := g.ty()
	t := searchType(f)
	fmt.Fprintf(w, "// %s encodes v as the codec stores %s.%s.\nfunc %s(v %s) (%s.AttributeValue, error) {\nvar av %s.AttributeValue\n", fname, r.name, f.gonam, fname, g.typ(t), ty, ty)
	cond := f.tag
	cond.OmitEmpty, cond.NullEmpty = false, false
	g.enc(w, ectx{field: r.name + "." + f.name, ret: "return nil, "}, t, "v", true, cond, g.varSink("av"), false)
	w.WriteString("return av, nil\n}\n\n")
}

// emitIndexQueries writes QueryBy<Index>, QueryBy<Index>Page and
// CountBy<Index> for every declared index whose keys are ordinary
// attributes. The partition value is a typed argument unless the index's
// partition key is the tenant (the scope supplies it); the sort condition
// is a typed argument when the index has a sort key other than the tenant.
func (g *gen) emitIndexQueries(w *bytes.Buffer, r *rootInfo, fields []field, names *methodNames, sortDone map[string]bool) {
	s := r.schema
	name, tbl, ctxPkg := r.name, g.imp(tablePath), g.imp("context")
	for _, ix := range s.Indexes {
		if !plainIndex(r, fields, ix) {
			continue
		}
		gn := goName(ix.Name)
		q, qp, c := "QueryBy"+gn, "QueryBy"+gn+"Page", "CountBy"+gn
		if !names.claim(fmt.Sprintf("index %q", ix.Name), q, qp, c) {
			continue
		}
		pk := fieldNamed(fields, ix.PartitionKey)
		var sk *field
		if ix.SortKey != "" && ix.SortKey != s.Tenant {
			sk = fieldNamed(fields, ix.SortKey)
		}
		// Typed helpers: the partition value's encoder and the sort
		// conditions (once per field; the table's sort key has them).
		var pkParam, pkArg, pkDoc string
		if ix.PartitionKey != s.Tenant {
			g.searchValue(w, r, pk, sortDone)
			a := argName(pk.gonam)
			pkParam, pkArg = ", "+a+" "+g.typ(searchType(pk)), a+", "
			pkDoc = " whose " + pk.gonam + " equals " + a
		}
		condParam, condArg, condDoc := "", "", ""
		if sk != nil {
			if !sortDone[sk.name] {
				sortDone[sk.name] = true
				g.emitSortConds(w, r, sk, g.prefix+sk.gonam+"SortValue")
			}
			condParam, condArg = ", cond "+tbl+".SortCondition", "cond"
			condDoc = fmt.Sprintf(" whose %s matches cond (build it with %s%sEqual and friends; the zero value matches all)", sk.gonam, name, sk.gonam)
			if pkDoc != "" {
				condDoc = " and" + condDoc
			}
		}
		inFn := g.prefix + gn + "Input"
		fmt.Fprintf(w, "// %s builds the query of index %q.\nfunc %s(%sin %s.QueryInput, opts []%s.QueryOption) (%s.QueryInput, error) {\nin = %s.ApplyQueryOptions(in, opts...)\nin.Index = %q\n",
			inFn, ix.Name, inFn, g.plist(pkParam)+" ", tbl, tbl, tbl, tbl, ix.Name)
		if pkParam != "" {
			fmt.Fprintf(w, "pk, err := %s%sValue(%s)\nif err != nil {\nreturn in, err\n}\nin.Partition = pk\n", g.prefix, pk.gonam, argName(pk.gonam))
		}
		w.WriteString("return in, nil\n}\n\n")
		sortLit := "Sort: " + condArg
		if condArg == "" {
			sortLit = ""
		}
		iterPkg := g.imp("iter")
		w.WriteString(docComment(fmt.Sprintf("%s queries index %q for the tenant's %s items%s%s. The items are verified and opened, the iterator runs over all pages, and opts add table.Descending, table.Filter and the like.", q, ix.Name, name, pkDoc, condDoc)))
		fmt.Fprintf(w, "func (s %sScope) %s(ctx %s.Context%s%s, opts ...%s.QueryOption) %s.Seq2[*%s, error] {\nin, err := %s(%s%s.QueryInput{%s}, opts)\nif err != nil {\nreturn func(yield func(*%s, error) bool) {\nyield(nil, err)\n}\n}\nreturn s.s.Query(ctx, in)\n}\n\n",
			name, q, ctxPkg, pkParam, condParam, tbl, iterPkg, name, inFn, pkArg, tbl, sortLit, name)
		pageLit := "PageSize: pageSize, Cursor: cursor"
		if sortLit != "" {
			pageLit = sortLit + ", " + pageLit
		}
		fmt.Fprintf(w, "// %s returns one page (at most pageSize items; 0: DynamoDB's\n// default) of %s, starting after cursor (\"\" for the first page).\nfunc (s %sScope) %s(ctx %s.Context%s%s, pageSize int32, cursor string, opts ...%s.QueryOption) (%s.Page[%s], error) {\nin, err := %s(%s%s.QueryInput{%s}, opts)\nif err != nil {\nreturn %s.Page[%s]{}, err\n}\nreturn s.s.QueryPage(ctx, in)\n}\n\n",
			qp, q, name, qp, ctxPkg, pkParam, condParam, tbl, tbl, name, inFn, pkArg, tbl, pageLit, tbl, name)
		fmt.Fprintf(w, "// %s returns the number of items %s yields, each verified.\nfunc (s %sScope) %s(ctx %s.Context%s%s, opts ...%s.QueryOption) (int, error) {\nin, err := %s(%s%s.QueryInput{%s}, opts)\nif err != nil {\nreturn 0, err\n}\nreturn s.s.Count(ctx, in)\n}\n\n",
			c, q, name, c, ctxPkg, pkParam, condParam, tbl, inFn, pkArg, tbl, sortLit)
	}
}

// emitSearch writes the repository's typed access paths beyond the primary
// key: the key-struct methods, the typed queries of declared indexes, and
// the searches by beacon, compound beacon and unique value.
// tableSK is the table's sort key field (nil when none), whose sort
// conditions emitRepository wrote already.
func (g *gen) emitSearch(w *bytes.Buffer, r *rootInfo, fields []field, nargs int, tableSK *field) {
	g.emitKeyMethods(w, r, nargs)
	names := g.newMethodNames(r)
	done := map[string]bool{}
	if tableSK != nil {
		done[tableSK.name] = true
	}
	g.emitIndexQueries(w, r, fields, names, done)
	g.emitFinds(w, r, fields, names, done)
}

// beaconIndexed reports whether a declared index can serve a search on the
// stored derived attribute attr: attr is the index's partition key, or
// (compounds) its sort key under the tenant as partition key.
func beaconIndexed(r *rootInfo, attr string, asSortKey bool) bool {
	for _, ix := range r.schema.Indexes {
		if ix.PartitionKey == attr || (asSortKey && ix.SortKey == attr && ix.PartitionKey == r.schema.Tenant) {
			return true
		}
	}
	return false
}

// searchValue returns the expression that encodes argument arg of field f
// (through the field's value encoder, emitted once) and the statement that
// returns its error.
func (g *gen) searchValue(w *bytes.Buffer, r *rootInfo, f *field, done map[string]bool) string {
	enc := g.prefix + f.gonam + "Value"
	if !done["value:"+f.name] {
		done["value:"+f.name] = true
		g.emitValueFunc(w, r, f, enc)
	}
	return enc
}

// emitFinds writes FindBy<Field> and FindBy<Field>Page for every beacon
// with an index keyed on it, FindBy<Compound> and FindBy<Compound>Page for
// every compound beacon with an index that serves it, and GetBy<Field> for
// every unique field. Each takes the plaintext values as the fields' Go
// types and calls the engine's untyped search (table.Scope.Find,
// FindCompound, GetUnique), which verifies, decrypts and keeps only exact
// matches.
func (g *gen) emitFinds(w *bytes.Buffer, r *rootInfo, fields []field, names *methodNames, done map[string]bool) {
	s := r.schema
	name, tbl, ctxPkg, ty := r.name, g.imp(tablePath), g.imp("context"), g.ty()
	fail := func(n string) string {
		return fmt.Sprintf("return func(yield func(*%s, error) bool) {\nyield(nil, err)\n}", n)
	}
	for _, b := range s.Beacons {
		f := fieldNamed(fields, b.Source)
		if f == nil || !beaconIndexed(r, b.Attribute, false) {
			continue
		}
		m, mp := "FindBy"+f.gonam, "FindBy"+f.gonam+"Page"
		if !names.claim("field "+f.gonam+" (beacon)", m, mp) {
			continue
		}
		enc := g.searchValue(w, r, f, done)
		a := argName(f.gonam)
		w.WriteString(docComment(fmt.Sprintf("%s returns the tenant's %s items whose %s equals %s%s, through the beacon index: each item is verified and decrypted, and items that only share the truncated beacon are dropped, never returned (table.Scope.Find). opts add table.Descending, table.Filter and the like.", m, name, f.gonam, a, normDoc(b.Normalize))))
		fmt.Fprintf(w, "func (s %sScope) %s(ctx %s.Context, %s %s, opts ...%s.QueryOption) %s.Seq2[*%s, error] {\nv, err := %s(%s)\nif err != nil {\n%s\n}\nreturn s.s.Find(ctx, %q, v, opts...)\n}\n\n",
			name, m, ctxPkg, a, g.typ(searchType(f)), tbl, g.imp("iter"), name, enc, a, fail(name), f.name)
		w.WriteString(docComment(fmt.Sprintf("%s returns one page of %s (at most pageSize index items; 0: DynamoDB's default), starting after cursor (\"\" for the first page). Dropped collisions can leave a page short, or empty with a cursor (table.Scope.FindPage).", mp, m)))
		fmt.Fprintf(w, "func (s %sScope) %s(ctx %s.Context, %s %s, pageSize int32, cursor string, opts ...%s.QueryOption) (%s.Page[%s], error) {\nv, err := %s(%s)\nif err != nil {\nreturn %s.Page[%s]{}, err\n}\nreturn s.s.FindPage(ctx, %q, v, %s.ApplyQueryOptions(%s.QueryInput{PageSize: pageSize, Cursor: cursor}, opts...))\n}\n\n",
			name, mp, ctxPkg, a, g.typ(searchType(f)), tbl, tbl, name, enc, a, tbl, name, f.name, tbl, tbl)
	}
	for _, c := range s.Compounds {
		if !beaconIndexed(r, c.Attribute, true) {
			continue
		}
		var parts []*field
		for _, p := range c.Parts {
			if f := fieldNamed(fields, p); f != nil {
				parts = append(parts, f)
			}
		}
		if len(parts) != len(c.Parts) {
			continue
		}
		gn := goName(c.Attribute)
		m, mp := "FindBy"+gn, "FindBy"+gn+"Page"
		if !names.claim(fmt.Sprintf("compound %q", c.Attribute), m, mp) {
			continue
		}
		var params, encs, partDoc []string
		for i, f := range parts {
			a := argName(f.gonam)
			params = append(params, a+" "+g.typ(searchType(f)))
			enc := g.searchValue(w, r, f, done)
			encs = append(encs, fmt.Sprintf("if parts[%d], err = %s(%s); err != nil {\n", i, enc, a))
			partDoc = append(partDoc, f.gonam+" equals "+a)
		}
		build := func(ret string) string {
			var b strings.Builder
			fmt.Fprintf(&b, "parts := make([]%s.AttributeValue, %d)\nvar err error\n", ty, len(parts))
			for _, e := range encs {
				b.WriteString(e + ret + "\n}\n")
			}
			return b.String()
		}
		plist := strings.Join(params, ", ")
		w.WriteString(docComment(fmt.Sprintf("%s returns the tenant's %s items whose %s, through the index of compound beacon %q: each item is verified, decrypted and compared part by part, so items that match only through a truncated beacon are dropped (table.Scope.FindCompound). opts add table.Descending, table.Filter and the like.", m, name, strings.Join(partDoc, " and "), c.Attribute)))
		fmt.Fprintf(w, "func (s %sScope) %s(ctx %s.Context, %s, opts ...%s.QueryOption) %s.Seq2[*%s, error] {\n%sreturn s.s.FindCompound(ctx, %q, parts, opts...)\n}\n\n",
			name, m, ctxPkg, plist, tbl, g.imp("iter"), name, build(fail(name)), c.Attribute)
		w.WriteString(docComment(fmt.Sprintf("%s returns one page of %s (at most pageSize index items; 0: DynamoDB's default), starting after cursor (\"\" for the first page); dropped collisions can leave a page short (table.Scope.FindCompoundPage).", mp, m)))
		fmt.Fprintf(w, "func (s %sScope) %s(ctx %s.Context, %s, pageSize int32, cursor string, opts ...%s.QueryOption) (%s.Page[%s], error) {\n%sreturn s.s.FindCompoundPage(ctx, %q, parts, %s.ApplyQueryOptions(%s.QueryInput{PageSize: pageSize, Cursor: cursor}, opts...))\n}\n\n",
			name, mp, ctxPkg, plist, tbl, tbl, name, build(fmt.Sprintf("return %s.Page[%s]{}, err", tbl, name)), c.Attribute, tbl, tbl)
	}
	for _, u := range s.Unique {
		f := fieldNamed(fields, u)
		if f == nil {
			continue
		}
		m := "GetBy" + f.gonam
		if !names.claim("field "+f.gonam+" (unique)", m) {
			continue
		}
		a, _ := s.Attribute(u)
		enc := g.searchValue(w, r, f, done)
		arg := argName(f.gonam)
		w.WriteString(docComment(fmt.Sprintf("%s returns the %s of the tenant whose unique %s equals %s%s: one consistent read of the value's claim and one of the item it names, verified (table.Scope.GetUnique). No such item is table.ErrNotFound.", m, name, f.gonam, arg, normDoc(a.Normalize))))
		fmt.Fprintf(w, "func (s %sScope) %s(ctx %s.Context, %s %s, opts ...%s.ReadOption) (*%s, error) {\nv, err := %s(%s)\nif err != nil {\nreturn nil, err\n}\nreturn s.s.GetUnique(ctx, %q, v, opts...)\n}\n\n",
			name, m, ctxPkg, arg, g.typ(searchType(f)), tbl, name, enc, arg, f.name)
	}
}

// normDoc is the doc fragment saying how a search compares a field with
// normalisation n.
func normDoc(n attrcrypt.Normalization) string {
	switch {
	case n&attrcrypt.NormalizeTrim != 0 && n&attrcrypt.NormalizeLower != 0:
		return " (both trimmed of white space and lower-cased)"
	case n&attrcrypt.NormalizeTrim != 0:
		return " (both trimmed of white space)"
	case n&attrcrypt.NormalizeLower != 0:
		return " (both lower-cased)"
	}
	return ""
}

// docComment wraps text into // comment lines of at most about 76
// columns.
func docComment(text string) string {
	var b strings.Builder
	line := "//"
	for _, word := range strings.Fields(text) {
		if len(line)+1+len(word) > 76 && line != "//" {
			b.WriteString(line + "\n")
			line = "//"
		}
		line += " " + word
	}
	b.WriteString(line + "\n")
	return b.String()
}
