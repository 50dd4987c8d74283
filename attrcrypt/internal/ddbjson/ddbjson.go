// Package ddbjson converts DynamoDB attribute values to and from the JSON
// form DynamoDB's own API uses ({"S": "x"}, {"N": "1"}, {"B": "<base64>"},
// {"BOOL": true}, {"NULL": true}, {"L": [...]}, {"M": {...}}, {"SS": [...]},
// {"NS": [...]}, {"BS": ["<base64>", ...]}). attrcrypt's test vectors use it.
package ddbjson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Value converts one attribute value to its JSON-ready form.
func Value(av types.AttributeValue) (any, error) {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": v.Value}, nil
	case *types.AttributeValueMemberN:
		return map[string]any{"N": v.Value}, nil
	case *types.AttributeValueMemberB:
		return map[string]any{"B": base64.StdEncoding.EncodeToString(v.Value)}, nil
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}, nil
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": v.Value}, nil
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}, nil
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": v.Value}, nil
	case *types.AttributeValueMemberBS:
		s := make([]string, len(v.Value))
		for i, b := range v.Value {
			s[i] = base64.StdEncoding.EncodeToString(b)
		}
		return map[string]any{"BS": s}, nil
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			x, err := Value(e)
			if err != nil {
				return nil, err
			}
			l[i] = x
		}
		return map[string]any{"L": l}, nil
	case *types.AttributeValueMemberM:
		m, err := Item(v.Value)
		if err != nil {
			return nil, err
		}
		return map[string]any{"M": m}, nil
	}
	return nil, fmt.Errorf("ddbjson: unsupported attribute value %T", av)
}

// Item converts an item to its JSON-ready form.
func Item(item map[string]types.AttributeValue) (map[string]any, error) {
	out := make(map[string]any, len(item))
	for k, v := range item {
		x, err := Value(v)
		if err != nil {
			return nil, err
		}
		out[k] = x
	}
	return out, nil
}

// MarshalItem encodes an item as DynamoDB JSON (map keys sorted).
func MarshalItem(item map[string]types.AttributeValue) ([]byte, error) {
	m, err := Item(item)
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// UnmarshalItem decodes a DynamoDB JSON item.
func UnmarshalItem(b []byte) (map[string]types.AttributeValue, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	out := make(map[string]types.AttributeValue, len(raw))
	for k, r := range raw {
		v, err := UnmarshalValue(r)
		if err != nil {
			return nil, fmt.Errorf("ddbjson: attribute %q: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

// UnmarshalValue decodes one DynamoDB JSON value.
func UnmarshalValue(b []byte) (types.AttributeValue, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	if len(raw) != 1 {
		return nil, errors.New("ddbjson: a value must have exactly one type key")
	}
	for t, r := range raw {
		switch t {
		case "S":
			var s string
			err := json.Unmarshal(r, &s)
			return &types.AttributeValueMemberS{Value: s}, err
		case "N":
			var s string
			err := json.Unmarshal(r, &s)
			return &types.AttributeValueMemberN{Value: s}, err
		case "B":
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return nil, err
			}
			v, err := base64.StdEncoding.DecodeString(s)
			return &types.AttributeValueMemberB{Value: v}, err
		case "BOOL":
			var v bool
			err := json.Unmarshal(r, &v)
			return &types.AttributeValueMemberBOOL{Value: v}, err
		case "NULL":
			var v bool
			err := json.Unmarshal(r, &v)
			return &types.AttributeValueMemberNULL{Value: v}, err
		case "SS", "NS":
			var s []string
			if err := json.Unmarshal(r, &s); err != nil {
				return nil, err
			}
			if s == nil {
				s = []string{}
			}
			if t == "SS" {
				return &types.AttributeValueMemberSS{Value: s}, nil
			}
			return &types.AttributeValueMemberNS{Value: s}, nil
		case "BS":
			var s []string
			if err := json.Unmarshal(r, &s); err != nil {
				return nil, err
			}
			bs := make([][]byte, len(s))
			for i, x := range s {
				v, err := base64.StdEncoding.DecodeString(x)
				if err != nil {
					return nil, err
				}
				bs[i] = v
			}
			return &types.AttributeValueMemberBS{Value: bs}, nil
		case "L":
			var l []json.RawMessage
			if err := json.Unmarshal(r, &l); err != nil {
				return nil, err
			}
			out := make([]types.AttributeValue, len(l))
			for i, e := range l {
				v, err := UnmarshalValue(e)
				if err != nil {
					return nil, err
				}
				out[i] = v
			}
			return &types.AttributeValueMemberL{Value: out}, nil
		case "M":
			m, err := UnmarshalItem(r)
			if err != nil {
				return nil, err
			}
			return &types.AttributeValueMemberM{Value: m}, nil
		}
		return nil, fmt.Errorf("ddbjson: unknown type key %q", t)
	}
	return nil, errors.New("unreachable")
}

// SortedKeys returns an item's attribute names in byte order.
func SortedKeys(item map[string]types.AttributeValue) []string {
	keys := make([]string, 0, len(item))
	for k := range item {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
