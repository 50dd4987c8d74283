package main

import (
	"encoding/base64"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// plainJSON converts an attribute value to plain JSON: S a string, N a
// number (its exact text), BOOL, NULL null, B base64, sets and L arrays, M
// an object. It is what an export gives a data subject; typedJSON keeps
// DynamoDB's types.
func plainJSON(v types.AttributeValue) any {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return json.Number(v.Value)
	case *types.AttributeValueMemberBOOL:
		return v.Value
	case *types.AttributeValueMemberNULL:
		return nil
	case *types.AttributeValueMemberB:
		return base64.StdEncoding.EncodeToString(v.Value)
	case *types.AttributeValueMemberSS:
		return append([]string{}, v.Value...)
	case *types.AttributeValueMemberNS:
		out := make([]json.Number, len(v.Value))
		for i, n := range v.Value {
			out[i] = json.Number(n)
		}
		return out
	case *types.AttributeValueMemberBS:
		out := make([]string, len(v.Value))
		for i, b := range v.Value {
			out[i] = base64.StdEncoding.EncodeToString(b)
		}
		return out
	case *types.AttributeValueMemberL:
		out := make([]any, len(v.Value))
		for i, e := range v.Value {
			out[i] = plainJSON(e)
		}
		return out
	case *types.AttributeValueMemberM:
		return plainItem(v.Value)
	}
	return nil
}

// plainItem converts an item with plainJSON.
func plainItem(item map[string]types.AttributeValue) map[string]any {
	out := make(map[string]any, len(item))
	for k, e := range item {
		out[k] = plainJSON(e)
	}
	return out
}

// typedJSON converts an attribute value to DynamoDB's JSON form, as the
// AWS CLI prints it ({"S": "…"}, {"N": "…"}, {"B": base64}, …).
func typedJSON(v types.AttributeValue) any {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": true}
	case *types.AttributeValueMemberB:
		return map[string]any{"B": v.Value} // encoding/json writes []byte as base64
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": v.Value}
	case *types.AttributeValueMemberBS:
		return map[string]any{"BS": v.Value}
	case *types.AttributeValueMemberL:
		out := make([]any, len(v.Value))
		for i, e := range v.Value {
			out[i] = typedJSON(e)
		}
		return map[string]any{"L": out}
	case *types.AttributeValueMemberM:
		return map[string]any{"M": typedItem(v.Value)}
	}
	return nil
}

// typedItem converts an item with typedJSON.
func typedItem(item map[string]types.AttributeValue) map[string]any {
	out := make(map[string]any, len(item))
	for k, e := range item {
		out[k] = typedJSON(e)
	}
	return out
}
