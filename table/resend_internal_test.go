package table

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/itest/faultproxy"
)

// TestAttemptsCountsSDKResends: the attempt counter sees every HTTP attempt
// the SDK's retryer makes, so a resend is known as one.
func TestAttemptsCountsSDKResends(t *testing.T) {
	p, err := faultproxy.New(itest.Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	direct := itest.DynamoDB(t)
	name := itest.NewKeyValueTable(t, direct)
	c := itest.NewDynamoDBClient(p.URL())
	item := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}, "sk": &types.AttributeValueMemberS{Value: "b"}}

	var once attempts
	if _, err := c.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(name), Item: item}, once.option); err != nil {
		t.Fatal(err)
	}
	if once.n.Load() != 1 || once.resent() {
		t.Fatalf("clean call: %d attempts", once.n.Load())
	}
	p.Add(faultproxy.Rule{Operation: "PutItem", Count: 2, Action: faultproxy.DropResponse})
	var thrice attempts
	if _, err := c.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(name), Item: item}, thrice.option); err != nil {
		t.Fatal(err)
	}
	if thrice.n.Load() != 3 || !thrice.resent() {
		t.Fatalf("two dropped answers: %d attempts counted, want 3", thrice.n.Load())
	}
}
