package streams_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/table/streams"
	"github.com/dynaseal/dynaseal/table/streams/internal/streamtest"
)

// TestImageConvertsEveryType: the stream image DynamoDB Local delivers for
// an item with every type, nested, converts to exactly the item GetItem
// returns.
func TestImageConvertsEveryType(t *testing.T) {
	e := streamtest.New(t)
	name, arn := e.KeyValueTable(t)
	ctx := context.Background()
	item := streamtest.AllTypes()
	if _, err := e.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: item}); err != nil {
		t.Fatal(err)
	}
	got, err := e.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name), Key: map[string]ddbtypes.AttributeValue{"pk": item["pk"], "sk": item["sk"]}, ConsistentRead: aws.Bool(true)})
	must(t, err)
	rec := e.Records(t, arn, 1)[0]
	conv, err := streams.Image(rec.Dynamodb.NewImage)
	must(t, err)
	if !reflect.DeepEqual(conv, got.Item) {
		t.Fatalf("converted stream image differs from GetItem's item:\n%#v\n%#v", conv, got.Item)
	}
	keys, err := streams.Image(rec.Dynamodb.Keys)
	must(t, err)
	if len(keys) != 2 || !reflect.DeepEqual(keys["pk"], got.Item["pk"]) || !reflect.DeepEqual(keys["sk"], got.Item["sk"]) {
		t.Fatalf("converted keys %#v", keys)
	}
	for n, av := range rec.Dynamodb.NewImage {
		one, err := streams.AttributeValue(av)
		must(t, err)
		if !reflect.DeepEqual(one, got.Item[n]) {
			t.Fatalf("AttributeValue(%s) differs", n)
		}
	}
	if m, err := streams.Image(nil); m != nil || err != nil {
		t.Fatalf("Image(nil) = %v, %v", m, err)
	}
}

// TestImageRefusesWhatDynamoDBNeverSends: a nil value, a typed nil, an
// unknown union member and nesting deeper than DynamoDB allows, at the top
// or nested, fail with ErrInvalidRecord without quoting a value.
func TestImageRefusesWhatDynamoDBNeverSends(t *testing.T) {
	deep := types.AttributeValue(&types.AttributeValueMemberS{Value: "Secret"})
	for range 100 {
		deep = &types.AttributeValueMemberL{Value: []types.AttributeValue{deep}}
	}
	bad := map[string]types.AttributeValue{
		"nil":           nil,
		"typed nil":     (*types.AttributeValueMemberS)(nil),
		"typed nil map": (*types.AttributeValueMemberM)(nil),
		"unknown":       &types.UnknownUnionMember{Tag: "X", Value: []byte("Secret")},
		"too deep":      deep,
		"nested nil": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"a": &types.AttributeValueMemberS{Value: "Secret"}, "b": nil,
		}},
		"nested unknown": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.UnknownUnionMember{Tag: "X"}}},
	}
	for what, av := range bad {
		_, err1 := streams.Image(map[string]types.AttributeValue{"ok": &types.AttributeValueMemberS{Value: "Secret"}, "attr": av})
		_, err2 := streams.AttributeValue(av)
		for _, err := range []error{err1, err2} {
			if !errors.Is(err, streams.ErrInvalidRecord) {
				t.Fatalf("%s: err = %v, want ErrInvalidRecord", what, err)
			}
			if strings.Contains(err.Error(), "Secret") {
				t.Fatalf("%s: error quotes a value: %v", what, err)
			}
		}
	}
}

// countingKeys is a key provider that counts every request.
type countingKeys struct{ n int }

func (c *countingKeys) CurrentKey(context.Context, string, string) (attrcrypt.Key, error) {
	c.n++
	return attrcrypt.Key{}, errors.New("no key")
}

func (c *countingKeys) Key(context.Context, attrcrypt.KeyRef) (attrcrypt.Key, error) {
	c.n++
	return attrcrypt.Key{}, errors.New("no key")
}

