package genrt

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestErrorsCarryNoValues(t *testing.T) {
	_, perr := strconv.ParseInt("secret-123", 10, 64)
	for _, err := range []error{
		NumberError("T.f", "int", perr),
		MapKeyError("T.f", "int", perr),
		TypeError("T.f", "int", &types.AttributeValueMemberS{Value: "secret-123"}),
		TimeError("T.f"),
	} {
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error carries the value: %v", err)
		}
		if !errors.Is(err, ErrDecode) {
			t.Errorf("%v does not wrap ErrDecode", err)
		}
	}
	if !errors.Is(NumberError("T.f", "int", perr), strconv.ErrSyntax) {
		t.Error("NumberError loses the strconv cause")
	}
}

func TestFold(t *testing.T) {
	names := []string{"id", "Name", "name"}
	for k, want := range map[string]int{"ID": 0, "NAME": 1, "x": -1, "name": 1} {
		if got := Fold(k, names); got != want {
			t.Errorf("Fold(%q) = %d, want %d", k, got, want)
		}
	}
}

type tagged struct {
	A string `dynamodbav:"a"`
	B int
}

func TestCheckTags(t *testing.T) {
	rt := reflect.TypeFor[tagged]()
	if err := CheckTags(rt, []FieldTag{{Index: []int{0}, Tag: `dynamodbav:"a"`}, {Index: []int{1}}}); err != nil {
		t.Fatal(err)
	}
	err := CheckTags(rt, []FieldTag{{Index: []int{0}, Tag: `dynamodbav:"a" seal:"encrypt"`}})
	if !errors.Is(err, ErrStale) {
		t.Fatalf("changed tag: %v, want ErrStale", err)
	}
	if err := CheckTags(rt, []FieldTag{{Index: []int{5}}}); !errors.Is(err, ErrStale) {
		t.Fatalf("missing field: %v, want ErrStale", err)
	}
}

type formatted struct{}

func (formatted) Format(f fmt.State, verb rune) {
	Format(f, verb, "p.T", []Field{{Name: "ID", Value: "x1"}, {Name: "SSN", Redacted: true}, {Name: "N", Value: 3}})
}

func TestFormat(t *testing.T) {
	for verb, want := range map[string]string{
		"%v":  "{x1 [REDACTED] 3}",
		"%+v": "{ID:x1 SSN:[REDACTED] N:3}",
		"%#v": `p.T{ID:"x1", SSN:[REDACTED], N:3}`,
		"%s":  "{x1 [REDACTED] %!s(int=3)}",
	} {
		if got := fmt.Sprintf(verb, formatted{}); got != want {
			t.Errorf("%s: got %s, want %s", verb, got, want)
		}
	}
}

func TestFallbackErrorsCarryNoValues(t *testing.T) {
	var out struct {
		F int8 `dynamodbav:"x"`
	}
	err := UnmarshalField(&types.AttributeValueMemberN{Value: "31337"}, &out)
	if err == nil || strings.Contains(err.Error(), "31337") {
		t.Fatalf("fallback error %v", err)
	}
	var tm struct {
		F map[string]any `dynamodbav:"x"`
	}
	err = UnmarshalField(&types.AttributeValueMemberS{Value: "secret"}, &tm)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("fallback error %v", err)
	}
}

func TestFallbackRecoversPanics(t *testing.T) {
	var out struct {
		F [2]byte `dynamodbav:"x"`
	}
	err := UnmarshalField(&types.AttributeValueMemberB{Value: []byte("abc")}, &out)
	if err == nil {
		t.Fatal("attributevalue's panic on a short array was not turned into an error")
	}
	av, ok, err := MarshalField(&struct {
		F int `dynamodbav:"x,omitempty"`
	}{})
	if err != nil || ok || av != nil {
		t.Fatalf("omitted field: %v %v %v", av, ok, err)
	}
}

type taggedJSON struct {
	A string `json:"a,omitempty" dynamodbav:"a" validate:"required"`
	B int    `json:"b"`
}

// A tag key that does not change the item (json, validate...) never makes
// a generated codec stale; dynamodbav and seal do.
func TestCheckTagsIgnoresOtherKeys(t *testing.T) {
	rt := reflect.TypeFor[taggedJSON]()
	seen := []FieldTag{{Index: []int{0}, Tag: `dynamodbav:"a"`}, {Index: []int{1}}}
	if err := CheckTags(rt, seen); err != nil {
		t.Fatalf("json and validate tags made the codec stale: %v", err)
	}
	for _, changed := range []FieldTag{
		{Index: []int{0}, Tag: `dynamodbav:"a,omitempty"`},
		{Index: []int{0}, Tag: `dynamodbav:"a" seal:"encrypt"`},
		{Index: []int{1}, Tag: `dynamodbav:"b"`},
	} {
		if err := CheckTags(rt, []FieldTag{changed}); !errors.Is(err, ErrStale) {
			t.Errorf("CheckTags(%+v) = %v, want ErrStale", changed, err)
		}
	}
	if got := ItemTag(`json:"x" seal:"encrypt" dynamodbav:"n,omitempty"`); got != `dynamodbav:"n,omitempty" seal:"encrypt"` {
		t.Errorf("ItemTag = %s", got)
	}
}
