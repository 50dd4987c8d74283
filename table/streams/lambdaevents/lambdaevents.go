// Package lambdaevents opens the DynamoDB stream records an AWS Lambda
// function receives (github.com/aws/aws-lambda-go/events), as package
// table/streams does for the dynamodbstreams SDK types. It is separate so
// that programs that do not run on Lambda do not import aws-lambda-go.
//
//	func handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
//		var resp events.DynamoDBEventResponse
//		for _, rec := range ev.Records {
//			ch, err := lambdaevents.Open(ctx, patients, rec)
//			switch {
//			case err == nil:
//				// ch.EventName, ch.New, ch.Old: verified and opened
//			case errors.Is(err, streams.ErrKeysOnly):
//				// no image: ch.Keys only
//			default:
//				// table.ErrTampered, table.ErrKeyShredded...: never apply it
//				resp.BatchItemFailures = append(resp.BatchItemFailures,
//					events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
//			}
//		}
//		return resp, nil
//	}
package lambdaevents

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/table/streams"
	"github.com/dynaseal/dynaseal/table/streams/internal/attrmap"
)

// maxDepth bounds nesting, as package streams does (DynamoDB allows 32).
const maxDepth = 64

// Open verifies and opens the images of a Lambda DynamoDB event record
// under the key of the tenant each names: streams.Open on Record(rec),
// with the same Change, errors and guarantees. A record that does not
// convert fails with streams.ErrInvalidRecord.
func Open[T any](ctx context.Context, t *table.Table[T], rec events.DynamoDBEventRecord) (streams.Change[T], error) {
	r, err := Record(rec)
	if err != nil {
		return streams.Change[T]{}, err
	}
	return streams.Open(ctx, t, r)
}

// OpenItem is Open for readers without a Go type: streams.OpenItem on
// Record(rec).
func OpenItem[T any](ctx context.Context, t *table.Table[T], rec events.DynamoDBEventRecord) (streams.Change[streams.Item], error) {
	r, err := Record(rec)
	if err != nil {
		return streams.Change[streams.Item]{}, err
	}
	return streams.OpenItem(ctx, t, r)
}

// Record converts a Lambda DynamoDB event record to the dynamodbstreams
// record it was delivered from: every field, and every attribute value of
// its Keys and images, nested ones included. A value that cannot be one
// DynamoDB sent (the zero DynamoDBAttributeValue, nesting deeper than
// DynamoDB allows) fails with streams.ErrInvalidRecord, naming the
// top-level attribute only, never a value.
func Record(rec events.DynamoDBEventRecord) (types.Record, error) {
	c := rec.Change
	sr := &types.StreamRecord{
		StreamViewType: types.StreamViewType(c.StreamViewType),
		SizeBytes:      &c.SizeBytes,
	}
	if c.SequenceNumber != "" {
		sr.SequenceNumber = &c.SequenceNumber
	}
	if !c.ApproximateCreationDateTime.IsZero() {
		t := c.ApproximateCreationDateTime.Time
		sr.ApproximateCreationDateTime = &t
	}
	var err error
	for _, m := range []struct {
		name string
		src  map[string]events.DynamoDBAttributeValue
		dst  *map[string]types.AttributeValue
	}{{"Keys", c.Keys, &sr.Keys}, {"NewImage", c.NewImage, &sr.NewImage}, {"OldImage", c.OldImage, &sr.OldImage}} {
		if *m.dst, err = streamImage(m.src); err != nil {
			return types.Record{}, fmt.Errorf("lambdaevents: %s: %w", m.name, err)
		}
	}
	out := types.Record{
		EventName:    types.OperationType(rec.EventName),
		Dynamodb:     sr,
		EventID:      optional(rec.EventID),
		EventSource:  optional(rec.EventSource),
		EventVersion: optional(rec.EventVersion),
		AwsRegion:    optional(rec.AWSRegion),
	}
	if id := rec.UserIdentity; id != nil {
		out.UserIdentity = &types.Identity{Type: optional(id.Type), PrincipalId: optional(id.PrincipalID)}
	}
	return out, nil
}

// Image converts one Lambda image (or Keys) to the dynamodb types the table
// package reads, as Record converts the record's.
func Image(m map[string]events.DynamoDBAttributeValue) (map[string]ddbtypes.AttributeValue, error) {
	s, err := streamImage(m)
	if err != nil {
		return nil, fmt.Errorf("lambdaevents: %w", err)
	}
	return streams.Image(s)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func streamImage(m map[string]events.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	return attrmap.Image(m, func(av events.DynamoDBAttributeValue) (types.AttributeValue, error) { return convert(av, 0) })
}

// nested converts the elements of a list or map at depth.
func nested(depth int) func(events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	return func(av events.DynamoDBAttributeValue) (types.AttributeValue, error) { return convert(av, depth+1) }
}

// convert maps one value. The events accessors panic on a type mismatch,
// so each is called only for its own DataType, and the zero value (type
// Binary without a value, which no JSON decodes to) is refused first.
func convert(av events.DynamoDBAttributeValue, depth int) (types.AttributeValue, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than DynamoDB allows: %w", streams.ErrInvalidRecord)
	}
	dt := av.DataType()
	if av.IsNull() && dt != events.DataTypeNull {
		return nil, fmt.Errorf("value without content: %w", streams.ErrInvalidRecord)
	}
	switch dt {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: av.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: av.Number()}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: av.Binary()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: av.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: av.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: av.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: av.BinarySet()}, nil
	case events.DataTypeList:
		l, err := attrmap.List(av.List(), nested(depth))
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case events.DataTypeMap:
		m, err := attrmap.Map(av.Map(), nested(depth))
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("unsupported value type %d: %w", dt, streams.ErrInvalidRecord)
}
