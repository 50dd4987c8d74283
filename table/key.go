package table

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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

// keyMap builds the DynamoDB key of k in scope s.
func (s Scope[T]) keyMap(k Key) (map[string]types.AttributeValue, error) {
	sch := s.t.schema
	pk := k.PK
	if s.t.pkIsTenant {
		if pk == nil {
			pk = S(s.tenant)
		} else if !scalarEqual(pk, S(s.tenant)) {
			return nil, fmt.Errorf("table: key's partition key is not the scope's tenant: %w", ErrWrongTenant)
		}
	} else if pk == nil {
		return nil, fmt.Errorf("table: key has no partition key (%s is not the tenant attribute)", sch.PartitionKey)
	}
	if !isKeyScalar(pk) {
		return nil, fmt.Errorf("table: partition key must be S, N or B")
	}
	m := map[string]types.AttributeValue{sch.PartitionKey: pk}
	if sch.SortKey != "" {
		if k.SK == nil || !isKeyScalar(k.SK) {
			return nil, fmt.Errorf("table: key needs a sort key (%s) of type S, N or B", sch.SortKey)
		}
		m[sch.SortKey] = k.SK
	} else if k.SK != nil {
		return nil, fmt.Errorf("table: key has a sort key but the table has none")
	}
	return m, nil
}

// keyOfItem extracts the primary key of an item.
func (t *Table[T]) keyOfItem(item map[string]types.AttributeValue) Key {
	k := Key{PK: item[t.schema.PartitionKey]}
	if t.schema.SortKey != "" {
		k.SK = item[t.schema.SortKey]
	}
	return k
}

// keyMapOfItem extracts the primary key attributes of an item.
func (t *Table[T]) keyMapOfItem(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{t.schema.PartitionKey: item[t.schema.PartitionKey]}
	if t.schema.SortKey != "" {
		m[t.schema.SortKey] = item[t.schema.SortKey]
	}
	return m
}

func isKeyScalar(v types.AttributeValue) bool {
	switch v.(type) {
	case *types.AttributeValueMemberS, *types.AttributeValueMemberN, *types.AttributeValueMemberB:
		return true
	}
	return false
}

func scalarEqual(a, b types.AttributeValue) bool {
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
func (t *Table[T]) keyString(item map[string]types.AttributeValue) string {
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
