package lambdaevents_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/table/streams"
	"github.com/dynaseal/dynaseal/table/streams/internal/streamtest"
	"github.com/dynaseal/dynaseal/table/streams/lambdaevents"
)

func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }

// Account: the tenant is a separate attribute.
type Account struct {
	PK      string   `dynamodbav:"pk"      seal:"pk"`
	SK      string   `dynamodbav:"sk"      seal:"sk"`
	Org     string   `dynamodbav:"org"     seal:"tenant"`
	Owner   string   `dynamodbav:"owner"   seal:"encrypt"`
	Limits  []int    `dynamodbav:"limits"  seal:"encrypt"`
	Flags   []string `dynamodbav:"flags,stringset,omitempty"`
	Balance float64  `dynamodbav:"balance"`
	Version int64    `dynamodbav:"v"       seal:"version"`
}

// lambdaJSON writes records as the Lambda service delivers a DynamoDB
// event to a function: written here from the Streams API records, without
// aws-lambda-go's encoder, so that decoding it tests that package's
// decoder against the documented wire format.
func lambdaJSON(t *testing.T, recs []types.Record) []byte {
	t.Helper()
	type streamRecord struct {
		ApproximateCreationDateTime int64          `json:"ApproximateCreationDateTime,omitempty"`
		Keys                        map[string]any `json:"Keys,omitempty"`
		NewImage                    map[string]any `json:"NewImage,omitempty"`
		OldImage                    map[string]any `json:"OldImage,omitempty"`
		SequenceNumber              string         `json:"SequenceNumber"`
		SizeBytes                   int64          `json:"SizeBytes"`
		StreamViewType              string         `json:"StreamViewType"`
	}
	type record struct {
		EventID        string       `json:"eventID"`
		EventName      string       `json:"eventName"`
		EventVersion   string       `json:"eventVersion"`
		EventSource    string       `json:"eventSource"`
		AWSRegion      string       `json:"awsRegion"`
		Dynamodb       streamRecord `json:"dynamodb"`
		EventSourceARN string       `json:"eventSourceARN"`
	}
	var ev struct {
		Records []record `json:"Records"`
	}
	for _, r := range recs {
		sr := r.Dynamodb
		out := record{
			EventID: aws.ToString(r.EventID), EventName: string(r.EventName), EventVersion: aws.ToString(r.EventVersion),
			EventSource: aws.ToString(r.EventSource), AWSRegion: aws.ToString(r.AwsRegion),
			EventSourceARN: "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x",
			Dynamodb: streamRecord{
				Keys: jsonImage(sr.Keys), NewImage: jsonImage(sr.NewImage), OldImage: jsonImage(sr.OldImage),
				SequenceNumber: aws.ToString(sr.SequenceNumber), SizeBytes: aws.ToInt64(sr.SizeBytes),
				StreamViewType: string(sr.StreamViewType),
			},
		}
		if sr.ApproximateCreationDateTime != nil {
			out.Dynamodb.ApproximateCreationDateTime = sr.ApproximateCreationDateTime.Unix()
		}
		ev.Records = append(ev.Records, out)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonImage(m map[string]types.AttributeValue) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = jsonValue(v)
	}
	return out
}

func jsonValue(av types.AttributeValue) map[string]any {
	b64 := base64.StdEncoding.EncodeToString
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *types.AttributeValueMemberB:
		return map[string]any{"B": b64(v.Value)}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": v.Value}
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": v.Value}
	case *types.AttributeValueMemberBS:
		bs := make([]string, len(v.Value))
		for i, b := range v.Value {
			bs[i] = b64(b)
		}
		return map[string]any{"BS": bs}
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			l[i] = jsonValue(e)
		}
		return map[string]any{"L": l}
	case *types.AttributeValueMemberM:
		return map[string]any{"M": jsonImage(v.Value)}
	}
	panic("unexpected attribute value type")
}

