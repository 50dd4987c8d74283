package table_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/table"
)

// Session has plain attributes maintained outside the signed content: a
// TTL and a hit counter.
type Session struct {
	Tenant  string `dynamodbav:"tenant"     seal:"pk,tenant"`
	ID      string `dynamodbav:"id"         seal:"sk"`
	Data    string `dynamodbav:"data"       seal:"encrypt"`
	State   string `dynamodbav:"state"`
	Expires int64  `dynamodbav:"expires_at" seal:"plain"`
	Hits    int64  `dynamodbav:"hits"       seal:"plain"`
	Version int64  `dynamodbav:"v"          seal:"version"`
}

func sessions(t *testing.T, e *env, c table.Client) (*table.Table[Session], string) {
	t.Helper()
	name := createTable[Session](t, e, "sessions", nil)
	if c == nil {
		c = e.c
	}
	tb, err := table.New[Session](c, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	return tb, name
}

func skey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"tenant": table.S("tenant-a"), "id": table.S(id)}
}

// TestUpdateKeepsOutsidePlainWrites: an outside writer (the raw SDK) sets
// the TTL and adds to the counter between Update's read and its write;
// both survive, the update's own change lands, and the item verifies.
func TestUpdateKeepsOutsidePlainWrites(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tb, name := sessions(t, e, nil)
	a := tb.For("tenant-a")
	if err := a.Create(ctx, &Session{Tenant: "tenant-a", ID: "s1", Data: "d", Expires: 100}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		_, err := a.Update(ctx, sk("s1"), func(s *Session) error {
			if _, err := e.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: aws.String(name), Key: skey("s1"),
				UpdateExpression:          aws.String("SET expires_at = :e ADD hits :one"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":e": table.N(int64(1000 + i)), ":one": table.N(1)},
			}); err != nil {
				t.Fatal(err)
			}
			s.State = "round"
			s.Data = "secret"
			return nil
		})
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	got, err := a.Get(ctx, sk("s1"), table.ConsistentRead())
	if err != nil {
		t.Fatal(err)
	}
	if got.Hits != 5 || got.Expires != 1004 || got.State != "round" || got.Data != "secret" || got.Version != 6 {
		t.Fatalf("after racing outside writes: %+v, want hits 5, expires 1004, the update's fields, version 6", got)
	}
	// A plain attribute the update itself changes is written.
	if _, err := a.Update(ctx, sk("s1"), func(s *Session) error { s.Hits = 42; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ = a.Get(ctx, sk("s1"), table.ConsistentRead()); got.Hits != 42 {
		t.Fatalf("hits %d after the update set 42", got.Hits)
	}
}

// TestPlainOps: AddToCounter, SetExpiry and RemovePlain change one plain
// attribute without touching the signature; they refuse attributes that
// are not plain and never create an item.
func TestPlainOps(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tc := &twice{}
	tb, name := sessions(t, e, tc)
	tc.Client = e.c // every write below is sent twice
	a := tb.For("tenant-a")
	if err := a.Create(ctx, &Session{Tenant: "tenant-a", ID: "s1", Data: "d"}); err != nil {
		t.Fatal(err)
	}
	before := rawGet(t, e.c, name, skey("s1"))
	for range 10 {
		if err := a.AddToCounter(ctx, sk("s1"), "hits", 3); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Unix(1_900_000_000, 0)
	if err := a.SetExpiry(ctx, sk("s1"), "expires_at", at); err != nil {
		t.Fatal(err)
	}
	got, err := a.Get(ctx, sk("s1"), table.ConsistentRead())
	if err != nil {
		t.Fatal(err)
	}
	if got.Hits != 30 || got.Expires != at.Unix() || got.Version != 1 {
		t.Fatalf("after 10 AddToCounter(3) sent twice each and SetExpiry: %+v, want hits 30 (exactly once each)", got)
	}
	after := rawGet(t, e.c, name, skey("s1"))
	if !bytesEq(bval(t, after[attrSig]), bval(t, before[attrSig])) || !bytesEq(bval(t, after[hdr]), bval(t, before[hdr])) {
		t.Fatal("plain operations changed the header or signature")
	}
	if err := a.RemovePlain(ctx, sk("s1"), "expires_at"); err != nil {
		t.Fatal(err)
	}
	if got, err = a.Get(ctx, sk("s1"), table.ConsistentRead()); err != nil || got.Expires != 0 {
		t.Fatalf("after RemovePlain: %+v %v", got, err)
	}
	for _, attr := range []string{"data", "state", "v", "id", "tenant", "__s", "nope", ""} {
		if err := a.AddToCounter(ctx, sk("s1"), attr, 1); !errors.Is(err, table.ErrNotPlain) {
			t.Errorf("AddToCounter(%q): %v, want ErrNotPlain", attr, err)
		}
		if err := a.SetPlain(ctx, sk("s1"), attr, table.N(1)); !errors.Is(err, table.ErrNotPlain) {
			t.Errorf("SetPlain(%q): %v, want ErrNotPlain", attr, err)
		}
	}
	if err := a.AddToCounter(ctx, sk("missing"), "hits", 1); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("AddToCounter on a missing item: %v, want ErrNotFound", err)
	}
	if err := a.SetExpiry(ctx, sk("missing"), "expires_at", at); !errors.Is(err, table.ErrNotFound) {
		t.Fatalf("SetExpiry on a missing item: %v, want ErrNotFound", err)
	}
	out, err := e.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name), Key: skey("missing"), ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item != nil {
		t.Fatalf("a plain operation created an item: %v", err)
	}
}

const attrSig = "__s"

func bytesEq(a, b []byte) bool { return string(a) == string(b) }
