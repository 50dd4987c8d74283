package codegen

import (
	"fmt"
	"go/types"
	"reflect"

	"github.com/dynaseal/dynaseal/schema"
)

// tagOpts are the dynamodbav options that change how one value is encoded.
type tagOpts struct {
	OmitEmpty, OmitEmptyElem, NullEmpty, NullEmptyElem bool
	AsString, AsUnixTime                               bool
	BS, NS, SS                                         bool
}

func optsOf(d schema.DynamoTag) tagOpts {
	return tagOpts{
		OmitEmpty: d.OmitEmpty, OmitEmptyElem: d.OmitEmptyElem,
		NullEmpty: d.NullEmpty, NullEmptyElem: d.NullEmptyElem,
		AsString: d.AsString, AsUnixTime: d.AsUnixTime,
		BS: d.AsBinarySet, NS: d.AsNumberSet, SS: d.AsStringSet,
	}
}

// elem is the tag attributevalue applies to list, set and map elements.
func (t tagOpts) elem() tagOpts {
	return tagOpts{OmitEmpty: t.OmitEmptyElem, OmitEmptyElem: t.OmitEmptyElem, NullEmpty: t.NullEmptyElem}
}

// support says how the generator handles a Go type.
type support int

const (
	native   support = iota // generated code
	fallback                // the field is delegated to attributevalue
	refuse                  // a positioned error
)

const avTypesPath = "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

func unalias(t types.Type) types.Type { return types.Unalias(t) }

func isTime(t types.Type) bool {
	n, ok := unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "time" && n.Obj().Name() == "Time"
}

func basicInfo(t types.Type) (types.BasicInfo, types.BasicKind, bool) {
	b, ok := unalias(t).Underlying().(*types.Basic)
	if !ok {
		return 0, 0, false
	}
	return b.Info(), b.Kind(), true
}

func isStringKind(t types.Type) bool {
	i, _, ok := basicInfo(t)
	return ok && i&types.IsString != 0
}

func isBoolKind(t types.Type) bool {
	i, _, ok := basicInfo(t)
	return ok && i&types.IsBoolean != 0
}

// numKind returns "int", "uint" or "float" and the bit size (0: int/uint).
func numKind(t types.Type) (string, int) {
	_, k, ok := basicInfo(t)
	if !ok {
		return "", 0
	}
	switch k {
	case types.Int:
		return "int", 0
	case types.Int8:
		return "int", 8
	case types.Int16:
		return "int", 16
	case types.Int32:
		return "int", 32
	case types.Int64:
		return "int", 64
	case types.Uint:
		return "uint", 0
	case types.Uint8:
		return "uint", 8
	case types.Uint16:
		return "uint", 16
	case types.Uint32:
		return "uint", 32
	case types.Uint64:
		return "uint", 64
	case types.Float32:
		return "float", 32
	case types.Float64:
		return "float", 64
	}
	return "", 0
}

// isByteSlice reports a slice whose element's underlying type is byte.
func isByteSlice(t types.Type) bool {
	s, ok := unalias(t).Underlying().(*types.Slice)
	if !ok {
		return false
	}
	_, k, ok := basicInfo(s.Elem())
	return ok && (k == types.Uint8)
}

// isPlainByteSlice reports exactly []byte (no named element).
func isPlainByteSlice(t types.Type) bool {
	s, ok := unalias(t).(*types.Slice)
	if !ok {
		return false
	}
	b, ok := unalias(s.Elem()).(*types.Basic)
	return ok && b.Kind() == types.Uint8
}

// isByteSliceSlice reports exactly the unnamed [][]byte, which attributevalue
// encodes as a binary set even without a tag.
func isByteSliceSlice(t types.Type) bool {
	s, ok := unalias(t).(*types.Slice)
	return ok && isPlainByteSlice(s.Elem())
}

func hasMethod(t types.Type, name string) *types.Func {
	ms := types.NewMethodSet(t)
	sel := ms.Lookup(nil, name)
	if sel == nil {
		return nil
	}
	f, _ := sel.Obj().(*types.Func)
	return f
}

func isAVType(t types.Type) bool {
	n, ok := unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == avTypesPath && n.Obj().Name() == "AttributeValue"
}

func isError(t types.Type) bool { return types.Identical(t, types.Universe.Lookup("error").Type()) }

// marshalerIn reports whether the method set of t has attributevalue's
// MarshalDynamoDBAttributeValue() (types.AttributeValue, error).
func marshalerIn(t types.Type) bool {
	f := hasMethod(t, "MarshalDynamoDBAttributeValue")
	if f == nil {
		return false
	}
	sig := f.Type().(*types.Signature)
	return sig.Params().Len() == 0 && sig.Results().Len() == 2 && isAVType(sig.Results().At(0).Type()) && isError(sig.Results().At(1).Type())
}

// unmarshalerIn reports whether the method set of t has attributevalue's
// UnmarshalDynamoDBAttributeValue(types.AttributeValue) error.
func unmarshalerIn(t types.Type) bool {
	f := hasMethod(t, "UnmarshalDynamoDBAttributeValue")
	if f == nil {
		return false
	}
	sig := f.Type().(*types.Signature)
	return sig.Params().Len() == 1 && isAVType(sig.Params().At(0).Type()) && sig.Results().Len() == 1 && isError(sig.Results().At(0).Type())
}

