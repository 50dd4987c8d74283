package table

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestBackoffBounds: full jitter stays within [0, min(max, base*2^(n-1))].
func TestBackoffBounds(t *testing.T) {
	base, max := 10*time.Millisecond, 80*time.Millisecond
	for attempt := 1; attempt <= 10; attempt++ {
		ceil := base << (attempt - 1)
		if ceil > max {
			ceil = max
		}
		var seenHigh bool
		for range 2000 {
			d := backoff(base, max, attempt)
			if d < 0 || d > ceil {
				t.Fatalf("attempt %d: %v outside [0, %v]", attempt, d, ceil)
			}
			seenHigh = seenHigh || d > ceil/2
		}
		if !seenHigh {
			t.Fatalf("attempt %d: never above half the ceiling; no exponential growth", attempt)
		}
	}
}

// TestKeyStringUnambiguous: distinct keys never share a map key.
func TestKeyStringUnambiguous(t *testing.T) {
	type kv = map[string]types.AttributeValue
	pairs := [][2]kv{
		{{"pk": S("a"), "sk": S("bc")}, {"pk": S("ab"), "sk": S("c")}},
		{{"pk": S("1"), "sk": S("x")}, {"pk": N(1), "sk": S("x")}},
		{{"pk": S("a"), "sk": &types.AttributeValueMemberB{Value: []byte("x")}}, {"pk": S("a"), "sk": S("x")}},
		{{"pk": S("S1:a"), "sk": S("")}, {"pk": S(""), "sk": S("S1:a")}},
	}
	for _, p := range pairs {
		a, b := keyStringOf(p[0]), keyStringOf(p[1])
		if a == b {
			t.Fatalf("%q collides", a)
		}
	}
}

// keyStringOf builds the key string as Table.keyString does for a table
// with partition key pk and sort key sk.
func keyStringOf(m map[string]types.AttributeValue) string {
	var b strings.Builder
	writeScalar(&b, m["pk"])
	writeScalar(&b, m["sk"])
	return b.String()
}
