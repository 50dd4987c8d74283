package searchtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/table"
)

// findIDs drains a search, failing the test on an error.
func findIDs[T any](t *testing.T, seq func(func(*T, error) bool), id func(*T) string) []string {
	t.Helper()
	var out []string
	for _, v := range collect(t, seq) {
		out = append(out, id(v))
	}
	slices.Sort(out)
	return out
}

func customerID(c *Customer) string { return c.Org + "/" + c.ID }

// TestFindByEmail searches the encrypted, beaconed email through the
// generated FindByEmail and FindByEmailPage: the value is normalised as the
// tag says, only the scope tenant's items come back, and the same email in
// another tenant is found only there.
func TestFindByEmail(t *testing.T) {
	ctx := context.Background()
	repo := customers(t)
	seedStatuses(t, repo, "t1", "t2")
	for _, tenant := range []string{"t1", "t2"} {
		if err := repo.For(tenant).Create(ctx, &Customer{Org: tenant, ID: "shared", Email: "Shared@Example.com", Status: "active", Created: base}); err != nil {
			t.Fatal(err)
		}
	}
	t1, t2 := repo.For("t1"), repo.For("t2")
	if got := findIDs(t, t1.FindByEmail(ctx, "  C3@T1.example "), customerID); !slices.Equal(got, []string{"t1/c3"}) {
		t.Fatalf("t1 FindByEmail(c3) = %v", got)
	}
	if got := findIDs(t, t2.FindByEmail(ctx, "c3@t1.example"), customerID); len(got) != 0 {
		t.Fatalf("t2 FindByEmail(t1's email) = %v, want nothing", got)
	}
	if got := findIDs(t, t2.FindByEmail(ctx, "shared@example.com"), customerID); !slices.Equal(got, []string{"t2/shared"}) {
		t.Fatalf("t2 FindByEmail(shared) = %v", got)
	}
	if got := findIDs(t, t1.FindByEmail(ctx, "nobody@t1.example"), customerID); len(got) != 0 {
		t.Fatalf("FindByEmail of an absent email = %v", got)
	}
	p, err := t1.FindByEmailPage(ctx, "SHARED@example.com", 10, "")
	if err != nil || len(p.Items) != 1 || p.Items[0].Org != "t1" || p.Items[0].Email != "Shared@Example.com" {
		t.Fatalf("t1 FindByEmailPage(shared) = %+v, %v", p.Items, err)
	}
}

// TestFindByEmailCollisions writes 40 leads per tenant with a 2-bit email
// beacon, so that about ten share each beacon, and checks that FindByEmail
// returns exactly the lead with the email searched for, and that the
// compound search on score and email is exact too.
func TestFindByEmailCollisions(t *testing.T) {
	ctx := context.Background()
	repo, err := NewLeadRepositoryNamed(itest.DynamoDB(t), newTable[Lead](t), keys(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"t1", "t2"} {
		sc := repo.For(tenant)
		for i := 0; i < 40; i++ {
			if err := sc.Put(ctx, &Lead{Org: tenant, ID: fmt.Sprintf("l%02d", i), Email: fmt.Sprintf("lead%d@x.example", i), Score: i % 3}); err != nil {
				t.Fatal(err)
			}
		}
	}
	leadID := func(l *Lead) string { return l.Org + "/" + l.ID }
	sc := repo.For("t2")
	for i := 0; i < 40; i++ {
		want := []string{fmt.Sprintf("t2/l%02d", i)}
		if got := findIDs(t, sc.FindByEmail(ctx, fmt.Sprintf("LEAD%d@x.example", i)), leadID); !slices.Equal(got, want) {
			t.Fatalf("FindByEmail(lead%d) = %v, want %v", i, got, want)
		}
		if got := findIDs(t, sc.FindByScoreEmail(ctx, i%3, fmt.Sprintf("lead%d@x.example", i)), leadID); !slices.Equal(got, want) {
			t.Fatalf("FindByScoreEmail(%d, lead%d) = %v, want %v", i%3, i, got, want)
		}
		if got := findIDs(t, sc.FindByScoreEmail(ctx, (i+1)%3, fmt.Sprintf("lead%d@x.example", i)), leadID); len(got) != 0 {
			t.Fatalf("FindByScoreEmail with the wrong score = %v", got)
		}
	}
}

// TestGetByEmail reads customers by their unique email through the
// generated GetByEmail: found in its own tenant only, a duplicate create
// (even with another case and spaces) refused, 12 concurrent creates of one
// new email giving exactly one owner, and a deleted customer's email
// released.
func TestGetByEmail(t *testing.T) {
	ctx := context.Background()
	repo := customers(t)
	seedStatuses(t, repo, "t1", "t2")
	t1, t2 := repo.For("t1"), repo.For("t2")
	c, err := t1.GetByEmail(ctx, " C5@t1.EXAMPLE")
	if err != nil || c.ID != "c5" || c.Org != "t1" {
		t.Fatalf("GetByEmail(c5) = %+v, %v", c, err)
	}
	if _, err := t2.GetByEmail(ctx, "c5@t1.example"); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("t2 GetByEmail(t1's email): %v, want ErrNotFound", err)
	}
	err = t1.Create(ctx, &Customer{Org: "t1", ID: "dup", Email: "c5@T1.example ", Created: base})
	if !errors.Is(err, table.ErrAlreadyExists) || !errors.Is(err, table.ErrUniqueTaken) {
		t.Fatalf("duplicate email: %v, want ErrAlreadyExists and ErrUniqueTaken", err)
	}

	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = t1.Create(ctx, &Customer{Org: "t1", ID: fmt.Sprintf("race%d", i), Email: "race@t1.example", Created: base})
		}()
	}
	wg.Wait()
	won := ""
	for i, err := range errs {
		switch {
		case err == nil && won == "":
			won = fmt.Sprintf("race%d", i)
		case err == nil:
			t.Fatalf("two concurrent creates of one email succeeded (%s and race%d)", won, i)
		case !errors.Is(err, table.ErrAlreadyExists):
			t.Fatalf("losing create: %v, want ErrAlreadyExists", err)
		}
	}
	if c, err := t1.GetByEmail(ctx, "race@t1.example"); err != nil || c.ID != won {
		t.Fatalf("GetByEmail(race) = %+v, %v; want %s", c, err, won)
	}
	if err := t1.Delete(ctx, won); err != nil {
		t.Fatal(err)
	}
	if _, err := t1.GetByEmail(ctx, "race@t1.example"); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("GetByEmail after Delete: %v, want ErrNotFound", err)
	}
	if err := t1.Create(ctx, &Customer{Org: "t1", ID: "after", Email: "race@t1.example", Created: base}); err != nil {
		t.Fatalf("create with a released email: %v", err)
	}
}

