package table

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// KeyOf builds a Key from Go values with attributevalue.Marshal (the
// reflection path). Pass nil for pk when the scope supplies the partition
// key (the partition key is the tenant), and nil for sk when the table has
// no sort key.
func KeyOf(pk, sk any) (Key, error) {
	var k Key
	var err error
	if pk != nil {
		if k.PK, err = attributevalue.Marshal(pk); err != nil {
			return Key{}, fmt.Errorf("table: partition key: %w", err)
		}
	}
	if sk != nil {
		if k.SK, err = attributevalue.Marshal(sk); err != nil {
			return Key{}, fmt.Errorf("table: sort key: %w", err)
		}
	}
	return k, nil
}

// SortKey returns the Key of a table whose partition key is the tenant
// attribute: the scope supplies the partition key.
func SortKey(sk types.AttributeValue) Key { return Key{SK: sk} }

// S is shorthand for a string attribute value.
func S(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// N is shorthand for a number attribute value.
func N(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// keyMap builds the DynamoDB key of k in scope s. Every part is checked
// before any call (ErrInvalidKey: missing, nil, empty, not S/N/B, not a
// number) and numbers are sent in canonical form, so "12.0" finds the item
// stored as 12. A key part that is the tenant attribute may be left nil:
// the scope supplies it (and a given one must be the scope's tenant).
func (s Scope[T]) keyMap(k Key) (map[string]types.AttributeValue, error) {
	sch := s.t.schema
	pk, err := s.keyPart(sch.PartitionKey, k.PK)
	if err != nil {
		return nil, err
	}
	m := map[string]types.AttributeValue{sch.PartitionKey: pk}
	if sch.SortKey != "" {
		sk, err := s.keyPart(sch.SortKey, k.SK)
		if err != nil {
			return nil, err
		}
		m[sch.SortKey] = sk
	} else if k.SK != nil {
		return nil, fmt.Errorf("%w: key has a sort key but the table has none", ErrInvalidKey)
	}
	return m, nil
}

// keyPart validates one part of a key in scope s.
func (s Scope[T]) keyPart(name string, v types.AttributeValue) (types.AttributeValue, error) {
	if name == s.t.schema.Tenant {
		if isNilValue(v) {
			return S(s.tenant), nil
		}
		if tv, ok := v.(*types.AttributeValueMemberS); !ok || tv.Value != s.tenant {
			return nil, fmt.Errorf("table: key's %s is not the scope's tenant: %w", name, ErrWrongTenant)
		}
		return v, nil
	}
	return keyValue(name, v)
}

// isNilValue reports a nil attribute value, typed or not.
func isNilValue(v types.AttributeValue) bool {
	switch x := v.(type) {
	case nil:
		return true
	case *types.AttributeValueMemberS:
		return x == nil
	case *types.AttributeValueMemberN:
		return x == nil
	case *types.AttributeValueMemberB:
		return x == nil
	}
	return false
}

// keyValue checks one key attribute value as DynamoDB would (S and B
// non-empty, N a valid number) and returns it with a number in canonical
// form. Errors wrap ErrInvalidKey and never contain the value.
func keyValue(name string, v types.AttributeValue) (types.AttributeValue, error) {
	if isNilValue(v) {
		return nil, fmt.Errorf("%w: key attribute %s is missing", ErrInvalidKey, name)
	}
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		if x.Value == "" {
			return nil, fmt.Errorf("%w: key attribute %s is an empty string", ErrInvalidKey, name)
		}
	case *types.AttributeValueMemberB:
		if len(x.Value) == 0 {
			return nil, fmt.Errorf("%w: key attribute %s is empty", ErrInvalidKey, name)
		}
	case *types.AttributeValueMemberN:
		c, err := attrcrypt.CanonicalNumber(x.Value)
		if err != nil {
			return nil, fmt.Errorf("%w: key attribute %s is not a valid number", ErrInvalidKey, name)
		}
		if c != x.Value {
			return &types.AttributeValueMemberN{Value: c}, nil
		}
	default:
		return nil, fmt.Errorf("%w: key attribute %s must be S, N or B", ErrInvalidKey, name)
	}
	return v, nil
}

// checkItemKey validates the primary key attributes of an item to write.
func (t *engine) checkItemKey(item map[string]types.AttributeValue) error {
	for _, name := range []string{t.schema.PartitionKey, t.schema.SortKey} {
		if name == "" {
			continue
		}
		if _, err := keyValue(name, item[name]); err != nil {
			return err
		}
	}
	return nil
}

// keyOfItem extracts the primary key of an item.
func (t *engine) keyOfItem(item map[string]types.AttributeValue) Key {
	k := Key{PK: item[t.schema.PartitionKey]}
	if t.schema.SortKey != "" {
		k.SK = item[t.schema.SortKey]
	}
	return k
}

// keyMapOfItem extracts the primary key attributes of an item.
func (t *engine) keyMapOfItem(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{t.schema.PartitionKey: item[t.schema.PartitionKey]}
	if t.schema.SortKey != "" {
		m[t.schema.SortKey] = item[t.schema.SortKey]
	}
	return m
}

func isKeyScalar(v types.AttributeValue) bool {
	switch v.(type) {
	case *types.AttributeValueMemberS, *types.AttributeValueMemberN, *types.AttributeValueMemberB:
		return !isNilValue(v)
	}
	return false
}

// scalarEqual compares two S, N or B values; a nil (typed or not) equals
// nothing.
func scalarEqual(a, b types.AttributeValue) bool {
	if isNilValue(a) || isNilValue(b) {
		return false
	}
	switch x := a.(type) {
	case *types.AttributeValueMemberS:
		y, ok := b.(*types.AttributeValueMemberS)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberN:
		y, ok := b.(*types.AttributeValueMemberN)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberB:
		y, ok := b.(*types.AttributeValueMemberB)
		return ok && bytes.Equal(x.Value, y.Value)
	}
	return false
}

// keyString is an unambiguous map key for the primary key of item.
func (t *engine) keyString(item map[string]types.AttributeValue) string {
	var b strings.Builder
	writeScalar(&b, item[t.schema.PartitionKey])
	if t.schema.SortKey != "" {
		writeScalar(&b, item[t.schema.SortKey])
	}
	return b.String()
}

func writeScalar(b *strings.Builder, v types.AttributeValue) {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		fmt.Fprintf(b, "S%d:%s", len(x.Value), x.Value)
	case *types.AttributeValueMemberN:
		fmt.Fprintf(b, "N%d:%s", len(x.Value), x.Value)
	case *types.AttributeValueMemberB:
		fmt.Fprintf(b, "B%d:%s", len(x.Value), x.Value)
	default:
		b.WriteString("?")
	}
}
