package table_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/table"
)

// Indexed has key candidates of every kind WithIndex must judge.
type Indexed struct {
	Tenant  string   `dynamodbav:"tenant" seal:"pk,tenant"`
	ID      string   `dynamodbav:"id"     seal:"sk"`
	Email   string   `dynamodbav:"email"  seal:"encrypt"`
	Status  string   `dynamodbav:"status"`
	Kind    string   `dynamodbav:"kind,omitempty"`
	Ref     *string  `dynamodbav:"ref"`
	RefOK   *string  `dynamodbav:"ref_ok,omitempty"`
	Blob    []byte   `dynamodbav:"blob"`
	Rank    int64    `dynamodbav:"rank"`
	State   string   `dynamodbav:"state,omitempty" seal:"plain"`
	Tags    []string `dynamodbav:"tags,omitempty"`
	Version int64    `dynamodbav:"v" seal:"version"`
}

// TestWithIndexRefusesBadKeys: New refuses, with ErrInvalidIndex and a
// message naming the index and the attribute, an index keyed on an
// encrypted attribute, on an attribute that can be empty without
// omitempty, on a non-scalar or an unknown attribute; it accepts signed
// and plain keys that cannot be stored empty.
func TestWithIndexRefusesBadKeys(t *testing.T) {
	c := oneShot("http://127.0.0.1:1") // never called: New does no I/O
	ok := []table.Index{
		{Name: "by-kind", PartitionKey: "kind", SortKey: "rank"},
		{Name: "by-tenant-kind", PartitionKey: "tenant", SortKey: "kind"},
		{Name: "by-state", PartitionKey: "state", SortKey: "id"},
		{Name: "by-ref", PartitionKey: "ref_ok"},
		{Name: "by-rank", PartitionKey: "rank", SortKey: "v"},
	}
	for _, ix := range ok {
		ix.Projection = types.ProjectionTypeAll
		if _, err := table.New[Indexed](c, "t", newStore(t), table.WithIndex(ix)); err != nil {
			t.Errorf("index %s: %v", ix.Name, err)
		}
	}
	bad := []struct {
		ix   table.Index
		attr string
		want string
	}{
		{table.Index{Name: "by-email", PartitionKey: "email"}, "email", "encrypted"},
		{table.Index{Name: "by-kind-email", PartitionKey: "kind", SortKey: "email"}, "email", "encrypted"},
		{table.Index{Name: "by-status", PartitionKey: "status"}, "status", "omitempty"},
		{table.Index{Name: "by-ref", PartitionKey: "ref"}, "ref", "omitempty"},
		{table.Index{Name: "by-blob", PartitionKey: "kind", SortKey: "blob"}, "blob", "omitempty"},
		{table.Index{Name: "by-tags", PartitionKey: "tags"}, "tags", "not stored as a string, number or binary"},
		{table.Index{Name: "by-nothing", PartitionKey: "nothing"}, "nothing", "not an attribute"},
	}
	for _, b := range bad {
		b.ix.Projection = types.ProjectionTypeAll
		_, err := table.New[Indexed](c, "t", newStore(t), table.WithIndex(b.ix))
		if !errors.Is(err, table.ErrInvalidIndex) {
			t.Errorf("index %s: %v, want ErrInvalidIndex", b.ix.Name, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, `"`+b.ix.Name+`"`) || !strings.Contains(msg, `"`+b.attr+`"`) || !strings.Contains(msg, b.want) {
			t.Errorf("index %s: message %q should name the index, %q and say %q", b.ix.Name, msg, b.attr, b.want)
		}
		if b.want == "omitempty" && !strings.Contains(msg, "dynamodbav") {
			t.Errorf("index %s: %q should say the omitempty goes in the dynamodbav tag", b.ix.Name, msg)
		}
	}
	// Both keys bad: both reported.
	_, err := table.New[Indexed](c, "t", newStore(t), table.WithIndex(table.Index{Name: "two", PartitionKey: "email", SortKey: "status", Projection: types.ProjectionTypeAll}))
	if !errors.Is(err, table.ErrInvalidIndex) || !strings.Contains(err.Error(), `"email"`) || !strings.Contains(err.Error(), `"status"`) {
		t.Fatalf("two bad keys: %v", err)
	}
}
