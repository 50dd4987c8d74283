package patients

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/table"
)

// TestRepositoryOpenImage: the generated OpenImage opens a stored image of
// any tenant (as a stream record or export carries it) with the generated
// codec, and refuses an edited one with table.ErrTampered.
func TestRepositoryOpenImage(t *testing.T) {
	ctx := context.Background()
	repo, db, name := newRepository(t)
	seen := time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)
	for _, tenant := range []string{"clinic-1", "clinic-2"} {
		p := &Patient{ID: "p-1", Name: "Name of " + tenant, SSN: "123-45-6789", Plan: "gold", Seen: seen}
		if err := repo.For(tenant).Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		raw, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name), Key: map[string]types.AttributeValue{
			"tenant": &types.AttributeValueMemberS{Value: tenant}, "id": &types.AttributeValueMemberS{Value: "p-1"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := repo.OpenImage(ctx, raw.Item)
		if err != nil {
			t.Fatalf("%s: OpenImage: %v", tenant, err)
		}
		if *got != *p {
			t.Fatalf("%s: OpenImage = %+v, want %+v", tenant, *got, *p)
		}
		raw.Item["plan"] = &types.AttributeValueMemberS{Value: "platinum"}
		if _, err := repo.OpenImage(ctx, raw.Item); !errors.Is(err, table.ErrTampered) {
			t.Fatalf("%s: edited image: %v, want ErrTampered", tenant, err)
		}
	}
}
