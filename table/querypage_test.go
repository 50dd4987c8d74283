package table_test

import (
	"context"
	"slices"
	"testing"

	"github.com/dynaseal/dynaseal/table"
)

// TestQueryPageNoRepeatAfterShortCall: a page that needs a second call
// (the first one's items were mostly another tenant's) and fills on the
// last item of a final call must not hand out the first call's
// LastEvaluatedKey as its cursor, which would repeat items on the next
// page.
func TestQueryPageNoRepeatAfterShortCall(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tb, _ := docs(t, e)
	for _, d := range []Doc{{SK: "a", Org: "o2"}, {SK: "b", Org: "o1"}, {SK: "c", Org: "o1"}, {SK: "d", Org: "o2"}, {SK: "e", Org: "o2"}} {
		d.PK = "p"
		if err := tb.For(d.Org).Put(ctx, &d); err != nil {
			t.Fatal(err)
		}
	}
	got := pageAll(ctx, t, tb.For("o1"), table.QueryInput{Partition: table.S("p"), PageSize: 2}, func(d *Doc) string { return d.SK })
	if !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("pages hold %v, want [b c]", got)
	}
}
