// Package streamtest reads the DynamoDB Streams of tables in DynamoDB Local
// for the tests of package streams and its Lambda adapter: it creates a
// table with a stream and returns the records GetRecords delivers, through
// the real dynamodbstreams client.
package streamtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// Env is one test's DynamoDB and DynamoDB Streams clients, both on the
// shared DynamoDB Local.
type Env struct {
	DB      *dynamodb.Client
	Streams *dynamodbstreams.Client
}

// New returns the clients of the shared DynamoDB Local (skipping or failing
// the test as itest.Endpoint does when it cannot start).
func New(t testing.TB) *Env {
	t.Helper()
	ep := itest.Endpoint(t)
	return &Env{
		DB: itest.NewDynamoDBClient(ep),
		Streams: dynamodbstreams.New(dynamodbstreams.Options{
			Region:       "us-east-1",
			BaseEndpoint: aws.String(ep),
			Credentials:  credentials.NewStaticCredentialsProvider("dynaseal", "dynaseal", ""),
		}),
	}
}

// Table creates a table for s named prefix-<uuid> with a stream of the
// given view type, deleted when the test ends, and returns its name and
// stream ARN.
func (e *Env) Table(t testing.TB, s *schema.Schema, prefix string, view ddbtypes.StreamViewType) (string, string) {
	t.Helper()
	in := s.CreateTableInput(prefix)
	in.StreamSpecification = &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: view}
	name := itest.NewTable(t, e.DB, in)
	return name, e.streamARN(t, name)
}

// NewTable creates a table for T (its schema's keys) with a stream of the
// given view type and returns a handle on it built with keys and opts, and
// the stream ARN.
func NewTable[T any](t testing.TB, e *Env, keys tenantkeys.Provider, view ddbtypes.StreamViewType, opts ...table.Option) (*table.Table[T], string) {
	t.Helper()
	s, err := schema.For[T]()
	if err != nil {
		t.Fatal(err)
	}
	name, arn := e.Table(t, s, "streams", view)
	tb, err := table.New[T](e.DB, name, keys, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tb, arn
}

// KeyValueTable creates a table keyed by "pk" and "sk" (both S) with a
// NEW_AND_OLD_IMAGES stream, for items written without dynaseal, and
// returns its name and stream ARN.
func (e *Env) KeyValueTable(t testing.TB) (string, string) {
	t.Helper()
	in := &dynamodb.CreateTableInput{
		TableName: aws.String("kv"),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange},
		},
		StreamSpecification: &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeNewAndOldImages},
	}
	name := itest.NewTable(t, e.DB, in)
	return name, e.streamARN(t, name)
}

func (e *Env) streamARN(t testing.TB, name string) string {
	t.Helper()
	out, err := e.DB.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.Table.LatestStreamArn)
	if arn == "" {
		t.Fatalf("table %s has no stream", name)
	}
	return arn
}

// AllTypes is an item keyed "pk" = "k", "sk" = "1" with every DynamoDB
// type, nested in lists and maps.
func AllTypes() map[string]ddbtypes.AttributeValue {
	scalars := func() map[string]ddbtypes.AttributeValue {
		return map[string]ddbtypes.AttributeValue{
			"s":     &ddbtypes.AttributeValueMemberS{Value: "text"},
			"n":     &ddbtypes.AttributeValueMemberN{Value: "-12.5"},
			"b":     &ddbtypes.AttributeValueMemberB{Value: []byte{0, 1, 2, 255}},
			"bool":  &ddbtypes.AttributeValueMemberBOOL{Value: true},
			"null":  &ddbtypes.AttributeValueMemberNULL{Value: true},
			"ss":    &ddbtypes.AttributeValueMemberSS{Value: []string{"a", "b"}},
			"ns":    &ddbtypes.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
			"bs":    &ddbtypes.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}},
			"empty": &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{}},
		}
	}
	item := scalars()
	item["pk"] = &ddbtypes.AttributeValueMemberS{Value: "k"}
	item["sk"] = &ddbtypes.AttributeValueMemberS{Value: "1"}
	inner := scalars()
	inner["deeper"] = &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{&ddbtypes.AttributeValueMemberM{Value: scalars()}}}
	item["m"] = &ddbtypes.AttributeValueMemberM{Value: inner}
	item["l"] = &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{
		&ddbtypes.AttributeValueMemberS{Value: "x"}, &ddbtypes.AttributeValueMemberM{Value: scalars()},
		&ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{&ddbtypes.AttributeValueMemberNULL{Value: true}}},
	}}
	return item
}

// NewStore is an in-memory key store that creates keys on first use,
// under a fresh random master key.
func NewStore(t testing.TB) *tenantkeys.Store {
	t.Helper()
	var mk [32]byte
	if _, err := rand.Read(mk[:]); err != nil {
		t.Fatal(err)
	}
	kr, err := tenantkeys.ParseKeyring([]byte("m1 " + hex.EncodeToString(mk[:])))
	if err != nil {
		t.Fatal(err)
	}
	return tenantkeys.NewMemoryStore(kr, tenantkeys.WithCreateOnFirstUse(true))
}

// Records reads the stream from the start of every shard until it has
// returned want records (or fails the test after 30 s), in shard order.
func (e *Env) Records(t testing.TB, arn string, want int) []types.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iters := map[string]*string{} // shard id -> next iterator
	var order []string
	var recs []types.Record
	for len(recs) < want {
		d, err := e.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("describe stream: %v", err)
		}
		for _, sh := range d.StreamDescription.Shards {
			id := aws.ToString(sh.ShardId)
			if _, ok := iters[id]; ok {
				continue
			}
			it, err := e.Streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
				StreamArn: aws.String(arn), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
			})
			if err != nil {
				t.Fatalf("shard iterator: %v", err)
			}
			iters[id] = it.ShardIterator
			order = append(order, id)
		}
		got := 0
		for _, id := range order {
			if iters[id] == nil {
				continue // shard closed and read to its end
			}
			out, err := e.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iters[id]})
			if err != nil {
				t.Fatalf("get records: %v", err)
			}
			recs = append(recs, out.Records...)
			got += len(out.Records)
			iters[id] = out.NextShardIterator
		}
		if got == 0 && len(recs) < want {
			select {
			case <-ctx.Done():
				t.Fatalf("stream gave %d records, want %d", len(recs), want)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	if len(recs) != want {
		t.Fatalf("stream gave %d records, want %d", len(recs), want)
	}
	return recs
}
