package attrcrypt

import "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

// MaxItemSize is DynamoDB's item size limit, 400 KB, in the units ItemSize
// returns.
const MaxItemSize = 400 * 1024

// ItemSize returns the size of item as DynamoDB counts it against the
// 400 KB item limit: for every attribute the UTF-8 bytes of its name plus
// the size of its value, where
//
//   - S and B: their length in bytes;
//   - N: one byte per two significant digits plus one byte (DynamoDB
//     documents this as approximate);
//   - BOOL and NULL: 1 byte;
//   - SS, NS, BS: the sum of their elements' sizes;
//   - L and M: 3 bytes, plus 1 byte per element, plus the elements' sizes
//     (and, for M, the bytes of every key).
//
// Use it on a sealed item to refuse one that is too large before calling
// DynamoDB (ItemSize(sealed) > MaxItemSize).
func ItemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, av := range item {
		n += len(name) + valueSize(av)
	}
	return n
}

func valueSize(av types.AttributeValue) int {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 0
}