// marshaler reports whether attributevalue calls t's marshaler for a value
// of type t, addressable or not (tryMarshaler).
func marshaler(t types.Type, addr bool) bool {
	if _, ok := unalias(t).(*types.Pointer); ok {
		return marshalerIn(t)
	}
	if addr && isNamed(t) {
		return marshalerIn(types.NewPointer(t))
	}
	return marshalerIn(t)
}

// unmarshaler reports whether attributevalue's indirect finds an
// Unmarshaler for an addressable non-pointer value of type t.
func unmarshaler(t types.Type) bool {
	if !isNamed(t) {
		return false
	}
	return unmarshalerIn(types.NewPointer(t))
}

func isNamed(t types.Type) bool {
	switch unalias(t).(type) {
	case *types.Named, *types.Basic:
		return true
	}
	return false
}

// isNumberish is attributevalue's isNumberValueType: a string kind whose
// value has Float64, Int64 and String methods (json.Number, Number).
func isNumberish(t types.Type) bool {
	return isStringKind(t) && hasMethod(t, "Float64") != nil && hasMethod(t, "Int64") != nil && hasMethod(t, "String") != nil
}

// hasTextMethods reports key types whose text methods attributevalue uses.
func hasTextMethods(t types.Type) bool {
	return hasMethod(t, "MarshalText") != nil || hasMethod(types.NewPointer(t), "UnmarshalText") != nil
}

// plainStringKey reports a map key type that fmt.Sprint prints as itself.
func plainStringKey(t types.Type) bool {
	if !isStringKind(t) {
		return false
	}
	for _, m := range []string{"String", "Error", "Format"} {
		if hasMethod(t, m) != nil {
			return false
		}
	}
	return true
}

// checker classifies types. Named structs of the package are not entered
// (their fields are checked when their helpers are generated); busy stops
// other recursive named types (type L []L).
type checker struct {
	pkg  *types.Package
	busy map[types.Type]bool
}

func combine(a, b support) support {
	if a > b {
		return a
	}
	return b
}

// classify says how a value of type t is handled and, when refused, why.
func (c *checker) classify(t types.Type) (support, string) {
	t = unalias(t)
	if c.busy[t] {
		return fallback, ""
	}
	if _, named := t.(*types.Named); named {
		c.busy[t] = true
		defer delete(c.busy, t)
	}
	if isTime(t) {
		return native, ""
	}
	if marshalerIn(t) || marshalerIn(types.NewPointer(t)) || unmarshalerIn(types.NewPointer(t)) {
		// The kind path still runs when a marshaler returns (nil, nil) or
		// the value is not addressable; it must be supported too.
		s, why := c.classifyKind(t)
		if s == refuse {
			return fallback, why
		}
		return s, why
	}
	return c.classifyKind(t)
}

func (c *checker) classifyKind(t types.Type) (support, string) {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		info := u.Info()
		switch {
		case u.Kind() == types.Uintptr || u.Kind() == types.UnsafePointer:
			return refuse, "type " + t.String() + " is not stored by attributevalue (it would be silently dropped)"
		case info&types.IsComplex != 0:
			return refuse, "complex numbers are not stored by attributevalue (they would be silently dropped)"
		case info&(types.IsString|types.IsBoolean|types.IsInteger|types.IsFloat) != 0:
			return native, ""
		}
		return refuse, "unsupported basic type " + t.String()
	case *types.Pointer:
		if _, named := t.(*types.Named); named {
			return fallback, ""
		}
		if _, ptr := unalias(u.Elem()).Underlying().(*types.Pointer); ptr {
			return fallback, ""
		}
		s, why := c.classify(u.Elem())
		return s, why
	case *types.Slice:
		if _, k, ok := basicInfo(u.Elem()); ok && k == types.Uint8 && !isPlainByteElem(u.Elem()) {
			return refuse, "slice of the named byte type " + u.Elem().String() + ": attributevalue panics encoding it (reflect.Copy into []byte); use []byte"
		}
		s, why := c.classify(u.Elem())
		return s, why
	case *types.Array:
		s, why := c.classify(u.Elem())
		return combine(s, fallback), why
	case *types.Map:
		k := u.Key()
		ks := native
		if _, ptr := unalias(k).Underlying().(*types.Pointer); ptr {
			return refuse, "map key type " + k.String() + " is not supported by attributevalue"
		}
		if hasTextMethods(k) {
			ks = fallback
		} else {
			info, kind, ok := basicInfo(k)
			if !ok || kind == types.Uintptr || info&types.IsComplex != 0 {
				return refuse, "map key type " + k.String() + " is not supported by attributevalue (string, number, bool or encoding.TextMarshaler)"
			}
		}
		s, why := c.classify(u.Elem())
		return combine(s, ks), why
	case *types.Struct:
		n, named := t.(*types.Named)
		if !named || n.Obj().Pkg() != c.pkg || n.TypeArgs().Len() > 0 {
			return fallback, ""
		}
		if timeLike(t) {
			return fallback, ""
		}
		return native, ""
	case *types.Interface:
		return fallback, ""
	case *types.Chan, *types.Signature:
		return refuse, "type " + t.String() + " is not stored by attributevalue (it would be silently dropped)"
	}
	return refuse, "unsupported type " + t.String()
}

