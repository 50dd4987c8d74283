package table

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/schema"
)

// ErrTableMismatch: the DynamoDB table's key schema, or an index declared
// with WithIndex, differs from what the item type's schema and the table's
// options expect (Check).
var ErrTableMismatch = errors.New("table: DynamoDB table does not match the schema")

// TableDescriber is the DescribeTable call Check needs; *dynamodb.Client
// implements it. It is not part of Client, so that existing Client
// implementations stay valid.
type TableDescriber interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// Check describes the table (DescribeTable) and compares it with what the
// item type's schema and the WithIndex declarations expect: the table's
// partition and sort key names and types, and for each declared index that
// it exists, its HASH and RANGE key names and types, its projection type
// and, for INCLUDE, that it projects every declared Include attribute
// (projecting more is fine). Indexes the table has but the handle does not
// declare are ignored. A difference is an error matching ErrTableMismatch,
// one line per mismatch (errors.Join); a failed DescribeTable is a
// *DynamoDBError (ErrNoTable when the table does not exist). The client must
// implement TableDescriber. Call it at start-up, or in a deployment test.
func (t *Table[T]) Check(ctx context.Context) error {
	d, ok := t.client.(TableDescriber)
	if !ok {
		return fmt.Errorf("table: Check: the client (%T) has no DescribeTable method", t.client)
	}
	out, err := d.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.name)})
	if err != nil {
		return fmt.Errorf("table: check: %w", ddbError("DescribeTable", err))
	}
	if out.Table == nil {
		return fmt.Errorf("table: check: DescribeTable returned no table: %w", ErrNoTable)
	}
	return errors.Join(t.mismatches(out.Table)...)
}

// mismatches lists every difference between desc and the handle's
// expectations, each wrapping ErrTableMismatch.
func (t *Table[T]) mismatches(desc *types.TableDescription) []error {
	attrTypes := map[string]types.ScalarAttributeType{}
	for _, ad := range desc.AttributeDefinitions {
		attrTypes[aws.ToString(ad.AttributeName)] = ad.AttributeType
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: table %q: %s", ErrTableMismatch, t.name, fmt.Sprintf(format, args...)))
	}
	sch := t.schema
	keyDiffs(sch, "table", desc.KeySchema, attrTypes, sch.PartitionKey, sch.SortKey, bad)
	names := make([]string, 0, len(t.indexes))
	for name := range t.indexes {
		names = append(names, name)
	}
	slices.Sort(names) // one order for the messages
	for _, name := range names {
		ix := t.indexes[name]
		ks, proj, found := describedIndex(desc, name)
		if !found {
			bad("index %q is declared but the table has no such index", name)
			continue
		}
		where := fmt.Sprintf("index %q", name)
		keyDiffs(sch, where, ks, attrTypes, ix.PartitionKey, ix.SortKey, bad)
		got := projectionType(proj)
		if got != ix.Projection {
			bad("%s projects %s, the handle declares %s", where, got, ix.Projection)
			continue
		}
		if ix.Projection == types.ProjectionTypeInclude && proj != nil {
			for _, a := range ix.Include {
				if !slices.Contains(proj.NonKeyAttributes, a) {
					bad("%s does not project %q, which the handle declares in Include", where, a)
				}
			}
		}
	}
	return errs
}

// projectionType is the projection type of p ("" when none).
func projectionType(p *types.Projection) types.ProjectionType {
	if p == nil {
		return ""
	}
	return p.ProjectionType
}

// describedIndex finds the global or local secondary index name in desc.
func describedIndex(desc *types.TableDescription, name string) ([]types.KeySchemaElement, *types.Projection, bool) {
	for _, g := range desc.GlobalSecondaryIndexes {
		if aws.ToString(g.IndexName) == name {
			return g.KeySchema, g.Projection, true
		}
	}
	for _, l := range desc.LocalSecondaryIndexes {
		if aws.ToString(l.IndexName) == name {
			return l.KeySchema, l.Projection, true
		}
	}
	return nil, nil, false
}

// keyDiffs compares a described key schema (with the table's attribute
// types) with the expected HASH attribute pk and RANGE attribute sk ("" for
// none), and reports each difference through bad.
func keyDiffs(sch *schema.Schema, where string, ks []types.KeySchemaElement, attrTypes map[string]types.ScalarAttributeType, pk, sk string, bad func(string, ...any)) {
	var hash, rng string
	for _, k := range ks {
		switch k.KeyType {
		case types.KeyTypeHash:
			hash = aws.ToString(k.AttributeName)
		case types.KeyTypeRange:
			rng = aws.ToString(k.AttributeName)
		}
	}
	for _, want := range []struct {
		role, want, got string
	}{{"partition (HASH) key", pk, hash}, {"sort (RANGE) key", sk, rng}} {
		switch {
		case want.want == want.got && want.want == "":
		case want.got == "":
			bad("%s has no %s; the schema expects %q", where, want.role, want.want)
		case want.want == "":
			bad("%s has %s %q; the schema expects none", where, want.role, want.got)
		case want.want != want.got:
			bad("%s has %s %q; the schema expects %q", where, want.role, want.got, want.want)
		default:
			exp, got := attrKeyType(sch, want.want), attrTypes[want.got]
			if exp != "" && got != exp {
				bad("%s %s %q has type %s; the schema stores it as %s", where, want.role, want.got, got, exp)
			}
		}
	}
}

// attrKeyType is the DynamoDB scalar type attribute name is stored as
// (through pointers), or "" when the schema does not say.
func attrKeyType(sch *schema.Schema, name string) types.ScalarAttributeType {
	if derivedKey(sch, name) {
		return types.ScalarAttributeTypeS // beacons and compounds are strings
	}
	if kt := sch.KeyType(name); kt != "" {
		return kt
	}
	a, ok := sch.Attribute(name)
	if !ok {
		return ""
	}
	t := a.Type
	for t.Kind() == schema.KindPointer {
		t = t.Elem()
	}
	switch {
	case t.IsTime() && a.Dynamo.AsUnixTime:
		return types.ScalarAttributeTypeN
	case t.IsTime(), t.Kind() == schema.KindString:
		return types.ScalarAttributeTypeS
	case t.Kind() == schema.KindBytes:
		return types.ScalarAttributeTypeB
	case t.Kind() == schema.KindInt, t.Kind() == schema.KindUint, t.Kind() == schema.KindFloat:
		if a.Dynamo.AsString {
			return types.ScalarAttributeTypeS
		}
		return types.ScalarAttributeTypeN
	}
	return ""
}
