package table

import (
	"fmt"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/schema"
)

// ReflectCodec returns the reflection codec of T, built on attributevalue's
// MarshalMap and UnmarshalMap with their default options. It is the codec
// New uses unless WithCodec supplies another.
func ReflectCodec[T any]() Codec[T] { return reflectCodec[T]{} }

type reflectCodec[T any] struct{}

func (reflectCodec[T]) Marshal(v *T) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMap(v)
}

func (reflectCodec[T]) Unmarshal(item map[string]types.AttributeValue, v *T) error {
	return attributevalue.UnmarshalMap(item, v)
}

// versionSetter returns a function that sets T's version field through the
// schema's field path.
func versionSetter[T any](s *schema.Schema) (func(*T, int64), error) {
	if s.Version == "" {
		return func(*T, int64) {}, nil
	}
	a, _ := s.Attribute(s.Version)
	rt := reflect.TypeFor[T]()
	if rt.Kind() != reflect.Struct {
		return nil, fmt.Errorf("table: %s is not a struct; supply a Codec implementing Versioner", rt)
	}
	path := a.Path
	return func(v *T, version int64) {
		rv := reflect.ValueOf(v).Elem()
		for i, st := range path {
			rv = rv.Field(st.Index)
			if i == len(path)-1 {
				break
			}
			if rv.Kind() == reflect.Pointer {
				if rv.IsNil() {
					rv.Set(reflect.New(rv.Type().Elem()))
				}
				rv = rv.Elem()
			}
		}
		switch rv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			rv.SetInt(version)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			rv.SetUint(uint64(version))
		}
	}, nil
}