func decode(t *testing.T, b []byte) events.DynamoDBEvent {
	t.Helper()
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestOpenLambdaEvent: real stream records of an insert, a modification
// and a remove, delivered as a Lambda JSON event and decoded into
// events.DynamoDBEvent, open exactly as the Streams API records do, typed
// and untyped, with both images verified.
func TestOpenLambdaEvent(t *testing.T) {
	e := streamtest.New(t)
	store := streamtest.NewStore(t)
	tb, arn := streamtest.NewTable[Account](t, e, store, ddbtypes.StreamViewTypeNewAndOldImages)
	ctx := context.Background()
	key := table.Key{PK: table.S("acct"), SK: table.S("1")}
	must(t, tb.For("org-a").Put(ctx, &Account{PK: "acct", SK: "1", Owner: "Ada", Limits: []int{1, 2}, Flags: []string{"x"}, Balance: 10.5}))
	_, err := tb.For("org-a").Update(ctx, key, func(a *Account) error { a.Owner, a.Balance = "Ada L.", 1.25; return nil })
	must(t, err)
	must(t, tb.For("org-a").Delete(ctx, key))
	recs := e.Records(t, arn, 3)
	ev := decode(t, lambdaJSON(t, recs))
	if len(ev.Records) != 3 {
		t.Fatalf("%d records decoded", len(ev.Records))
	}
	var owners []string
	for i, lr := range ev.Records {
		got, err := lambdaevents.Open(ctx, tb, lr)
		must(t, err)
		want, err := streams.Open(ctx, tb, recs[i])
		must(t, err)
		want.ApproximateCreationTime = want.ApproximateCreationTime.Truncate(1e9) // Lambda sends whole seconds
		got.ApproximateCreationTime = got.ApproximateCreationTime.UTC()
		want.ApproximateCreationTime = want.ApproximateCreationTime.UTC()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("record %d: Lambda change %+v\nStreams change %+v", i, got, want)
		}
		for _, img := range []*Account{got.New, got.Old} {
			if img != nil {
				owners = append(owners, string(got.EventName)+":"+img.Owner)
			}
		}
		it, err := lambdaevents.OpenItem(ctx, tb, lr)
		must(t, err)
		wantIt, err := streams.OpenItem(ctx, tb, recs[i])
		must(t, err)
		if !reflect.DeepEqual(it.New, wantIt.New) || !reflect.DeepEqual(it.Old, wantIt.Old) {
			t.Fatalf("record %d: untyped images differ", i)
		}
	}
	if strings.Join(owners, ",") != "INSERT:Ada,MODIFY:Ada L.,MODIFY:Ada,REMOVE:Ada L." {
		t.Fatalf("opened images: %v", owners)
	}
}

// TestLambdaEventTampered: an attribute edited in the event JSON (signed,
// encrypted, the tenant) is ErrTampered on its image.
func TestLambdaEventTampered(t *testing.T) {
	e := streamtest.New(t)
	store := streamtest.NewStore(t)
	tb, arn := streamtest.NewTable[Account](t, e, store, ddbtypes.StreamViewTypeNewAndOldImages)
	ctx := context.Background()
	must(t, tb.For("org-a").Put(ctx, &Account{PK: "acct", SK: "1", Owner: "Secretowner", Balance: 10}))
	recs := e.Records(t, arn, 1)
	raw := lambdaJSON(t, recs)
	edits := map[string]func(img map[string]any){
		"signed balance":  func(img map[string]any) { img["balance"] = map[string]any{"N": "1000"} },
		"tenant":          func(img map[string]any) { img["org"] = map[string]any{"S": "org-b"} },
		"dropped owner":   func(img map[string]any) { delete(img, "owner") },
		"encrypted owner": func(img map[string]any) { img["owner"] = img["limits"] },
	}
	for what, edit := range edits {
		var doc map[string]any
		must(t, json.Unmarshal(raw, &doc))
		rec := doc["Records"].([]any)[0].(map[string]any)
		edit(rec["dynamodb"].(map[string]any)["NewImage"].(map[string]any))
		b, err := json.Marshal(doc)
		must(t, err)
		ev := decode(t, b)
		ch, err := lambdaevents.Open(ctx, tb, ev.Records[0])
		var ie *streams.ImageError
		if !errors.Is(err, table.ErrTampered) || !errors.As(err, &ie) || ie.Image != "NewImage" || ch.New != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if strings.Contains(err.Error(), "Secret") {
			t.Fatalf("%s: error quotes a value: %v", what, err)
		}
	}
}

