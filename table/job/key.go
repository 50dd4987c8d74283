package job

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// keyAttr is one key attribute in a checkpoint: exactly one of S, N, B.
type keyAttr struct {
	S *string `json:"S,omitempty"`
	N *string `json:"N,omitempty"`
	B []byte  `json:"B,omitempty"`
}

// EncodeKey encodes a LastEvaluatedKey for a checkpoint. Key attributes
// are scalars (S, N or B); any other type is refused, so that a checkpoint
// can never carry an item's non-key values. An empty key encodes to nil.
func EncodeKey(key map[string]types.AttributeValue) ([]byte, error) {
	if len(key) == 0 {
		return nil, nil
	}
	m := make(map[string]keyAttr, len(key))
	for name, av := range key {
		switch v := av.(type) {
		case *types.AttributeValueMemberS:
			m[name] = keyAttr{S: &v.Value}
		case *types.AttributeValueMemberN:
			m[name] = keyAttr{N: &v.Value}
		case *types.AttributeValueMemberB:
			if v.Value == nil {
				return nil, fmt.Errorf("job: key attribute %q is an empty binary", name)
			}
			m[name] = keyAttr{B: v.Value}
		default:
			return nil, fmt.Errorf("job: key attribute %q is not a string, number or binary", name)
		}
	}
	return json.Marshal(m)
}

// DecodeKey decodes what EncodeKey wrote; empty input gives a nil key.
func DecodeKey(b []byte) (map[string]types.AttributeValue, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var m map[string]keyAttr
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: resume key", ErrCheckpointCorrupt)
	}
	key := make(map[string]types.AttributeValue, len(m))
	for name, a := range m {
		n := 0
		switch {
		case a.S != nil:
			key[name] = &types.AttributeValueMemberS{Value: *a.S}
			n++
		case a.N != nil:
			key[name] = &types.AttributeValueMemberN{Value: *a.N}
			n++
		case a.B != nil:
			key[name] = &types.AttributeValueMemberB{Value: a.B}
			n++
		}
		if n != 1 || (a.S != nil && a.N != nil) || (a.B != nil && (a.S != nil || a.N != nil)) {
			return nil, fmt.Errorf("%w: resume key attribute %q", ErrCheckpointCorrupt, name)
		}
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: empty resume key", ErrCheckpointCorrupt)
	}
	return key, nil
}
