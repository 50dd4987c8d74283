package schema

import "reflect"

// Kind classifies a Go type as far as the schema needs to know it.
type Kind uint8

// The kinds the schema distinguishes. time.Time reports KindStruct (that is
// how attributevalue's field walk sees it) and IsTime true. KindOther is a
// type attributevalue does not store at all (chan, func, complex,
// unsafe.Pointer, uintptr): it silently drops such values.
const (
	KindOther Kind = iota
	KindString
	KindInt
	KindUint
	KindFloat
	KindBool
	KindBytes
	KindStruct
	KindPointer
	KindSlice
	KindArray
	KindMap
	KindInterface
)

// TypeInfo is the view of a Go type that the schema walk needs. Adapters
// exist for reflect.Type (FromReflect) and go/types (FromGoType), so run
// time and the generator walk structs with the same code.
type TypeInfo interface {
	// Kind of the type's underlying type.
	Kind() Kind
	// Named reports whether the type has a name (reflect.Type.Name() != "").
	Named() bool
	// IsTime reports whether the type is time.Time.
	IsTime() bool
	// Elem is the element type of a pointer, slice, array or map.
	Elem() TypeInfo
	// NumField and Field describe a struct's fields in declaration order.
	NumField() int
	Field(i int) FieldInfo
	// ID is a comparable identity of the type (for cycle detection).
	ID() any
	// String is the type as Go source would spell it.
	String() string
}

// FieldInfo describes one struct field to the schema walk.
type FieldInfo struct {
	Name      string
	Exported  bool
	Anonymous bool
	Tag       reflect.StructTag
	Type      TypeInfo
	// Pos is "file:line:col" when known (go/types), for error messages.
	Pos string
}

// Step is one hop of the Go field path from the root struct to an
// attribute's field.
type Step struct {
	// Name is the Go field name; Index its position in its struct.
	Name  string
	Index int
	// Pointer is true when this hop's field is a pointer to the struct the
	// next hop reads (an embedded *T): nil means the attribute is absent on
	// marshal, and unmarshal must allocate it.
	Pointer bool
}