// TestFindByStatusEmail searches the compound beacon of status (signed
// plaintext) and email (a beacon) through the generated FindByStatusEmail.
func TestFindByStatusEmail(t *testing.T) {
	ctx := context.Background()
	repo := customers(t)
	seedStatuses(t, repo, "t1", "t2")
	sc := repo.For("t1")
	if got := findIDs(t, sc.FindByStatusEmail(ctx, "lead", "C7@t1.example"), customerID); !slices.Equal(got, []string{"t1/c7"}) {
		t.Fatalf("FindByStatusEmail(lead, c7) = %v", got)
	}
	if got := findIDs(t, sc.FindByStatusEmail(ctx, "active", "c7@t1.example"), customerID); len(got) != 0 {
		t.Fatalf("FindByStatusEmail(active, c7) = %v, want nothing (c7 is a lead)", got)
	}
	p, err := repo.For("t2").FindByStatusEmailPage(ctx, "active", "c4@t2.example", 5, "")
	if err != nil || len(p.Items) != 1 || p.Items[0].ID != "c4" || p.Items[0].Org != "t2" {
		t.Fatalf("t2 FindByStatusEmailPage(active, c4) = %+v, %v", p.Items, err)
	}
}

// TestFindByEmailTamperedBeacon copies the beacon of one customer's email
// onto another customer's item, as a writer with table access could: the
// generated FindByEmail then meets the altered item in the index and yields
// ErrTampered for it, never the item, and still yields the genuine match.
func TestFindByEmailTamperedBeacon(t *testing.T) {
	ctx := context.Background()
	repo := customers(t)
	seedStatuses(t, repo, "t1")
	db := itest.DynamoDB(t)
	key := func(id string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"org": &types.AttributeValueMemberS{Value: "t1"}, "id": &types.AttributeValueMemberS{Value: id}}
	}
	src, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(repo.Table().Name()), Key: key("c2")})
	if err != nil || src.Item["email#b"] == nil {
		t.Fatalf("reading c2's beacon: %v", err)
	}
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(repo.Table().Name()), Key: key("c3"),
		UpdateExpression:          aws.String("SET #b = :b"),
		ExpressionAttributeNames:  map[string]string{"#b": "email#b"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":b": src.Item["email#b"]},
	}); err != nil {
		t.Fatal(err)
	}
	var found []string
	tampered := 0
	for c, err := range repo.For("t1").FindByEmail(ctx, "c2@t1.example") {
		switch {
		case errors.Is(err, table.ErrTampered):
			tampered++
		case err != nil:
			t.Fatalf("FindByEmail: %v, want ErrTampered for the altered item", err)
		default:
			found = append(found, c.ID)
		}
	}
	if tampered != 1 || !slices.Equal(found, []string{"c2"}) {
		t.Fatalf("FindByEmail over a copied beacon: items %v, %d ErrTampered; want [c2] and 1", found, tampered)
	}
}
