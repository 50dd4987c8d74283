package attrcrypt

import (
	"fmt"
	"maps"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// deepCopy copies an attribute value, byte slices included, so a later
// comparison notices any in-place change of the original.
func deepCopy(av types.AttributeValue) types.AttributeValue {
	switch v := av.(type) {
	case *types.AttributeValueMemberB:
		return &types.AttributeValueMemberB{Value: append([]byte(nil), v.Value...)}
	case *types.AttributeValueMemberBS:
		bs := make([][]byte, len(v.Value))
		for i, b := range v.Value {
			bs[i] = append([]byte(nil), b...)
		}
		return &types.AttributeValueMemberBS{Value: bs}
	case *types.AttributeValueMemberSS:
		return &types.AttributeValueMemberSS{Value: append([]string(nil), v.Value...)}
	case *types.AttributeValueMemberNS:
		return &types.AttributeValueMemberNS{Value: append([]string(nil), v.Value...)}
	case *types.AttributeValueMemberL:
		l := make([]types.AttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = deepCopy(e)
		}
		return &types.AttributeValueMemberL{Value: l}
	case *types.AttributeValueMemberM:
		return &types.AttributeValueMemberM{Value: deepCopyItem(v.Value)}
	case *types.AttributeValueMemberS:
		return &types.AttributeValueMemberS{Value: v.Value}
	case *types.AttributeValueMemberN:
		return &types.AttributeValueMemberN{Value: v.Value}
	case *types.AttributeValueMemberBOOL:
		return &types.AttributeValueMemberBOOL{Value: v.Value}
	case *types.AttributeValueMemberNULL:
		return &types.AttributeValueMemberNULL{Value: v.Value}
	}
	panic(fmt.Sprintf("deepCopy: %T", av))
}

func deepCopyItem(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(item))
	for k, v := range item {
		out[k] = deepCopy(v)
	}
	return out
}

// Seal and Open reuse pooled scratch buffers. Nothing they return may share
// memory with those buffers (or with each other's results): a sealed or
// opened item must stay exactly as returned however many calls follow, and
// the caller's input must never change.
func TestReturnedItemsDoNotAliasScratch(t *testing.T) {
	actions := map[string]Action{
		"s": ActionEncrypt, "n": ActionEncrypt, "b": ActionEncrypt, "ns": ActionEncrypt,
		"ss": ActionEncrypt, "bs": ActionEncrypt, "m": ActionEncrypt, "l": ActionEncrypt,
		"p": ActionPlain,
	}
	s, err := NewSealer(Config{Table: "tbl", TenantAttribute: "tenant", Actions: actions})
	if err != nil {
		t.Fatal(err)
	}
	key := testKey("t1", "", 1)
	mkItem := func(i int) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"tenant": S("t1"),
			"id":     S(fmt.Sprintf("id-%d", i)),
			"s":      S(fmt.Sprintf("secret %d %0*d", i, i%50, i)),
			"n":      N(fmt.Sprintf("%d.50", i)),
			"b":      B([]byte(fmt.Sprintf("bytes-%d", i))),
			"ns":     NS(fmt.Sprint(i+2), fmt.Sprint(i+1), "1E-3"),
			"ss":     SS("z", fmt.Sprint("a", i)),
			"bs":     &types.AttributeValueMemberBS{Value: [][]byte{{byte(i)}, {0xff, byte(i)}}},
			"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"k": S(fmt.Sprint("v", i)), "n": N("0012"), "b": B([]byte{byte(i), 1}),
			}},
			"l":    &types.AttributeValueMemberL{Value: []types.AttributeValue{S(fmt.Sprint(i)), B([]byte{byte(i)})}},
			"sign": N(fmt.Sprint(i)),
			"p":    S("plain"),
		}
	}
	type kept struct {
		input, inputCopy, sealed, sealedCopy, opened, openedCopy map[string]types.AttributeValue
	}
	var all []kept
	for i := range 40 {
		item := mkItem(i)
		itemCopy := deepCopyItem(item)
		sealed, err := s.Seal(item, key)
		if err != nil {
			t.Fatal(err)
		}
		sealedCopy := deepCopyItem(sealed)
		opened, _, err := s.Open(sealed, key)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, kept{item, itemCopy, sealed, sealedCopy, opened, deepCopyItem(opened)})
	}
	for i, k := range all {
		if !reflect.DeepEqual(k.input, k.inputCopy) {
			t.Errorf("item %d: Seal's input changed", i)
		}
		if !reflect.DeepEqual(k.sealed, k.sealedCopy) {
			t.Errorf("item %d: sealed item changed after later calls", i)
		}
		if !reflect.DeepEqual(k.opened, k.openedCopy) {
			t.Errorf("item %d: opened item changed after later calls", i)
		}
		if !reflect.DeepEqual(k.opened, canonicalItem(t, k.input)) {
			t.Errorf("item %d: opened item differs from the input", i)
		}
		// The sealed item must still open (its bytes are intact), and
		// writing to a result must not reach the input or another result.
		opened, _, err := s.Open(k.sealed, key)
		if err != nil {
			t.Fatalf("item %d: reopening: %v", i, err)
		}
		maps.Copy(opened, map[string]types.AttributeValue{"s": S("overwritten")})
		if !reflect.DeepEqual(k.opened, k.openedCopy) || !reflect.DeepEqual(k.input, k.inputCopy) {
			t.Errorf("item %d: results share a map", i)
		}
	}
}

// Open returns no reserved attribute, including ones this version does not
// know (a later format version's, or junk), and the result is its own map.
func TestOpenDropsEveryReservedName(t *testing.T) {
	s := refSealer(t)
	key := testKey(refTenant, "", 1)
	sealed, err := s.Seal(refItem(), key)
	if err != nil {
		t.Fatal(err)
	}
	sealed["__x"] = S("future")
	sealed["__"] = N("1")
	got, _, err := s.Open(sealed, key)
	if err != nil {
		t.Fatal(err)
	}
	for name := range got {
		if IsReserved(name) {
			t.Errorf("Open returned reserved attribute %q", name)
		}
	}
	assertEqualItems(t, got, refItem())
	if _, ok := sealed["__x"]; !ok || len(sealed) != len(refItem())+4 {
		t.Error("Open modified its input")
	}
}
