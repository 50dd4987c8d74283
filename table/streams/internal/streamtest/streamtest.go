// Package streamtest reads the DynamoDB Streams of tables in DynamoDB Local
// for the tests of package streams and its Lambda adapter: it creates a
// table with a stream and returns the records GetRecords delivers, through
// the real dynamodbstreams client.
package streamtest

import (
	"context"
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
	out, err := e.DB.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.Table.LatestStreamArn)
	if arn == "" {
		t.Fatalf("table %s has no stream", name)
	}
	return name, arn
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
