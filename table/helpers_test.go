package table_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }

// Patient: the partition key is the tenant.
type Patient struct {
	Tenant  string `dynamodbav:"tenant" seal:"pk,tenant"`
	ID      string `dynamodbav:"id"     seal:"sk"`
	Name    string `dynamodbav:"name"   seal:"encrypt"`
	SSN     string `dynamodbav:"ssn"    seal:"encrypt"`
	Notes   string `dynamodbav:"notes"  seal:"encrypt"`
	Plan    string `dynamodbav:"plan"`
	Status  string `dynamodbav:"status,omitempty"`
	Count   int    `dynamodbav:"count"`
	Seen    int64  `dynamodbav:"seen"   seal:"plain"`
	Version int64  `dynamodbav:"v"      seal:"version"`
}

// Doc: the tenant is a separate signed attribute; no version attribute.
type Doc struct {
	PK   string `dynamodbav:"pk"   seal:"pk"`
	SK   string `dynamodbav:"sk"   seal:"sk"`
	Org  string `dynamodbav:"org"  seal:"tenant"`
	Body string `dynamodbav:"body" seal:"encrypt"`
	Tag  string `dynamodbav:"tag,omitempty"`
}

// recorder wraps a Provider and records every tenant whose key was asked for.
type recorder struct {
	tenantkeys.Provider
	mu      sync.Mutex
	tenants []string
}

func (r *recorder) CurrentKey(ctx context.Context, tenant, class string) (attrcrypt.Key, error) {
	r.note(tenant)
	return r.Provider.CurrentKey(ctx, tenant, class)
}

func (r *recorder) Key(ctx context.Context, ref attrcrypt.KeyRef) (attrcrypt.Key, error) {
	r.note(ref.Tenant)
	return r.Provider.Key(ctx, ref)
}

func (r *recorder) note(t string) {
	r.mu.Lock()
	r.tenants = append(r.tenants, t)
	r.mu.Unlock()
}

func (r *recorder) reset() { r.mu.Lock(); r.tenants = nil; r.mu.Unlock() }

func (r *recorder) asked(t string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.tenants, t)
}

// newStore returns a real tenantkeys store wrapped by a local master keyring.
func newStore(t testing.TB) *tenantkeys.Store {
	return newStoreWith(t, tenantkeys.WithCreateOnFirstUse(true))
}

func newStoreNoCreate(t testing.TB) *tenantkeys.Store {
	return newStoreWith(t)
}

// newStoreWith is an in-memory key store under a fresh random master key.
func newStoreWith(t testing.TB, opts ...tenantkeys.Option) *tenantkeys.Store {
	t.Helper()
	var mk [32]byte
	if _, err := rand.Read(mk[:]); err != nil {
		t.Fatal(err)
	}
	kr, err := tenantkeys.ParseKeyring([]byte("m1 " + hex.EncodeToString(mk[:])))
	if err != nil {
		t.Fatal(err)
	}
	return tenantkeys.NewMemoryStore(kr, opts...)
}

// env is one test's DynamoDB client, key store and tables.
type env struct {
	c     *dynamodb.Client
	store *tenantkeys.Store
	rec   *recorder
}

func newEnv(t testing.TB) *env {
	t.Helper()
	st := newStore(t)
	return &env{c: itest.DynamoDB(t), store: st, rec: &recorder{Provider: st}}
}

func createTable[T any](t testing.TB, e *env, prefix string, mod func(*dynamodb.CreateTableInput)) string {
	t.Helper()
	s, err := schema.For[T]()
	if err != nil {
		t.Fatal(err)
	}
	in := s.CreateTableInput(prefix)
	if mod != nil {
		mod(in)
	}
	return itest.NewTable(t, e.c, in)
}

func patients(t testing.TB, e *env, opts ...table.Option) (*table.Table[Patient], string) {
	t.Helper()
	name := createTable[Patient](t, e, "patients", nil)
	tb, err := table.New[Patient](e.c, name, e.rec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tb, name
}

func docs(t testing.TB, e *env, opts ...table.Option) (*table.Table[Doc], string) {
	t.Helper()
	name := createTable[Doc](t, e, "docs", nil)
	tb, err := table.New[Doc](e.c, name, e.rec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tb, name
}

func sk(id string) table.Key { return table.SortKey(table.S(id)) }

func pkey(tenant, id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"tenant": table.S(tenant), "id": table.S(id)}
}

func rawGet(t testing.TB, c *dynamodb.Client, name string, key map[string]types.AttributeValue) map[string]types.AttributeValue {
	t.Helper()
	out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(name), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		t.Fatalf("raw get: %v (item %v)", err, out != nil && out.Item != nil)
	}
	return out.Item
}

func rawPut(t testing.TB, c *dynamodb.Client, name string, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(name), Item: item}); err != nil {
		t.Fatalf("raw put: %v", err)
	}
}

func clone(m map[string]types.AttributeValue) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

type dynamodbCreateTableInput = dynamodb.CreateTableInput

func strp(s string) *string { return &s }
