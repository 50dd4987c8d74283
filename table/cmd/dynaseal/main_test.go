package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }

// record is an application's item type; the command never sees it.
type record struct {
	Tenant  string   `dynamodbav:"tenant" seal:"pk,tenant"`
	ID      string   `dynamodbav:"id" seal:"sk"`
	Name    string   `dynamodbav:"name" seal:"encrypt"`
	Email   string   `dynamodbav:"email" seal:"encrypt"`
	Plan    string   `dynamodbav:"plan"`
	Score   int      `dynamodbav:"score"`
	Tags    []string `dynamodbav:"tags,stringset"`
	Seen    int64    `dynamodbav:"seen" seal:"plain"`
	Version int64    `dynamodbav:"v" seal:"version"`
}

// fixture is a data table and a key store in DynamoDB Local, a master key
// file, and the application's view of them (to write items the way an
// application does).
type fixture struct {
	endpoint  string
	db        *dynamodb.Client
	keyTable  string
	table     string
	masterKey string
	store     *tenantkeys.Store
	recs      *table.Table[record]
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{endpoint: itest.Endpoint(t)}
	// The command loads the standard AWS configuration; give it static
	// credentials and keep this machine's files out of it.
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, e := range []string{"DYNASEAL_TABLE", "DYNASEAL_KEY_TABLE", "DYNASEAL_KMS_KEY", "DYNASEAL_MASTER_KEY_FILE"} {
		t.Setenv(e, "")
	}
	f.db = itest.NewDynamoDBClient(f.endpoint)
	f.masterKey = filepath.Join(dir, "master.key")
	ring, err := tenantkeys.GenerateMasterKeyFile(f.masterKey)
	if err != nil {
		t.Fatal(err)
	}
	f.keyTable = itest.NewTable(t, f.db, tenantkeys.CreateTableInput(strings.ReplaceAll(t.Name(), "/", "-")+"-keys"))
	sch, err := schema.For[record]()
	if err != nil {
		t.Fatal(err)
	}
	f.table = itest.NewTable(t, f.db, sch.CreateTableInput(strings.ReplaceAll(t.Name(), "/", "-")+"-data"))
	f.store = tenantkeys.NewDynamoDBStore(f.db, f.keyTable, ring)
	if f.recs, err = table.New[record](f.db, f.table, f.store); err != nil {
		t.Fatal(err)
	}
	return f
}

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// run runs the command in-process with the fixture's configuration.
func (f *fixture) run(t *testing.T, args ...string) result {
	t.Helper()
	return f.runCtx(context.Background(), t, args...)
}

func (f *fixture) runCtx(ctx context.Context, t *testing.T, args ...string) result {
	t.Helper()
	global := []string{"--endpoint-url", f.endpoint, "--key-table", f.keyTable, "--master-key-file", f.masterKey, "--table", f.table}
	var out, errw bytes.Buffer
	code := run(ctx, append(global, args...), &out, &errw)
	return result{code: code, stdout: out.String(), stderr: errw.String()}
}

func (r result) ok(t *testing.T, what string) result {
	t.Helper()
	if r.code != exitOK {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", what, r.code, r.stdout, r.stderr)
	}
	return r
}

func (r result) want(t *testing.T, what string, code int, stderrHas string) result {
	t.Helper()
	if r.code != code || !strings.Contains(r.stderr, stderrHas) {
		t.Fatalf("%s: exit %d (want %d), stderr lacks %q?\nstdout:\n%s\nstderr:\n%s", what, r.code, code, stderrHas, r.stdout, r.stderr)
	}
	return r
}

// write puts records through the application's table handle.
func (f *fixture) write(t *testing.T, recs ...*record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, r := range recs {
		if err := f.recs.For(r.Tenant).Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return v
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func refOf(tenant string, v uint32) attrcrypt.KeyRef {
	return attrcrypt.KeyRef{Tenant: tenant, Version: v}
}
