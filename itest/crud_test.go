package itest_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/itest"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": s(pk), "sk": s(sk)}
}

// TestItemLifecycle drives the operations the table layer builds on through
// the real SDK: put, get, query, batch write, batch get, delete.
func TestItemLifecycle(t *testing.T) {
	c := itest.DynamoDB(t)
	table := itest.NewKeyValueTable(t, c)
	ctx := t.Context()

	// Put and Get.
	item := key("tenant-1", "a")
	item["name"] = s("Ada")
	item["n"] = n("42")
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: key("tenant-1", "a"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Item["name"].(*types.AttributeValueMemberS).Value; v != "Ada" {
		t.Errorf("name = %q, want Ada", v)
	}
	if len(got.Item) != 4 {
		t.Errorf("got %d attributes, want 4: %v", len(got.Item), got.Item)
	}

	// Batch write 30 items over two tenants: more than one request holds (25).
	var writes []types.WriteRequest
	for i := range 30 {
		tenant := "tenant-" + fmt.Sprint(1+i%2)
		writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{
			Item: map[string]types.AttributeValue{"pk": s(tenant), "sk": s(fmt.Sprintf("item-%02d", i)), "i": n(fmt.Sprint(i))},
		}})
	}
	for chunk := range slices.Chunk(writes, 25) {
		batchWrite(ctx, t, c, table, chunk)
	}

	// Query one tenant's items with a sort-key condition, in pages of 4.
	var sks []string
	p := dynamodb.NewQueryPaginator(c, &dynamodb.QueryInput{
		TableName:              &table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": s("tenant-2"), ":prefix": s("item-"),
		},
		Limit: aws.Int32(4),
	})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range out.Items {
			sks = append(sks, it["sk"].(*types.AttributeValueMemberS).Value)
		}
	}
	var want []string
	for i := 1; i < 30; i += 2 {
		want = append(want, fmt.Sprintf("item-%02d", i))
	}
	if !slices.Equal(sks, want) {
		t.Errorf("query tenant-2 = %v, want %v (sorted by sort key)", sks, want)
	}
	if pages < 4 {
		t.Errorf("query took %d pages of 4 for 15 items, want at least 4", pages)
	}

	// Batch get three items, one of which does not exist.
	bg, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		table: {Keys: []map[string]types.AttributeValue{key("tenant-1", "a"), key("tenant-1", "item-00"), key("tenant-1", "missing")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(bg.UnprocessedKeys) != 0 {
		t.Errorf("unprocessed keys from DynamoDB Local: %v", bg.UnprocessedKeys)
	}
	var gotKeys []string
	for _, it := range bg.Responses[table] {
		gotKeys = append(gotKeys, it["sk"].(*types.AttributeValueMemberS).Value)
	}
	slices.Sort(gotKeys)
	if !slices.Equal(gotKeys, []string{"a", "item-00"}) {
		t.Errorf("batch get returned %v, want [a item-00]", gotKeys)
	}

	// Delete, then Get finds nothing.
	if _, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &table, Key: key("tenant-1", "a")}); err != nil {
		t.Fatal(err)
	}
	got, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: key("tenant-1", "a"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Item != nil {
		t.Errorf("item still there after delete: %v", got.Item)
	}

	// Batch delete the rest; the table ends empty.
	var deletes []types.WriteRequest
	for _, w := range writes {
		deletes = append(deletes, types.WriteRequest{DeleteRequest: &types.DeleteRequest{
			Key: map[string]types.AttributeValue{"pk": w.PutRequest.Item["pk"], "sk": w.PutRequest.Item["sk"]},
		}})
	}
	for chunk := range slices.Chunk(deletes, 25) {
		batchWrite(ctx, t, c, table, chunk)
	}
	scan, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: &table, Select: types.SelectCount})
	if err != nil {
		t.Fatal(err)
	}
	if scan.Count != 0 {
		t.Errorf("table holds %d items after deleting all", scan.Count)
	}
}

func batchWrite(ctx context.Context, t *testing.T, c *dynamodb.Client, table string, reqs []types.WriteRequest) {
	t.Helper()
	out, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs}})
	if err != nil {
		t.Fatal(err)
	}
	// DynamoDB Local does not throttle; an unprocessed item here is a bug.
	if n := len(out.UnprocessedItems[table]); n != 0 {
		t.Fatalf("%d unprocessed items", n)
	}
}

// TestNewTableNames checks that tables get unique names with the caller's
// prefix and that the caller's input is left alone.
func TestNewTableNames(t *testing.T) {
	c := itest.DynamoDB(t)
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String("prefix"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	}
	a, b := itest.NewTable(t, c, in), itest.NewTable(t, c, in)
	if a == b {
		t.Errorf("two tables named %s", a)
	}
	for _, name := range []string{a, b} {
		if len(name) < len("prefix-") || name[:len("prefix-")] != "prefix-" {
			t.Errorf("table %s lacks the prefix", name)
		}
		out, err := c.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Table.TableStatus != types.TableStatusActive {
			t.Errorf("%s is %s", name, out.Table.TableStatus)
		}
		if bm := out.Table.BillingModeSummary; bm == nil || bm.BillingMode != types.BillingModePayPerRequest {
			t.Errorf("%s billing mode %+v, want PAY_PER_REQUEST", name, bm)
		}
	}
	if *in.TableName != "prefix" || in.BillingMode != "" {
		t.Errorf("NewTable modified its input: %+v", in)
	}
}
