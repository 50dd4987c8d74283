package schema

import (
	"go/token"
	"go/types"
	"reflect"
)

// goType adapts go/types to TypeInfo, for the code generator.
type goType struct {
	t    types.Type
	fset *token.FileSet
}

func (g goType) under() types.Type { return types.Unalias(g.t).Underlying() }

func (g goType) Kind() Kind {
	switch u := g.under().(type) {
	case *types.Basic:
		info := u.Info()
		switch {
		case info&types.IsString != 0:
			return KindString
		case info&types.IsBoolean != 0:
			return KindBool
		case u.Kind() == types.Uintptr:
			// attributevalue drops a non-zero uintptr: not an integer here.
			return KindOther
		case info&types.IsUnsigned != 0:
			return KindUint
		case info&types.IsInteger != 0:
			return KindInt
		case info&types.IsFloat != 0:
			return KindFloat
		}
	case *types.Slice:
		if b, ok := types.Unalias(u.Elem()).Underlying().(*types.Basic); ok && b.Kind() == types.Byte {
			return KindBytes
		}
		return KindSlice
	case *types.Array:
		return KindArray
	case *types.Struct:
		return KindStruct
	case *types.Pointer:
		return KindPointer
	case *types.Map:
		return KindMap
	case *types.Interface:
		return KindInterface
	}
	return KindOther
}

// IsMarshaler reports whether T or *T has attributevalue's
// MarshalDynamoDBAttributeValue method.
func (g goType) IsMarshaler() bool {
	for _, t := range []types.Type{g.t, types.NewPointer(g.t)} {
		obj, _, _ := types.LookupFieldOrMethod(t, true, nil, "MarshalDynamoDBAttributeValue")
		if f, ok := obj.(*types.Func); ok {
			sig := f.Type().(*types.Signature)
			if sig.Params().Len() == 0 && sig.Results().Len() == 2 {
				return true
			}
		}
	}
	return false
}

func (g goType) Named() bool {
	switch types.Unalias(g.t).(type) {
	case *types.Named, *types.Basic:
		return true
	}
	return false
}

func (g goType) IsTime() bool {
	n, ok := types.Unalias(g.t).(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return false
	}
	return n.Obj().Pkg().Path() == "time" && n.Obj().Name() == "Time"
}

func (g goType) Elem() TypeInfo {
	switch u := g.under().(type) {
	case *types.Pointer:
		return goType{u.Elem(), g.fset}
	case *types.Slice:
		return goType{u.Elem(), g.fset}
	case *types.Array:
		return goType{u.Elem(), g.fset}
	case *types.Map:
		return goType{u.Elem(), g.fset}
	}
	return nil
}

func (g goType) NumField() int {
	if s, ok := g.under().(*types.Struct); ok {
		return s.NumFields()
	}
	return 0
}

func (g goType) Field(i int) FieldInfo {
	s := g.under().(*types.Struct)
	v := s.Field(i)
	fi := FieldInfo{
		Name:      v.Name(),
		Exported:  v.Exported(),
		Anonymous: v.Anonymous(),
		Tag:       reflect.StructTag(s.Tag(i)),
		Type:      goType{v.Type(), g.fset},
	}
	if g.fset != nil && v.Pos().IsValid() {
		fi.Pos = g.fset.Position(v.Pos()).String()
	}
	return fi
}

func (g goType) ID() any {
	// Named types are unique pointers within one type-checked program;
	// types.TypeString identifies unnamed struct literals.
	if n, ok := types.Unalias(g.t).(*types.Named); ok {
		return n
	}
	return types.TypeString(g.t, nil)
}

func (g goType) String() string { return types.TypeString(g.t, nil) }

// GoType returns the TypeInfo of t for use with Build; fset (may be nil)
// gives field positions for error messages.
func GoType(t types.Type, fset *token.FileSet) TypeInfo { return goType{t, fset} }

// FromGoType builds the schema of the named struct type t from go/types
// information, as the code generator sees it. Errors carry file:line:col.
func FromGoType(t *types.Named, fset *token.FileSet) (*Schema, error) {
	return Build(t.Obj().Name(), goType{t, fset})
}
