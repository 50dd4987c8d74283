package table

import (
	"errors"
	"fmt"
	"reflect"
	"sort"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/schema"
)

// ReflectCodec returns the reflection codec of T, built on attributevalue's
// MarshalMap and UnmarshalMap with their default options. It is the codec
// New uses unless WithCodec supplies another. Its errors never quote a
// value: attributevalue's (`cannot unmarshal "..." into time.Time`) are
// replaced by ErrDecode naming the attribute and the Go type only.
func ReflectCodec[T any]() Codec[T] { return reflectCodec[T]{} }

type reflectCodec[T any] struct{}

func (reflectCodec[T]) Marshal(v *T) (map[string]types.AttributeValue, error) {
	m, err := attributevalue.MarshalMap(v)
	if err != nil {
		// attributevalue's text, or a custom Marshaler's, may quote the value.
		return nil, fmt.Errorf("table: attributevalue cannot encode the item (%T)", err)
	}
	return m, nil
}

func (reflectCodec[T]) Unmarshal(item map[string]types.AttributeValue, v *T) error {
	err := attributevalue.UnmarshalMap(item, v)
	if err == nil {
		return nil
	}
	// Error path only: decode one attribute at a time into a scratch value
	// to name the attribute that does not fit, without its value.
	names := make([]string, 0, len(item))
	for name := range item {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if attributevalue.UnmarshalMap(map[string]types.AttributeValue{name: item[name]}, new(T)) != nil {
			return scrubDecodeError(name, err)
		}
	}
	return scrubDecodeError("", err)
}

// scrubDecodeError replaces an attributevalue error, whose text may quote
// the value (an unparsable time, a number that overflows), by ErrDecode
// with the attribute name and the Go type only.
func scrubDecodeError(attr string, err error) error {
	var (
		te *attributevalue.UnmarshalTypeError
		ue *attributevalue.UnmarshalError
		ie *attributevalue.InvalidUnmarshalError
	)
	goType := ""
	switch {
	case errors.As(err, &te):
		goType = fmt.Sprint(te.Type)
	case errors.As(err, &ue):
		goType = fmt.Sprint(ue.Type)
	case errors.As(err, &ie):
		goType = fmt.Sprint(ie.Type)
	}
	msg := "table: decode"
	if attr != "" {
		msg += fmt.Sprintf(" attribute %q", attr)
	}
	if goType != "" {
		msg += " (Go type " + goType + ")"
	}
	return fmt.Errorf("%s: %w", msg, ErrDecode)
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
		rv := fieldAt(reflect.ValueOf(v).Elem(), path)
		switch rv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			rv.SetInt(version)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			rv.SetUint(uint64(version))
		}
	}, nil
}

// tenantSetter returns a function that sets T's tenant field (a string)
// through the schema's field path, or nil when T is not a struct.
func tenantSetter[T any](s *schema.Schema) func(*T, string) {
	a, ok := s.Attribute(s.Tenant)
	if !ok || reflect.TypeFor[T]().Kind() != reflect.Struct {
		return nil
	}
	path := a.Path
	return func(v *T, tenant string) {
		rv := fieldAt(reflect.ValueOf(v).Elem(), path)
		switch {
		case rv.Kind() == reflect.String:
			rv.SetString(tenant)
		case rv.Kind() == reflect.Pointer && rv.Type().Elem().Kind() == reflect.String:
			p := reflect.New(rv.Type().Elem())
			p.Elem().SetString(tenant)
			rv.Set(p)
		}
	}
}

// fieldAt follows a schema field path from the struct rv, allocating nil
// embedded struct pointers on the way, and returns the field.
func fieldAt(rv reflect.Value, path []schema.Step) reflect.Value {
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
	return rv
}
