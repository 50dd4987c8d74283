package codegen

import (
	"bytes"
	"fmt"
	"go/token"
	"strings"
	"unicode"
)

const tablePath = "github.com/dynaseal/dynaseal/table"
const keysPath = "github.com/dynaseal/dynaseal/tenantkeys"

// reservedArgs are the parameter and local variable names of generated
// methods, which a key or search argument must not shadow.
var reservedArgs = map[string]bool{
	"ctx": true, "opts": true, "fn": true, "cond": true, "s": true, "r": true, "k": true,
	"v": true, "err": true, "in": true, "pk": true, "parts": true, "cursor": true, "pageSize": true, "yield": true,
}

// argName turns a Go field name into a parameter name.
func argName(field string) string {
	rs := []rune(field)
	n := 0
	for n < len(rs) && unicode.IsUpper(rs[n]) {
		n++
	}
	switch {
	case n == 0:
	case n == len(rs) || n == 1:
		for i := 0; i < n; i++ {
			rs[i] = unicode.ToLower(rs[i])
		}
	default:
		for i := 0; i < n-1; i++ {
			rs[i] = unicode.ToLower(rs[i])
		}
	}
	s := string(rs)
	if token.IsKeyword(s) || reservedArgs[s] {
		s += "Key"
	}
	return s
}