// TestLambdaImageConvertsEveryType: DynamoDB Local's stream image of an
// item with every type, nested, delivered as Lambda JSON, converts to
// exactly the item GetItem returns.
func TestLambdaImageConvertsEveryType(t *testing.T) {
	e := streamtest.New(t)
	name, arn := e.KeyValueTable(t)
	ctx := context.Background()
	item := streamtest.AllTypes()
	_, err := e.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: item})
	must(t, err)
	got, err := e.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name), Key: map[string]ddbtypes.AttributeValue{"pk": item["pk"], "sk": item["sk"]}, ConsistentRead: aws.Bool(true)})
	must(t, err)
	ev := decode(t, lambdaJSON(t, e.Records(t, arn, 1)))
	conv, err := lambdaevents.Image(ev.Records[0].Change.NewImage)
	must(t, err)
	if !reflect.DeepEqual(conv, got.Item) {
		t.Fatalf("converted Lambda image differs from GetItem's item:\n%#v\n%#v", conv, got.Item)
	}
	rec, err := lambdaevents.Record(ev.Records[0])
	must(t, err)
	if rec.EventName != streams.Insert || rec.Dynamodb.StreamViewType != types.StreamViewTypeNewAndOldImages || rec.Dynamodb.OldImage != nil || len(rec.Dynamodb.Keys) != 2 {
		t.Fatalf("converted record %+v", rec)
	}
}

// TestLambdaRefusesValuesNeverSent: the zero DynamoDBAttributeValue (which
// no JSON decodes to) and nesting deeper than DynamoDB allows fail with
// ErrInvalidRecord, without a panic; the TTL identity is carried.
func TestLambdaRefusesValuesNeverSent(t *testing.T) {
	deep := events.NewStringAttribute("Secret")
	for range 100 {
		deep = events.NewListAttribute([]events.DynamoDBAttributeValue{deep})
	}
	for what, av := range map[string]events.DynamoDBAttributeValue{
		"zero":        {},
		"nested zero": events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{"a": {}}),
		"too deep":    deep,
	} {
		img := map[string]events.DynamoDBAttributeValue{"ok": events.NewStringAttribute("Secret"), "x": av}
		if _, err := lambdaevents.Image(img); !errors.Is(err, streams.ErrInvalidRecord) || strings.Contains(err.Error(), "Secret") {
			t.Fatalf("%s: %v", what, err)
		}
		rec := events.DynamoDBEventRecord{EventName: "REMOVE", Change: events.DynamoDBStreamRecord{Keys: img, StreamViewType: "KEYS_ONLY"}}
		if _, err := lambdaevents.Record(rec); !errors.Is(err, streams.ErrInvalidRecord) {
			t.Fatalf("%s in keys: %v", what, err)
		}
	}
	rec := events.DynamoDBEventRecord{
		EventName:    "REMOVE",
		UserIdentity: &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"},
		Change: events.DynamoDBStreamRecord{
			Keys: map[string]events.DynamoDBAttributeValue{
				"pk": events.NewStringAttribute("a"), "sk": events.NewStringAttribute("1"),
			},
			StreamViewType: "KEYS_ONLY",
		},
	}
	tb, err := table.New[Account](itest.NewDynamoDBClient("http://127.0.0.1:1"), "accounts", streamtest.NewStore(t))
	must(t, err)
	ch, err := lambdaevents.Open(context.Background(), tb, rec)
	if !errors.Is(err, streams.ErrKeysOnly) || !ch.ByTTL || ch.EventName != streams.Remove {
		t.Fatalf("TTL remove: %v %+v", err, ch)
	}
}
