package table

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/tenantkeys"
)

type fuzzItem struct {
	Tenant string `dynamodbav:"tenant" seal:"pk,tenant"`
	ID     string `dynamodbav:"id"     seal:"sk"`
}

type noCalls struct{ Client }

// FuzzCursor feeds arbitrary cursors to the decoder: it never panics, and
// anything but a genuine cursor is ErrInvalidCursor.
func FuzzCursor(f *testing.F) {
	var mk [32]byte
	if _, err := rand.Read(mk[:]); err != nil {
		f.Fatal(err)
	}
	kr, err := tenantkeys.ParseKeyring([]byte("m " + hex.EncodeToString(mk[:])))
	if err != nil {
		f.Fatal(err)
	}
	tb, err := New[fuzzItem](noCalls{}, "fuzz", tenantkeys.NewMemoryStore(kr, tenantkeys.WithCreateOnFirstUse(true)))
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	s := tb.For("tenant-a")
	in := QueryInput{}
	ad := queryBinding(&in, S("tenant-a"))
	last := map[string]types.AttributeValue{"tenant": S("tenant-a"), "id": S("p1")}
	genuine, err := s.encodeCursor(ctx, last, ad)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(genuine)
	f.Add("")
	f.Add("AQAAAAE")
	f.Add(genuine[:len(genuine)-1])
	f.Fuzz(func(t *testing.T, c string) {
		got, err := s.decodeCursor(ctx, c, ad)
		if c == genuine {
			if err != nil || !scalarEqual(got["id"], S("p1")) {
				t.Fatalf("genuine cursor: %v", err)
			}
			return
		}
		if !errors.Is(err, ErrInvalidCursor) {
			t.Fatalf("cursor %q: err %v, want ErrInvalidCursor", c, err)
		}
	})
}
