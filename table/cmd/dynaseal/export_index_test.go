package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/table"
)

// order keeps its tenant in a separate attribute, so a tenant's items are
// found through an index on it (or a scan), not a partition.
type order struct {
	ID     string `dynamodbav:"id" seal:"pk"`
	Org    string `dynamodbav:"org" seal:"tenant"`
	Secret string `dynamodbav:"secret" seal:"encrypt"`
}

// TestExportByIndex exports through a KEYS_ONLY index on the tenant
// attribute (whole items fetched and verified), refuses a table without
// one unless --scan, and gives the same lines by scan.
func TestExportByIndex(t *testing.T) {
	f := newFixture(t)
	s := func(v string) *string { return aws.String(v) }
	name := itest.NewTable(t, f.db, &dynamodb.CreateTableInput{
		TableName:            s(strings.ReplaceAll(t.Name(), "/", "-") + "-orders"),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: s("id"), AttributeType: types.ScalarAttributeTypeS}, {AttributeName: s("org"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: s("id"), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  s("by-org"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: s("org"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
	})
	plain := itest.NewTable(t, f.db, &dynamodb.CreateTableInput{
		TableName:            s(strings.ReplaceAll(t.Name(), "/", "-") + "-noindex"),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: s("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: s("id"), KeyType: types.KeyTypeHash}},
	})
	for _, org := range []string{"o1", "o2"} {
		f.run(t, "keys", "create", "--tenant", org).ok(t, "create")
	}
	ctx := context.Background()
	for _, tn := range []string{name, plain} {
		orders, err := table.New[order](f.db, tn, f.store)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range []order{{"a", "o1", "sa"}, {"b", "o2", "sb"}, {"c", "o1", "sc"}} {
			if err := orders.For(o.Org).Put(ctx, &o); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := f.run(t, "export", "--table", name, "--tenant-attr", "org", "--tenant", "o1").ok(t, "export by index")
	if strings.Count(r.stdout, "\n") != 2 || !strings.Contains(r.stdout, `"secret":"sa"`) || !strings.Contains(r.stdout, `"secret":"sc"`) || strings.Contains(r.stdout, "sb") {
		t.Fatalf("export by index:\n%s", r.stdout)
	}
	f.run(t, "export", "--table", plain, "--tenant-attr", "org", "--tenant", "o1").want(t, "no index", exitUsage, "--scan")
	r2 := f.run(t, "export", "--table", plain, "--tenant-attr", "org", "--tenant", "o1", "--scan").ok(t, "export by scan")
	if strings.Count(r2.stdout, "\n") != 2 || strings.Contains(r2.stdout, "sb") {
		t.Fatalf("export by scan:\n%s", r2.stdout)
	}
	// inspect on a table keyed by id alone.
	r = f.run(t, "inspect", "--table", name, "--tenant-attr", "org", "--pk", "b", "--json").ok(t, "inspect")
	if got := decodeJSON[inspectJSON](t, r.stdout); got.Tenant != "o2" || !got.Verified {
		t.Fatalf("inspect: %+v", got)
	}
	f.run(t, "inspect", "--table", name, "--tenant-attr", "org", "--pk", "b", "--sk", "x").want(t, "sk on a table without", exitUsage, "no sort key")

	// A one-tenant re-encryption goes through the index: only o1's items
	// are resealed; without an index it needs --scan.
	f.run(t, "keys", "rotate", "--tenant", "o1").ok(t, "rotate")
	f.run(t, "keys", "rotate", "--tenant", "o2").ok(t, "rotate")
	r = f.run(t, "reencrypt", "--table", name, "--tenant-attr", "org", "--tenant", "o1", "--verbose", "--json", "--progress", "none").ok(t, "reencrypt by index")
	if strings.Count(r.stdout, `"outcome":"resealed"`) != 2 || strings.Contains(r.stdout, `"o2"`) || !strings.Contains(r.stdout, `"scanned": 2`) {
		t.Errorf("reencrypt by index:\n%s", r.stdout)
	}
	f.run(t, "reencrypt", "--table", plain, "--tenant-attr", "org", "--tenant", "o1").want(t, "no index", exitUsage, "--scan")
	r = f.run(t, "reencrypt", "--table", plain, "--tenant-attr", "org", "--tenant", "o1", "--scan", "--json", "--progress", "none").ok(t, "reencrypt by scan")
	if !strings.Contains(r.stdout, `"resealed": 2`) || !strings.Contains(r.stdout, `"scanned": 2`) {
		t.Errorf("reencrypt by scan:\n%s", r.stdout)
	}
}
