package lambdaevents_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dynaseal/dynaseal/table/streams"
	"github.com/dynaseal/dynaseal/table/streams/lambdaevents"
)

// FuzzRecord: whatever record JSON aws-lambda-go decodes, Record converts
// it or fails with streams.ErrInvalidRecord; it never panics, and a
// converted record keeps every attribute of its keys and images.
func FuzzRecord(f *testing.F) {
	for _, s := range []string{
		`{"eventName":"INSERT","dynamodb":{"Keys":{"pk":{"S":"a"}},"NewImage":{"pk":{"S":"a"},"n":{"N":"1"},"b":{"B":"AAE="},"l":{"L":[{"M":{"x":{"NULL":true}}},{"BS":["AQ=="]}]},"ss":{"SS":["a"]},"ns":{"NS":["1"]},"t":{"BOOL":true}},"StreamViewType":"NEW_IMAGE"}}`,
		`{"eventName":"REMOVE","dynamodb":{"Keys":{"pk":{"N":"7"}},"StreamViewType":"KEYS_ONLY"},"userIdentity":{"type":"Service","principalId":"dynamodb.amazonaws.com"}}`,
		`{"dynamodb":{"Keys":{"pk":{"M":{"a":{"L":[]}}}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var rec events.DynamoDBEventRecord
		if !decodes(b, &rec) {
			return
		}
		r, err := lambdaevents.Record(rec)
		if err != nil {
			if !errors.Is(err, streams.ErrInvalidRecord) {
				t.Fatalf("Record: %v, want ErrInvalidRecord", err)
			}
			return
		}
		for _, m := range []map[string]events.DynamoDBAttributeValue{rec.Change.Keys, rec.Change.NewImage, rec.Change.OldImage} {
			if _, err := lambdaevents.Image(m); err != nil {
				t.Fatalf("Record converted but Image failed: %v", err)
			}
		}
		if len(r.Dynamodb.Keys) != len(rec.Change.Keys) || len(r.Dynamodb.NewImage) != len(rec.Change.NewImage) || len(r.Dynamodb.OldImage) != len(rec.Change.OldImage) {
			t.Fatal("converted record lost attributes")
		}
	})
}

// decodes reports whether aws-lambda-go decodes b, which its decoder may
// answer with a panic (a non-string BS element): that is its input to
// refuse, not ours.
func decodes(b []byte, rec *events.DynamoDBEventRecord) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return json.Unmarshal(b, rec) == nil
}
