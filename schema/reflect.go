package schema

import (
	"reflect"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
)

var (
	timeType      = reflect.TypeOf(time.Time{})
	marshalerType = reflect.TypeFor[attributevalue.Marshaler]()
)

// reflectType adapts reflect.Type to TypeInfo.
type reflectType struct{ t reflect.Type }

func (r reflectType) Kind() Kind {
	switch r.t.Kind() {
	case reflect.String:
		return KindString
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return KindInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return KindUint
	case reflect.Float32, reflect.Float64:
		return KindFloat
	case reflect.Bool:
		return KindBool
	case reflect.Slice:
		if r.t.Elem().Kind() == reflect.Uint8 {
			return KindBytes
		}
		return KindSlice
	case reflect.Array:
		return KindArray
	case reflect.Struct:
		return KindStruct
	case reflect.Pointer:
		return KindPointer
	case reflect.Map:
		return KindMap
	case reflect.Interface:
		return KindInterface
	}
	return KindOther
}

// IsMarshaler reports whether T or *T implements attributevalue.Marshaler.
func (r reflectType) IsMarshaler() bool {
	return r.t.Implements(marshalerType) || reflect.PointerTo(r.t).Implements(marshalerType)
}

func (r reflectType) Named() bool    { return r.t.Name() != "" }
func (r reflectType) IsTime() bool   { return r.t == timeType }
func (r reflectType) Elem() TypeInfo { return reflectType{r.t.Elem()} }
func (r reflectType) NumField() int  { return r.t.NumField() }
func (r reflectType) ID() any        { return r.t }
func (r reflectType) String() string { return r.t.String() }

func (r reflectType) Field(i int) FieldInfo {
	sf := r.t.Field(i)
	return FieldInfo{
		Name:      sf.Name,
		Exported:  sf.IsExported(),
		Anonymous: sf.Anonymous,
		Tag:       sf.Tag,
		Type:      reflectType{sf.Type},
	}
}

// FromReflect builds the schema of struct type t (or *t) by reflection.
func FromReflect(t reflect.Type) (*Schema, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if cached, ok := reflectCache.Load(t); ok {
		return cached.(*Schema), nil
	}
	name := t.Name()
	if name == "" {
		name = t.String()
	}
	s, err := Build(name, reflectType{t})
	if err != nil {
		return nil, err
	}
	reflectCache.Store(t, s)
	return s, nil
}

var reflectCache sync.Map // reflect.Type -> *Schema

// For builds (once, then cached) the schema of the struct type T.
func For[T any]() (*Schema, error) {
	return FromReflect(reflect.TypeFor[T]())
}
