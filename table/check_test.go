package table_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/table"
)

// checkIndexes are the indexes the Check tests declare on Patient.
var checkIndexes = []table.Index{
	{Name: "by-status", PartitionKey: "status", SortKey: "id", Projection: types.ProjectionTypeAll},
	{Name: "by-status-inc", PartitionKey: "status", Projection: types.ProjectionTypeInclude, Include: []string{"plan"}},
}

// gsi builds a GSI of the Check tests.
func gsi(name, hash, rng string, p types.Projection) types.GlobalSecondaryIndex {
	g := types.GlobalSecondaryIndex{IndexName: aws.String(name), Projection: &p,
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}}}
	if rng != "" {
		g.KeySchema = append(g.KeySchema, types.KeySchemaElement{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange})
	}
	return g
}

// matchingIndexes adds the tables' GSIs as checkIndexes declares them.
func matchingIndexes(in *dynamodb.CreateTableInput) {
	in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String("status"), AttributeType: types.ScalarAttributeTypeS})
	in.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{
		gsi("by-status", "status", "id", types.Projection{ProjectionType: types.ProjectionTypeAll}),
		gsi("by-status-inc", "status", "", types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: []string{"plan", "count"}}),
	}
}

// TestCheck: Check accepts a table built as the schema and the WithIndex
// declarations say, and reports each difference of a mismatched table
// (key names, key types, missing sort key, missing index, index keys,
// projection, INCLUDE attributes) with ErrTableMismatch, one message each.
func TestCheck(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	opts := []table.Option{}
	for _, ix := range checkIndexes {
		opts = append(opts, table.WithIndex(ix))
	}
	check := func(t *testing.T, mod func(*dynamodb.CreateTableInput)) error {
		t.Helper()
		name := createTable[Patient](t, e, "check", mod)
		tb, err := table.New[Patient](e.c, name, e.rec, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return tb.Check(ctx)
	}
	t.Run("Match", func(t *testing.T) {
		if err := check(t, matchingIndexes); err != nil {
			t.Fatalf("matching table: %v", err)
		}
	})
	cases := []struct {
		name string
		mod  func(*dynamodb.CreateTableInput)
		want []string // one substring per expected mismatch
	}{
		{"WrongPartitionKey", func(in *dynamodb.CreateTableInput) {
			matchingIndexes(in)
			in.KeySchema[0].AttributeName = aws.String("org")
			in.AttributeDefinitions[0].AttributeName = aws.String("org")
		}, []string{`partition (HASH) key "org"; the schema expects "tenant"`}},
		{"SortKeyType", func(in *dynamodb.CreateTableInput) {
			matchingIndexes(in)
			in.AttributeDefinitions[1].AttributeType = types.ScalarAttributeTypeN
		}, []string{`table sort (RANGE) key "id" has type N; the schema stores it as S`, `index "by-status" sort (RANGE) key "id" has type N`}},
		{"NoSortKey", func(in *dynamodb.CreateTableInput) {
			in.KeySchema = in.KeySchema[:1]
			in.AttributeDefinitions = in.AttributeDefinitions[:1]
			matchingIndexes(in)
			in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS})
		}, []string{`table has no sort (RANGE) key; the schema expects "id"`}},
		{"MissingIndex", func(in *dynamodb.CreateTableInput) {
			matchingIndexes(in)
			in.GlobalSecondaryIndexes = in.GlobalSecondaryIndexes[1:]
		}, []string{`index "by-status" is declared but the table has no such index`}},
		{"IndexKeys", func(in *dynamodb.CreateTableInput) {
			matchingIndexes(in)
			in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String("plan"), AttributeType: types.ScalarAttributeTypeS})
			in.GlobalSecondaryIndexes[0] = gsi("by-status", "plan", "", types.Projection{ProjectionType: types.ProjectionTypeAll})
		}, []string{`index "by-status" has partition (HASH) key "plan"; the schema expects "status"`, `index "by-status" has no sort (RANGE) key; the schema expects "id"`}},
		{"IndexKeyType", func(in *dynamodb.CreateTableInput) {
			matchingIndexes(in)
			in.AttributeDefinitions[len(in.AttributeDefinitions)-1].AttributeType = types.ScalarAttributeTypeB
		}, []string{`index "by-status" partition (HASH) key "status" has type B`, `index "by-status-inc" partition (HASH) key "status" has type B`}},
		{"Projection", func(in *dynamodb.CreateTableInput) {
			matchingIndexes(in)
			in.GlobalSecondaryIndexes[0].Projection = &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}
			in.GlobalSecondaryIndexes[1].Projection = &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: []string{"count"}}
		}, []string{`index "by-status" projects KEYS_ONLY, the handle declares ALL`, `index "by-status-inc" does not project "plan"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := check(t, c.mod)
			if !errors.Is(err, table.ErrTableMismatch) {
				t.Fatalf("%v, want ErrTableMismatch", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(c.want) {
				t.Fatalf("%d mismatches reported, want %d:\n%v", len(lines), len(c.want), err)
			}
			for i, w := range c.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("mismatch %d: %q, want it to contain %q", i, lines[i], w)
				}
			}
		})
	}
	t.Run("NoTable", func(t *testing.T) {
		tb, err := table.New[Patient](e.c, "no-such-table-check", e.rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := tb.Check(ctx); !errors.Is(err, table.ErrNoTable) || errors.Is(err, table.ErrTableMismatch) {
			t.Fatalf("%v, want ErrNoTable", err)
		}
	})
}
