package table_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/table"
)

// TestNilFunctionAndNilKeys: Update(k, nil) and typed-nil key values are
// errors, never panics, and nothing is sent.
func TestNilFunctionAndNilKeys(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, _ := patients(t, e)
	a := tb.For("tenant-a")
	if err := a.Create(ctx, &Patient{Tenant: "tenant-a", ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Update(ctx, sk("p1"), nil); err == nil {
		t.Fatal("Update(k, nil): no error")
	}
	if err := table.TransactWrite(ctx, e.c, a.TxUpdate(sk("p1"), nil)); err == nil {
		t.Fatal("TxUpdate(k, nil): no error")
	}
	nilS := table.Key{SK: (*types.AttributeValueMemberS)(nil)}
	if _, err := a.Get(ctx, nilS); !errors.Is(err, table.ErrInvalidKey) {
		t.Fatalf("Get with a typed-nil sort key: %v, want ErrInvalidKey", err)
	}
	if err := a.Delete(ctx, nilS, table.MustExist()); !errors.Is(err, table.ErrInvalidKey) {
		t.Fatalf("Delete with a typed-nil sort key: %v", err)
	}
	if _, err := a.BatchGet(ctx, []table.Key{sk("p1"), nilS}); !errors.Is(err, table.ErrInvalidKey) {
		t.Fatalf("BatchGet with a typed-nil sort key: %v", err)
	}
	// A typed-nil partition key where the scope supplies it is the scope's.
	if _, err := a.Get(ctx, table.Key{PK: (*types.AttributeValueMemberS)(nil), SK: table.S("p1")}); err != nil {
		t.Fatalf("typed-nil tenant partition key: %v", err)
	}
	dt, _ := docs(t, e)
	d := dt.For("org-a")
	for _, k := range []table.Key{
		{PK: (*types.AttributeValueMemberS)(nil), SK: table.S("x")},
		{PK: (*types.AttributeValueMemberN)(nil), SK: table.S("x")},
		{PK: table.S("x"), SK: (*types.AttributeValueMemberB)(nil)},
	} {
		if _, err := d.Get(ctx, k); !errors.Is(err, table.ErrInvalidKey) {
			t.Fatalf("Doc Get with typed-nil part: %v", err)
		}
		if _, err := d.Update(ctx, k, func(*Doc) error { return nil }); !errors.Is(err, table.ErrInvalidKey) {
			t.Fatalf("Doc Update with typed-nil part: %v", err)
		}
	}
	if _, err := d.QueryPage(ctx, table.QueryInput{Partition: (*types.AttributeValueMemberS)(nil)}); err == nil {
		t.Fatal("Query with a typed-nil partition: no error")
	}
	if _, err := a.QueryPage(ctx, table.QueryInput{Partition: (*types.AttributeValueMemberS)(nil)}); err != nil {
		t.Fatalf("Query with a typed-nil tenant partition: %v", err)
	}
}

// TestEmptyKeyRefusedBeforeTheCall: an empty key string is ErrInvalidKey,
// not DynamoDB's ValidationException.
func TestEmptyKeyRefusedBeforeTheCall(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, _ := patients(t, e)
	a := tb.For("tenant-a")
	if _, err := a.Get(ctx, sk("")); !errors.Is(err, table.ErrInvalidKey) {
		t.Fatalf("Get(\"\"): %v", err)
	}
	if err := a.Put(ctx, &Patient{Tenant: "tenant-a", ID: ""}); !errors.Is(err, table.ErrInvalidKey) {
		t.Fatalf("Put with an empty id: %v", err)
	}
	if err := a.Create(ctx, &Patient{Tenant: "tenant-a", ID: ""}); !errors.Is(err, table.ErrInvalidKey) {
		t.Fatalf("Create with an empty id: %v", err)
	}
	if err := a.Delete(ctx, sk("")); !errors.Is(err, table.ErrInvalidKey) {
		t.Fatalf("Delete(\"\"): %v", err)
	}
	dt, _ := docs(t, e)
	if _, err := dt.For("org-a").Get(ctx, table.Key{PK: table.S(""), SK: table.S("x")}); !errors.Is(err, table.ErrInvalidKey) {
		t.Fatalf("Doc Get with an empty partition key: %v", err)
	}
	if _, err := dt.For("org-a").Get(ctx, table.Key{PK: &types.AttributeValueMemberN{Value: "1e999"}, SK: table.S("x")}); !errors.Is(err, table.ErrInvalidKey) {
		t.Fatalf("Doc Get with an invalid number: %v", err)
	}
}

// TestBatchWriteInvalidItemDoesNotStopItsChunk: an invalid item among
// valid ones is reported alone; every valid item of the chunk is written.
func TestBatchWriteInvalidItemDoesNotStopItsChunk(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, _ := patients(t, e)
	a := tb.For("tenant-a")
	var puts []*Patient
	for i := range 10 {
		id := fmt.Sprint("p", i)
		if i == 4 {
			id = ""
		}
		puts = append(puts, &Patient{Tenant: "tenant-a", ID: id, Name: "n"})
	}
	err := a.BatchWrite(ctx, append(puts, nil), nil)
	var be *table.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 2 || len(be.Unprocessed) != 0 || be.Err != nil || !errors.Is(be.Failed[0].Err, table.ErrInvalidKey) {
		t.Fatalf("BatchWrite with one invalid item and a nil one: %v", err)
	}
	for i, p := range puts {
		if i == 4 {
			continue
		}
		if _, err := a.Get(ctx, sk(p.ID)); err != nil {
			t.Fatalf("valid item %s of the chunk: %v", p.ID, err)
		}
	}
}

// Deep has a signed document attribute; DynamoDB refuses documents nested
// deeper than it allows, after the item sealed.
// Tagged has a signed attribute that keys a global secondary index.
type Tagged struct {
	Tenant string `dynamodbav:"tenant" seal:"pk,tenant"`
	ID     string `dynamodbav:"id"     seal:"sk"`
	Tag    string `dynamodbav:"tag"`
}

// TestBatchWriteRefusedItemDoesNotStopItsChunk: DynamoDB refuses one item
// of a chunk that the sealer accepts (an empty string as an index key,
// which only DynamoDB knows is an index key); the chunk's other items are
// still written, and the refused one is reported as ErrInvalidItem.
func TestBatchWriteRefusedItemDoesNotStopItsChunk(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	name := createTable[Tagged](t, e, "tagged", func(in *dynamodb.CreateTableInput) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String("tag"), AttributeType: types.ScalarAttributeTypeS,
		})
		in.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{{
			IndexName:  aws.String("by-tag"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("tag"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}}
	})
	tb, err := table.New[Tagged](e.c, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	a := tb.For("tenant-a")
	puts := []*Tagged{{Tenant: "tenant-a", ID: "ok1", Tag: "x"}, {Tenant: "tenant-a", ID: "bad", Tag: ""}, {Tenant: "tenant-a", ID: "ok2", Tag: "y"}}
	err = a.BatchWrite(ctx, puts, nil)
	var be *table.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || be.Err != nil || !errors.Is(be.Failed[0].Err, table.ErrInvalidItem) {
		t.Fatalf("BatchWrite with an item DynamoDB refuses: %v", err)
	}
	for _, id := range []string{"ok1", "ok2"} {
		if _, err := a.Get(ctx, sk(id)); err != nil {
			t.Fatalf("valid item %s: %v", id, err)
		}
	}
	if _, err := a.Get(ctx, sk("bad")); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("refused item: %v, want ErrNotFound", err)
	}
}

// Reading has a numeric sort key.
type Reading struct {
	Tenant string `dynamodbav:"tenant" seal:"pk,tenant"`
	Seq    int64  `dynamodbav:"seq"    seal:"sk"`
	Value  string `dynamodbav:"value"  seal:"encrypt"`
}

// TestNumericKeysAreCanonicalised: "12.0", "1.2E1" and "+12" find the item
// stored under 12, through Get and BatchGet.
func TestNumericKeysAreCanonicalised(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	name := createTable[Reading](t, e, "readings", nil)
	tb, err := table.New[Reading](e.c, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	a := tb.For("tenant-a")
	if err := a.Put(ctx, &Reading{Tenant: "tenant-a", Seq: 12, Value: "v"}); err != nil {
		t.Fatal(err)
	}
	var keys []table.Key
	for _, spelling := range []string{"12", "12.0", "1.2E1", "+12", "12.000"} {
		k := table.SortKey(&types.AttributeValueMemberN{Value: spelling})
		keys = append(keys, k)
		if r, err := a.Get(ctx, k); err != nil || r.Seq != 12 {
			t.Fatalf("Get(%s): %v", spelling, err)
		}
	}
	got, err := a.BatchGet(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		if r == nil || r.Value != "v" {
			t.Fatalf("BatchGet key %d reported missing", i)
		}
	}
}

// Member: the tenant is the table's sort key.
type Member struct {
	Group  string `dynamodbav:"group"  seal:"pk"`
	Tenant string `dynamodbav:"tenant" seal:"sk,tenant"`
	Role   string `dynamodbav:"role"   seal:"encrypt"`
}

// TestTenantAsSortKey: a table, and an index, whose sort key is the tenant
// attribute: queries put the tenant into the key condition and return only
// the scope's items.
func TestTenantAsSortKey(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	name := createTable[Member](t, e, "members", nil)
	tb, err := table.New[Member](e.c, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, ten := range []string{"tenant-a", "tenant-b"} {
		if err := tb.For(ten).Put(ctx, &Member{Group: "g1", Tenant: ten, Role: "r-" + ten}); err != nil {
			t.Fatal(err)
		}
	}
	pg, err := tb.For("tenant-a").QueryPage(ctx, table.QueryInput{Partition: table.S("g1")})
	if err != nil {
		t.Fatalf("query on a table whose sort key is the tenant: %v", err)
	}
	if len(pg.Items) != 1 || pg.Items[0].Role != "r-tenant-a" {
		t.Fatalf("got %d items", len(pg.Items))
	}
	if m, err := tb.For("tenant-b").Get(ctx, table.Key{PK: table.S("g1")}); err != nil || m.Role != "r-tenant-b" {
		t.Fatalf("Get with the tenant sort key from the scope: %v", err)
	}

	dname := createTable[Doc](t, e, "docs", func(in *dynamodbCreateTableInput) {
		in.AttributeDefinitions = append(in.AttributeDefinitions,
			types.AttributeDefinition{AttributeName: strp("tag"), AttributeType: types.ScalarAttributeTypeS},
			types.AttributeDefinition{AttributeName: strp("org"), AttributeType: types.ScalarAttributeTypeS})
		in.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{{
			IndexName:  strp("by-tag-org"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: strp("tag"), KeyType: types.KeyTypeHash}, {AttributeName: strp("org"), KeyType: types.KeyTypeRange}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}}
	})
	dt, err := table.New[Doc](e.c, dname, e.rec, table.WithIndex(table.Index{Name: "by-tag-org", PartitionKey: "tag", SortKey: "org", Projection: types.ProjectionTypeAll}))
	if err != nil {
		t.Fatal(err)
	}
	for _, org := range []string{"org-a", "org-b"} {
		if err := dt.For(org).Put(ctx, &Doc{PK: "p-" + org, SK: "s", Org: org, Body: "b-" + org, Tag: "t1"}); err != nil {
			t.Fatal(err)
		}
	}
	pd, err := dt.For("org-b").QueryPage(ctx, table.QueryInput{Index: "by-tag-org", Partition: table.S("t1")})
	if err != nil {
		t.Fatalf("query on an index whose sort key is the tenant: %v", err)
	}
	if len(pd.Items) != 1 || pd.Items[0].Body != "b-org-b" {
		t.Fatalf("index query: %d items", len(pd.Items))
	}
}
