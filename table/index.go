package table

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/schema"
)

// ErrInvalidIndex: an index declared with WithIndex cannot work with the
// item type's schema (see checkIndex); New refuses it.
var ErrInvalidIndex = errors.New("table: invalid index declaration")

// checkIndex validates an index declared with WithIndex against the schema,
// so that a mistake surfaces at New with the index and attribute named,
// not as DynamoDB's ValidationException on the first write:
//
//   - an index key must be an attribute of the schema, stored as a scalar
//     (S, N or B);
//   - it must not be encrypted: DynamoDB would index the ciphertext, which
//     no query can match. Signed (the default) and plain attributes may be
//     index keys; a plain key is not covered by the signature, so a writer
//     with table access can move an item within the index, but every item
//     a query returns is still verified and tenant checked;
//   - an index key whose Go value can be empty (a string, []byte or a
//     pointer) needs omitempty in its dynamodbav tag: DynamoDB rejects an
//     empty string or binary, or a NULL, as an index key, and with
//     omitempty an empty value leaves the attribute out, so the item is
//     simply not in the (sparse) index. The table's own keys and the tenant
//     attribute are exempt: a write never stores them empty.
func checkIndex(s *schema.Schema, ix Index) error {
	if ix.Name == "" || ix.PartitionKey == "" {
		return fmt.Errorf("%w: WithIndex needs a name and a partition key", ErrInvalidIndex)
	}
	switch ix.Projection {
	case types.ProjectionTypeAll, types.ProjectionTypeKeysOnly, types.ProjectionTypeInclude:
	default:
		return fmt.Errorf("%w: index %q: unknown projection %q", ErrInvalidIndex, ix.Name, ix.Projection)
	}
	var errs []error
	for _, name := range []string{ix.PartitionKey, ix.SortKey} {
		if name == "" {
			continue
		}
		if msg := indexKeyProblem(s, name); msg != "" {
			errs = append(errs, fmt.Errorf("%w: index %q: key attribute %q %s", ErrInvalidIndex, ix.Name, name, msg))
		}
	}
	return errors.Join(errs...)
}

// indexKeyProblem says what is wrong with attribute name as an index key,
// or "". A beacon or compound beacon of the schema is a good key: the
// engine writes it as a signed string on every item that has its sources.
func indexKeyProblem(s *schema.Schema, name string) string {
	if derivedKey(s, name) {
		return ""
	}
	a, ok := s.Attribute(name)
	if !ok {
		return "is not an attribute of " + s.TypeName
	}
	if a.Action == attrcrypt.ActionEncrypt {
		return `is encrypted (seal:"encrypt"): DynamoDB would index its ciphertext; make it signed (the default) or seal:"plain"`
	}
	t, ptr := a.Type, false
	for t.Kind() == schema.KindPointer {
		t, ptr = t.Elem(), true
	}
	if attrKeyType(s, name) == "" {
		return fmt.Sprintf("has Go type %s, which is not stored as a string, number or binary", a.Type)
	}
	if a.PartitionKey || a.SortKey || a.Tenant || a.Dynamo.OmitEmpty {
		return ""
	}
	if ptr || t.Kind() == schema.KindString || t.Kind() == schema.KindBytes {
		return fmt.Sprintf("(field %s, type %s) can be empty and DynamoDB rejects an empty index key: add omitempty to its dynamodbav tag (`dynamodbav:\"%s,omitempty\"`)", a.Field, a.Type, name)
	}
	return ""
}

// addIndexes registers the indexes the schema declares (projection ALL)
// and those of WithIndex, in that order, after checking that no compound
// beacon has a plain part. A WithIndex of an index the
// schema declares must agree with it (keys and projection ALL), or New
// fails with ErrInvalidIndex.
func (t *Table[T]) addIndexes(declared []Index) error {
	for _, c := range t.schema.Compounds {
		for _, p := range c.Parts {
			if a, ok := t.schema.Attribute(p); ok && a.Action == attrcrypt.ActionPlain {
				// SetPlain and AddToCounter change a plain attribute
				// without a re-seal, which would leave the compound stale.
				return fmt.Errorf("%w: compound %q: part %q is plain (seal:\"plain\"); a compound part must be signed or have a beacon", ErrInvalidIndex, c.Attribute, p)
			}
		}
	}
	for _, six := range t.schema.Indexes {
		ix := Index{Name: six.Name, PartitionKey: six.PartitionKey, SortKey: six.SortKey, Projection: types.ProjectionTypeAll}
		if err := checkIndex(t.schema, ix); err != nil {
			return err
		}
		t.indexes[ix.Name] = ix
		t.indexOrder = append(t.indexOrder, ix.Name)
	}
	for _, ix := range declared {
		if err := checkIndex(t.schema, ix); err != nil {
			return err
		}
		if six, ok := t.schema.IndexNamed(ix.Name); ok {
			if ix.PartitionKey != six.PartitionKey || ix.SortKey != six.SortKey || ix.Projection != types.ProjectionTypeAll {
				return fmt.Errorf("%w: WithIndex(%q) differs from the index the schema declares (keys %s/%s, projection ALL)", ErrInvalidIndex, ix.Name, six.PartitionKey, six.SortKey)
			}
			continue
		}
		if _, dup := t.indexes[ix.Name]; !dup {
			t.indexOrder = append(t.indexOrder, ix.Name)
		}
		t.indexes[ix.Name] = ix
	}
	return nil
}
