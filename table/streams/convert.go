package streams

import (
	"fmt"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/dynaseal/dynaseal/table/streams/internal/attrmap"
)

// maxDepth bounds the nesting of a converted value. DynamoDB allows 32
// levels; anything deeper did not come from DynamoDB, and the bound keeps
// the recursion small whatever a record holds.
const maxDepth = 64

// Image converts a stream image (or Keys) from the dynamodbstreams types to
// the dynamodb ones that the table package reads, every type and nested
// value included. Byte slices are shared, not copied. nil converts to nil.
// A nil value, an unknown union member or nesting deeper than DynamoDB
// allows fails with ErrInvalidRecord, naming the top-level attribute only
// (nested map keys can be data).
func Image(m map[string]types.AttributeValue) (map[string]ddbtypes.AttributeValue, error) {
	out, err := image(m)
	if err != nil {
		return nil, fmt.Errorf("streams: %w", err)
	}
	return out, nil
}

func image(m map[string]types.AttributeValue) (map[string]ddbtypes.AttributeValue, error) {
	return attrmap.Image(m, func(av types.AttributeValue) (ddbtypes.AttributeValue, error) { return convert(av, 0) })
}

// AttributeValue converts one dynamodbstreams attribute value to the
// dynamodb type, as Image does.
func AttributeValue(av types.AttributeValue) (ddbtypes.AttributeValue, error) {
	v, err := convert(av, 0)
	if err != nil {
		return nil, fmt.Errorf("streams: %w", err)
	}
	return v, nil
}

func convert(av types.AttributeValue, depth int) (ddbtypes.AttributeValue, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than DynamoDB allows: %w", ErrInvalidRecord)
	}
	// A typed nil pointer falls through every case to the nil error.
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		if v != nil {
			return &ddbtypes.AttributeValueMemberS{Value: v.Value}, nil
		}
	case *types.AttributeValueMemberN:
		if v != nil {
			return &ddbtypes.AttributeValueMemberN{Value: v.Value}, nil
		}
	case *types.AttributeValueMemberB:
		if v != nil {
			return &ddbtypes.AttributeValueMemberB{Value: v.Value}, nil
		}
	case *types.AttributeValueMemberBOOL:
		if v != nil {
			return &ddbtypes.AttributeValueMemberBOOL{Value: v.Value}, nil
		}
	case *types.AttributeValueMemberNULL:
		if v != nil {
			return &ddbtypes.AttributeValueMemberNULL{Value: v.Value}, nil
		}
	case *types.AttributeValueMemberSS:
		if v != nil {
			return &ddbtypes.AttributeValueMemberSS{Value: v.Value}, nil
		}
	case *types.AttributeValueMemberNS:
		if v != nil {
			return &ddbtypes.AttributeValueMemberNS{Value: v.Value}, nil
		}
	case *types.AttributeValueMemberBS:
		if v != nil {
			return &ddbtypes.AttributeValueMemberBS{Value: v.Value}, nil
		}
	case *types.AttributeValueMemberL:
		if v != nil {
			l, err := attrmap.List(v.Value, nested(depth))
			if err != nil {
				return nil, err
			}
			return &ddbtypes.AttributeValueMemberL{Value: l}, nil
		}
	case *types.AttributeValueMemberM:
		if v != nil {
			m, err := attrmap.Map(v.Value, nested(depth))
			if err != nil {
				return nil, err
			}
			return &ddbtypes.AttributeValueMemberM{Value: m}, nil
		}
	case nil:
	default:
		// *types.UnknownUnionMember (a type newer than this SDK) or a
		// caller's own implementation: nothing to verify it against.
		return nil, fmt.Errorf("unsupported value type %T: %w", av, ErrInvalidRecord)
	}
	return nil, fmt.Errorf("nil value: %w", ErrInvalidRecord)
}

// nested converts the elements of a list or map at depth.
func nested(depth int) func(types.AttributeValue) (ddbtypes.AttributeValue, error) {
	return func(av types.AttributeValue) (ddbtypes.AttributeValue, error) { return convert(av, depth+1) }
}