// emitRepository writes the typed, tenant-scoped repository of r: a thin
// wrapper over table.Table[T] and table.Scope[T] whose key arguments have the
// key fields' Go types.
func (g *gen) emitRepository(w *bytes.Buffer, r *rootInfo, fields []field) {
	name := r.name
	s := r.schema
	tbl := g.imp(tablePath)
	ctxPkg := g.imp("context")
	var pk, sk *field
	for i := range fields {
		if fields[i].name == s.PartitionKey {
			pk = &fields[i]
		}
		if s.SortKey != "" && fields[i].name == s.SortKey {
			sk = &fields[i]
		}
	}
	if pk == nil || (s.SortKey != "" && sk == nil) {
		g.fail(r.named.Obj().Pos(), name, "", "key attribute not found among encodable fields")
		return
	}
	pkIsTenant := s.PartitionKey == s.Tenant
	type karg struct {
		f    *field
		arg  string
		goTy string
		pk   bool
	}
	var kargs []karg
	if !pkIsTenant {
		kargs = append(kargs, karg{f: pk, arg: argName(pk.gonam), goTy: g.typ(pk.typ), pk: true})
	}
	if sk != nil {
		kargs = append(kargs, karg{f: sk, arg: argName(sk.gonam), goTy: g.typ(sk.typ)})
	}
	var params, keyLit []string
	for _, k := range kargs {
		params = append(params, k.arg+" "+k.goTy)
		keyLit = append(keyLit, k.f.gonam+": "+k.arg)
	}
	paramList := strings.Join(params, ", ")
	if paramList != "" {
		paramList = ", " + paramList
	}
	keyExpr := name + "Key{" + strings.Join(keyLit, ", ") + "}"

	// Key type.
	fmt.Fprintf(w, "// %sKey is the primary key of a %s within a tenant scope", name, name)
	if pkIsTenant {
		fmt.Fprintf(w, "; the partition key is the\n// tenant attribute, which the scope supplies.\n")
	} else {
		w.WriteString(".\n")
	}
	fmt.Fprintf(w, "type %sKey struct {\n", name)
	for _, k := range kargs {
		role := "sort key"
		if k.pk {
			role = "partition key"
		}
		fmt.Fprintf(w, "// %s is the %s (attribute %q).\n%s %s\n", k.f.gonam, role, k.f.name, k.f.gonam, k.goTy)
	}
	w.WriteString("}\n\n")
	fmt.Fprintf(w, "// TableKey encodes k as the table package's Key, as the codec encodes the\n// key fields.\nfunc (k %sKey) TableKey() (%s.Key, error) {\nvar key %s.Key\n", name, tbl, tbl)
	for _, k := range kargs {
		slot := "key.SK"
		if k.pk {
			slot = "key.PK"
		}
		g.enc(w, ectx{field: name + "." + k.f.name, ret: "return " + tbl + ".Key{}, "}, k.f.typ, "k."+k.f.gonam, true, k.f.tag, g.varSink(slot), false)
	}
	w.WriteString("return key, nil\n}\n\n")
	mustKey := g.prefix + "MustKey"
	fmt.Fprintf(w, "// %s encodes k for the methods that cannot return an error\n// (transaction ops); key fields of the supported key types never fail.\nfunc %s(k %sKey) %s.Key {\nkey, err := k.TableKey()\nif err != nil {\npanic(err)\n}\nreturn key\n}\n\n", mustKey, mustKey, name, tbl)

	// Sort conditions.
	if sk != nil {
		g.emitSortConds(w, r, sk, g.prefix+"SortValue")
	}

	// Repository and constructors.
	keysPkg := g.imp(keysPath)
	fmt.Fprintf(w, "// %sRepository is the typed repository of %s items: a thin wrapper over\n// table.Table[%s] with the generated codec. Every data operation goes\n// through a tenant scope (For, FromContext).\ntype %sRepository struct {\nt *%s.Table[%s]\n}\n\n", name, name, name, name, tbl, name)
	if g.opts.Table != "" {
		fmt.Fprintf(w, "// %sTable is the table name dynaseal-gen was given (-table).\nconst %sTable = %q\n\n", name, name, g.opts.Table)
		fmt.Fprintf(w, "// New%sRepository returns the repository of %s items in table %q.\n// opts are applied after the generated codec and schema options.\nfunc New%sRepository(client %s.Client, keys %s.Provider, opts ...%s.Option) (*%sRepository, error) {\nreturn New%sRepositoryNamed(client, %sTable, keys, opts...)\n}\n\n",
			name, name, g.opts.Table, name, tbl, keysPkg, tbl, name, name, name)
	}
	fmt.Fprintf(w, "// New%sRepositoryNamed returns the repository of %s items in the table\n// called name. It fails with an error wrapping genrt.ErrStale when %s changed\n// since this file was generated (run go generate).\nfunc New%sRepositoryNamed(client %s.Client, name string, keys %s.Provider, opts ...%s.Option) (*%sRepository, error) {\n",
		name, name, name, name, tbl, keysPkg, tbl, name)
	fmt.Fprintf(w, "c := %sCodec{}\nif err := c.Check(); err != nil {\nreturn nil, err\n}\nsch, err := genrt.CheckSchema[%s](%sFingerprint)\nif err != nil {\nreturn nil, err\n}\n", name, name, name)
	fmt.Fprintf(w, "base := []%s.Option{%s.WithCodec[%s](c), %s.WithSchema(sch)", tbl, tbl, name, tbl)
	if g.opts.Class != "" {
		fmt.Fprintf(w, ", %s.WithKeyClass(%q)", tbl, g.opts.Class)
	}
	if g.opts.LogicalTable != "" {
		fmt.Fprintf(w, ", %s.WithLogicalName(%q)", tbl, g.opts.LogicalTable)
	}
	fmt.Fprintf(w, "}\nt, err := %s.New[%s](client, name, keys, append(base, opts...)...)\nif err != nil {\nreturn nil, err\n}\nreturn &%sRepository{t: t}, nil\n}\n\n", tbl, name, name)
	fmt.Fprintf(w, "// Table returns the underlying table handle (admin operations such as Scan).\nfunc (r *%sRepository) Table() *%s.Table[%s] {\nreturn r.t\n}\n\n", name, tbl, name)
	fmt.Fprintf(w, "// For returns the scope of tenant, which must come from the authenticated\n// request, never from a stored item.\nfunc (r *%sRepository) For(tenant string) %sScope {\nreturn %sScope{s: r.t.For(tenant)}\n}\n\n", name, name, name)
	fmt.Fprintf(w, "// FromContext returns the scope of the tenant stored in ctx by\n// table.WithTenant, or table.ErrNoTenant.\nfunc (r *%sRepository) FromContext(ctx %s.Context) (%sScope, error) {\ns, err := r.t.FromContext(ctx)\nif err != nil {\nreturn %sScope{}, err\n}\nreturn %sScope{s: s}, nil\n}\n\n", name, ctxPkg, name, name, name)

	// Scope.
	fmt.Fprintf(w, "// %sScope is the repository restricted to one tenant; its methods take\n// the key fields as typed arguments. It is a small value: make one per request.\ntype %sScope struct {\ns %s.Scope[%s]\n}\n\n", name, name, tbl, name)
	fmt.Fprintf(w, "// Scope returns the underlying table scope.\nfunc (s %sScope) Scope() %s.Scope[%s] {\nreturn s.s\n}\n\n", name, tbl, name)
	fmt.Fprintf(w, "// Tenant returns the scope's tenant.\nfunc (s %sScope) Tenant() string {\nreturn s.s.Tenant()\n}\n\n", name)
	keyOr := func(zero string) string {
		return fmt.Sprintf("k, err := %s.TableKey()\nif err != nil {\nreturn %s\n}\n", keyExpr, zero)
	}
	fmt.Fprintf(w, "// Get reads the %s with the given key (table.Scope.Get).\nfunc (s %sScope) Get(ctx %s.Context%s, opts ...%s.ReadOption) (*%s, error) {\n%sreturn s.s.Get(ctx, k, opts...)\n}\n\n", name, name, ctxPkg, paramList, tbl, name, keyOr("nil, err"))
	fmt.Fprintf(w, "// Put writes v (table.Scope.Put: optimistic locking when %s has a\n// version attribute).\nfunc (s %sScope) Put(ctx %s.Context, v *%s) error {\nreturn s.s.Put(ctx, v)\n}\n\n", name, name, ctxPkg, name)
	fmt.Fprintf(w, "// Create writes v, which must not exist yet (table.ErrAlreadyExists).\nfunc (s %sScope) Create(ctx %s.Context, v *%s) error {\nreturn s.s.Create(ctx, v)\n}\n\n", name, ctxPkg, name)
	fmt.Fprintf(w, "// Delete deletes the %s with the given key (table.Scope.Delete).\nfunc (s %sScope) Delete(ctx %s.Context%s, opts ...%s.WriteOption) error {\n%sreturn s.s.Delete(ctx, k, opts...)\n}\n\n", name, name, ctxPkg, paramList, tbl, keyOr("err"))
	fmt.Fprintf(w, "// Update reads the %s with the given key, calls fn on it and writes it\n// back unless it changed in between (table.Scope.Update).\nfunc (s %sScope) Update(ctx %s.Context%s, fn func(*%s) error, opts ...%s.UpdateOption) (*%s, error) {\n%sreturn s.s.Update(ctx, k, fn, opts...)\n}\n\n", name, name, ctxPkg, paramList, name, tbl, name, keyOr("nil, err"))

	// Query.
	qParams, qSet := "", ""
	if !pkIsTenant {
		qParams = ", " + argName(pk.gonam) + " " + g.typ(pk.typ)
		qSet = fmt.Sprintf("pk, err := %sKey{%s: %s}.TableKey()\nif err != nil {\n%%s\n}\nin.Partition = pk.PK\n", name, pk.gonam, argName(pk.gonam))
	}
	if sk != nil {
		iterPkg := g.imp("iter")
		fmt.Fprintf(w, "// Query returns the tenant's %s items", name)
		if !pkIsTenant {
			fmt.Fprintf(w, " in partition %s", argName(pk.gonam))
		}
		fmt.Fprintf(w, " whose sort key matches\n// cond (build it with %s%sEqual and friends; the zero value matches\n// all) and opts (table.Descending, table.Filter), verified and opened, as\n// an iterator over all pages.\nfunc (s %sScope) Query(ctx %s.Context%s, cond %s.SortCondition, opts ...%s.QueryOption) %s.Seq2[*%s, error] {\nin := %s.ApplyQueryOptions(%s.QueryInput{Sort: cond}, opts...)\n", name, sk.gonam, name, ctxPkg, qParams, tbl, tbl, iterPkg, name, tbl, tbl)
		if qSet != "" {
			fmt.Fprintf(w, qSet, fmt.Sprintf("return func(yield func(*%s, error) bool) {\nyield(nil, err)\n}", name))
		}
		w.WriteString("return s.s.Query(ctx, in)\n}\n\n")
		fmt.Fprintf(w, "// QueryPage returns one page (at most pageSize items; 0: DynamoDB's\n// default) of Query, starting after cursor (\"\" for the first page).\nfunc (s %sScope) QueryPage(ctx %s.Context%s, cond %s.SortCondition, pageSize int32, cursor string, opts ...%s.QueryOption) (%s.Page[%s], error) {\nin := %s.ApplyQueryOptions(%s.QueryInput{Sort: cond, PageSize: pageSize, Cursor: cursor}, opts...)\n", name, ctxPkg, qParams, tbl, tbl, tbl, name, tbl, tbl)
		if qSet != "" {
			fmt.Fprintf(w, qSet, fmt.Sprintf("return %s.Page[%s]{}, err", tbl, name))
		}
		w.WriteString("return s.s.QueryPage(ctx, in)\n}\n\n")
		fmt.Fprintf(w, "// Count returns the number of items Query yields, each verified\n// (table.Scope.Count: an item that fails verification fails the count).\nfunc (s %sScope) Count(ctx %s.Context%s, cond %s.SortCondition, opts ...%s.QueryOption) (int, error) {\nin := %s.ApplyQueryOptions(%s.QueryInput{Sort: cond}, opts...)\n", name, ctxPkg, qParams, tbl, tbl, tbl, tbl)
		if qSet != "" {
			fmt.Fprintf(w, qSet, "return 0, err")
		}
		w.WriteString("return s.s.Count(ctx, in)\n}\n\n")
	}

	// Batch.
	fmt.Fprintf(w, "// BatchGet reads the items with keys (table.Scope.BatchGet): result[i] is\n// nil when keys[i] has no item.\nfunc (s %sScope) BatchGet(ctx %s.Context, keys []%sKey, opts ...%s.ReadOption) ([]*%s, error) {\nks := make([]%s.Key, len(keys))\nfor i, key := range keys {\nk, err := key.TableKey()\nif err != nil {\nreturn nil, err\n}\nks[i] = k\n}\nreturn s.s.BatchGet(ctx, ks, opts...)\n}\n\n", name, ctxPkg, name, tbl, name, tbl)
	fmt.Fprintf(w, "// BatchWrite puts and deletes any number of items (table.Scope.BatchWrite:\n// unconditional writes; what stays unprocessed is returned, never dropped).\nfunc (s %sScope) BatchWrite(ctx %s.Context, puts []*%s, deletes []%sKey) error {\nks := make([]%s.Key, len(deletes))\nfor i, key := range deletes {\nk, err := key.TableKey()\nif err != nil {\nreturn err\n}\nks[i] = k\n}\nreturn s.s.BatchWrite(ctx, puts, ks)\n}\n\n", name, ctxPkg, name, name, tbl)

	// Transactions.
	fmt.Fprintf(w, "// TxPut is Put as one write of a table.TransactWrite.\nfunc (s %sScope) TxPut(v *%s) %s.TxOp {\nreturn s.s.TxPut(v)\n}\n\n", name, name, tbl)
	fmt.Fprintf(w, "// TxCreate is Create as one write of a table.TransactWrite.\nfunc (s %sScope) TxCreate(v *%s) %s.TxOp {\nreturn s.s.TxCreate(v)\n}\n\n", name, name, tbl)
	fmt.Fprintf(w, "// TxDelete is Delete as one write of a table.TransactWrite.\nfunc (s %sScope) TxDelete(%s opts ...%s.WriteOption) %s.TxOp {\nreturn s.s.TxDelete(%s(%s), opts...)\n}\n\n", name, g.plist(paramList), tbl, tbl, mustKey, keyExpr)
	fmt.Fprintf(w, "// TxUpdate is Update as one write of a table.TransactWrite.\nfunc (s %sScope) TxUpdate(%s fn func(*%s) error) %s.TxOp {\nreturn s.s.TxUpdate(%s(%s), fn)\n}\n\n", name, g.plist(paramList), name, tbl, mustKey, keyExpr)
	fmt.Fprintf(w, "// TxConditionCheck requires the item with the given key to exist in the\n// scope's tenant for the transaction to succeed.\nfunc (s %sScope) TxConditionCheck(%s opts ...%s.WriteOption) %s.TxOp {\nreturn s.s.TxConditionCheck(%s(%s), opts...)\n}\n\n", name, g.plist(paramList), tbl, tbl, mustKey, keyExpr)
	fmt.Fprintf(w, "// TxGet reads the item with the given key as part of table.TransactGet.\nfunc (s %sScope) TxGet(%s) *%s.TxRead[%s] {\nreturn s.s.TxGet(%s(%s))\n}\n\n", name, g.plist(paramList), tbl, name, mustKey, keyExpr)

	g.emitSearch(w, r, fields, len(kargs), sk)
}

// varSink assigns the encoded value to the variable (or field) v.
func (g *gen) varSink(v string) sink {
	return func(w *bytes.Buffer, k avKind, e string) {
		fmt.Fprintf(w, "%s = %s\n", v, g.member(k, e))
	}
}

// plist joins a ", "-prefixed parameter list with a following parameter.
func (g *gen) plist(p string) string {
	p = strings.TrimPrefix(p, ", ")
	if p == "" {
		return ""
	}
	return p + ","
}