// timeLike reports a struct type convertible to time.Time (other than
// time.Time itself): attributevalue encodes such types as times.
func timeLike(t types.Type) bool {
	if isTime(t) {
		return false
	}
	st, ok := t.Underlying().(*types.Struct)
	if !ok || st.NumFields() != 3 {
		return false
	}
	f := st.Field(0)
	return f.Pkg() != nil && f.Pkg().Path() == "time"
}

// fieldsOf walks a nested struct type's attributes with attributevalue's
// rules, reusing the schema walk through a synthetic root: schema.Build
// demands keys, so the nested walk is done here on the same parser.
type nestedField struct {
	name string
	tag  schema.DynamoTag
	raw  reflect.StructTag
	path []schema.Step
	typ  types.Type
	v    *types.Var
}

func nestedFields(t *types.Named) ([]nestedField, []*types.Var) {
	type queued struct {
		st   *types.Struct
		id   types.Type
		path []schema.Step
	}
	type cand struct {
		nestedField
		fromTag bool
	}
	var fields []cand
	var bad []*types.Var
	next := []queued{{st: t.Underlying().(*types.Struct), id: t}}
	count := map[types.Type]int{}
	visited := map[string]bool{}
	for len(next) > 0 {
		current := next
		next = nil
		prevCount := count
		count = map[types.Type]int{}
		for _, q := range current {
			key := types.TypeString(q.id, nil)
			if visited[key] {
				continue
			}
			visited[key] = true
			for i := 0; i < q.st.NumFields(); i++ {
				v := q.st.Field(i)
				raw := reflect.StructTag(q.st.Tag(i))
				if !v.Exported() && !v.Embedded() {
					continue
				}
				dt := schema.ParseDynamoTag(raw.Get(schema.DynamoTagKey))
				if dt.Ignore {
					continue
				}
				ft := unalias(v.Type())
				ptr := false
				if p, ok := ft.(*types.Pointer); ok {
					ft = unalias(p.Elem())
					ptr = true
				}
				_, isStruct := ft.Underlying().(*types.Struct)
				path := append(append([]schema.Step(nil), q.path...), schema.Step{Name: v.Name(), Index: i, Pointer: ptr && isStruct})
				nf := cand{nestedField: nestedField{name: v.Name(), tag: dt, raw: raw, path: path, typ: v.Type(), v: v}}
				if dt.Name != "" {
					nf.name, nf.fromTag = dt.Name, true
				}
				if !v.Embedded() || dt.Name != "" || !isStruct {
					if !v.Exported() {
						bad = append(bad, v)
						continue
					}
					fields = append(fields, nf)
					if prevCount[q.id] > 1 {
						fields = append(fields, nf)
					}
					continue
				}
				count[ft]++
				if count[ft] == 1 {
					next = append(next, queued{st: ft.Underlying().(*types.Struct), id: ft, path: path})
				}
			}
		}
	}
	// Dominance: per name, the shallowest; among those a single tagged one,
	// else a single one; otherwise the name is dropped.
	byName := map[string][]cand{}
	var order []string
	for _, f := range fields {
		if _, ok := byName[f.name]; !ok {
			order = append(order, f.name)
		}
		byName[f.name] = append(byName[f.name], f)
	}
	var out []nestedField
	for _, name := range order {
		fs := byName[name]
		depth := len(fs[0].path)
		for _, f := range fs {
			if len(f.path) < depth {
				depth = len(f.path)
			}
		}
		var shallow []cand
		for _, f := range fs {
			if len(f.path) == depth {
				shallow = append(shallow, f)
			}
		}
		var tagged []cand
		for _, f := range shallow {
			if f.fromTag {
				tagged = append(tagged, f)
			}
		}
		switch {
		case len(tagged) == 1:
			out = append(out, tagged[0].nestedField)
		case len(tagged) == 0 && len(shallow) == 1:
			out = append(out, shallow[0].nestedField)
		}
	}
	sortByIndex(out)
	return out, bad
}

func sortByIndex(fs []nestedField) {
	less := func(a, b []schema.Step) bool {
		for k := range a {
			if k >= len(b) {
				return false
			}
			if a[k].Index != b[k].Index {
				return a[k].Index < b[k].Index
			}
		}
		return len(a) < len(b)
	}
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && less(fs[j].path, fs[j-1].path); j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

// posError is a generator error at a source position.
type posError struct {
	pos, typ, field, reason string
}

func (e *posError) Error() string {
	p := ""
	if e.pos != "" {
		p = e.pos + ": "
	}
	if e.field == "" {
		return fmt.Sprintf("%sdynaseal-gen: %s: %s", p, e.typ, e.reason)
	}
	return fmt.Sprintf("%sdynaseal-gen: %s.%s: %s", p, e.typ, e.field, e.reason)
}
