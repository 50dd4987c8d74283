package patients

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }

// memoryKeys is an in-memory key store under a fresh random master key.
func memoryKeys(t *testing.T) tenantkeys.Provider {
	t.Helper()
	var mk [32]byte
	if _, err := rand.Read(mk[:]); err != nil {
		t.Fatal(err)
	}
	ring, err := tenantkeys.ParseKeyring([]byte(hex.EncodeToString(mk[:])))
	if err != nil {
		t.Fatal(err)
	}
	return tenantkeys.NewMemoryStore(ring, tenantkeys.WithCreateOnFirstUse(true))
}

// newRepository creates a patients table in DynamoDB Local and returns the
// generated repository on it, the client and the table name.
func newRepository(t *testing.T) (*PatientRepository, *dynamodb.Client, string) {
	t.Helper()
	db := itest.DynamoDB(t)
	s, err := schema.For[Patient]()
	if err != nil {
		t.Fatal(err)
	}
	name := itest.NewTable(t, db, s.CreateTableInput(PatientTable))
	repo, err := NewPatientRepositoryNamed(db, name, memoryKeys(t))
	if err != nil {
		t.Fatal(err)
	}
	return repo, db, name
}

// TestPatientRepository uses the generated repository against DynamoDB
// Local: create, read, update, query, tenant isolation, redaction, delete.
func TestPatientRepository(t *testing.T) {
	ctx := context.Background()
	repo, db, name := newRepository(t)
	clinic := repo.For("clinic-1")
	seen := time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)
	for i, n := range []string{"Ada Lovelace", "Alan Turing", "Grace Hopper"} {
		p := &Patient{TenantID: "clinic-1", ID: fmt.Sprintf("p-%d", i), Name: n, SSN: fmt.Sprintf("123-45-678%d", i), Plan: "gold", Seen: seen}
		if err := clinic.Create(ctx, p); err != nil {
			t.Fatalf("Create: %v", err)
		}
		if p.Version != 1 {
			t.Fatalf("Create set version %d, want 1", p.Version)
		}
	}
	got, err := clinic.Get(ctx, "p-1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want := Patient{TenantID: "clinic-1", ID: "p-1", Name: "Alan Turing", SSN: "123-45-6781", Plan: "gold", Seen: seen, Version: 1}
	if *got != want {
		t.Fatalf("Get = %+v, want %+v", *got, want)
	}

	// The stored item holds no plaintext of encrypted fields.
	raw, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name), Key: map[string]types.AttributeValue{
		"tenant": &types.AttributeValueMemberS{Value: "clinic-1"}, "id": &types.AttributeValueMemberS{Value: "p-1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := raw.Item["ssn"].(*types.AttributeValueMemberB); !ok {
		t.Fatalf("stored ssn is %T, want encrypted binary", raw.Item["ssn"])
	}
	if plan, ok := raw.Item["plan"].(*types.AttributeValueMemberS); !ok || plan.Value != "gold" {
		t.Fatalf("stored plan = %#v, want signed plaintext", raw.Item["plan"])
	}

	// Update is a read-modify-write with optimistic locking.
	upd, err := clinic.Update(ctx, "p-1", func(p *Patient) error { p.Plan = "platinum"; return nil })
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if upd.Plan != "platinum" || upd.Version != 2 {
		t.Fatalf("Update = %+v", upd)
	}

	// Query with a typed sort-key condition.
	var ids []string
	for p, err := range clinic.Query(ctx, PatientIDBetween("p-1", "p-2")) {
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		ids = append(ids, p.ID)
	}
	if strings.Join(ids, ",") != "p-1,p-2" {
		t.Fatalf("Query ids = %v", ids)
	}
	// Count verifies and counts the same items; another tenant counts none.
	if n, err := clinic.Count(ctx, PatientIDBetween("p-1", "p-2")); err != nil || n != 2 {
		t.Fatalf("Count = %d, %v; want 2", n, err)
	}
	if n, err := repo.For("clinic-2").Count(ctx, PatientIDBetween("p-1", "p-2")); err != nil || n != 0 {
		t.Fatalf("other tenant Count = %d, %v; want 0", n, err)
	}
	// Options: descending order and a filter on the signed plan.
	ids = nil
	for p, err := range clinic.Query(ctx, table.SortCondition{}, table.Descending(), table.Filter(expression.Name("plan").Equal(expression.Value("gold")))) {
		if err != nil {
			t.Fatalf("filtered Query: %v", err)
		}
		ids = append(ids, p.ID)
	}
	if strings.Join(ids, ",") != "p-2,p-0" {
		t.Fatalf("filtered descending Query ids = %v, want p-2,p-0", ids)
	}
	if n, err := clinic.Count(ctx, table.SortCondition{}, table.Filter(expression.Name("plan").Equal(expression.Value("platinum")))); err != nil || n != 1 {
		t.Fatalf("filtered Count = %d, %v; want 1", n, err)
	}
	if _, err := clinic.Count(ctx, table.SortCondition{}, table.Filter(expression.Name("ssn").Equal(expression.Value("x")))); !errors.Is(err, table.ErrInvalidFilter) {
		t.Fatalf("Count filtering on an encrypted field: %v, want ErrInvalidFilter", err)
	}

	// Another tenant's scope never reads clinic-1's rows.
	if _, err := repo.For("clinic-2").Get(ctx, "p-1"); !errors.Is(err, table.ErrNotFound) && !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("other tenant Get: %v, want ErrNotFound or ErrWrongTenant", err)
	}

	// fmt and slog never print encrypted fields.
	for _, out := range []string{fmt.Sprint(got), fmt.Sprintf("%+v", got), fmt.Sprintf("%#v", *got), got.String(), got.LogValue().String()} {
		if strings.Contains(out, "Alan") || strings.Contains(out, "6781") || !strings.Contains(out, "[REDACTED]") {
			t.Fatalf("redaction failed: %s", out)
		}
	}

	if err := clinic.Delete(ctx, "p-0"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := clinic.Get(ctx, "p-0"); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
}