// TestOpenRefusesMalformedRecords: records DynamoDB Streams never writes
// (no stream data, no keys, an unknown event or view type, an image the
// event cannot have, an image the view type promises missing, a value
// that does not convert) fail with ErrInvalidRecord before any key is
// asked for.
func TestOpenRefusesMalformedRecords(t *testing.T) {
	keys := &countingKeys{}
	tb, err := table.New[Patient](itest.NewDynamoDBClient("http://127.0.0.1:1"), "patients", keys)
	must(t, err)
	img := map[string]types.AttributeValue{
		"tenant": &types.AttributeValueMemberS{Value: "t"}, "id": &types.AttributeValueMemberS{Value: "1"},
		"name": &types.AttributeValueMemberB{Value: []byte("Secret")},
	}
	k := map[string]types.AttributeValue{"tenant": img["tenant"], "id": img["id"]}
	rec := func(ev types.OperationType, view types.StreamViewType, newImg, oldImg map[string]types.AttributeValue) types.Record {
		return types.Record{EventName: ev, Dynamodb: &types.StreamRecord{Keys: k, NewImage: newImg, OldImage: oldImg, StreamViewType: view}}
	}
	bad := map[string]types.Record{
		"no stream data":              {EventName: streams.Insert},
		"no keys":                     {EventName: streams.Insert, Dynamodb: &types.StreamRecord{NewImage: img}},
		"unknown event":               rec("UPSERT", types.StreamViewTypeNewImage, img, nil),
		"unknown view":                rec(streams.Insert, "ALL", img, nil),
		"insert with old image":       rec(streams.Insert, types.StreamViewTypeNewAndOldImages, img, img),
		"insert with only old image":  rec(streams.Insert, "", nil, img),
		"remove with new image":       rec(streams.Remove, types.StreamViewTypeNewAndOldImages, img, img),
		"modify without old image":    rec(streams.Modify, types.StreamViewTypeNewAndOldImages, img, nil),
		"modify without new image":    rec(streams.Modify, types.StreamViewTypeNewAndOldImages, nil, img),
		"keys-only with an image":     rec(streams.Modify, types.StreamViewTypeKeysOnly, img, nil),
		"new-image with an old image": rec(streams.Modify, types.StreamViewTypeNewImage, img, img),
		"unconvertible image": rec(streams.Insert, types.StreamViewTypeNewImage,
			map[string]types.AttributeValue{"tenant": img["tenant"], "id": img["id"], "x": nil}, nil),
		"unconvertible keys": {EventName: streams.Remove, Dynamodb: &types.StreamRecord{
			Keys: map[string]types.AttributeValue{"tenant": nil}, StreamViewType: types.StreamViewTypeKeysOnly}},
	}
	for what, r := range bad {
		ch, err := streams.Open(context.Background(), tb, r)
		if !errors.Is(err, streams.ErrInvalidRecord) {
			t.Fatalf("%s: err = %v, want ErrInvalidRecord", what, err)
		}
		if ch.New != nil || ch.Old != nil || strings.Contains(err.Error(), "Secret") {
			t.Fatalf("%s: image handed out or value quoted: %v", what, err)
		}
		if _, err := streams.OpenItem(context.Background(), tb, r); !errors.Is(err, streams.ErrInvalidRecord) {
			t.Fatalf("%s untyped: err = %v", what, err)
		}
	}
	if keys.n != 0 {
		t.Fatalf("%d keys asked for while refusing malformed records", keys.n)
	}
	// A keys-only record of every event is ErrKeysOnly, not invalid.
	for _, ev := range []types.OperationType{streams.Insert, streams.Modify, streams.Remove} {
		for _, view := range []types.StreamViewType{types.StreamViewTypeKeysOnly, ""} {
			if _, err := streams.Open(context.Background(), tb, rec(ev, view, nil, nil)); !errors.Is(err, streams.ErrKeysOnly) {
				t.Fatalf("%s %q without images: %v", ev, view, err)
			}
		}
	}
}
