package table_test

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/table"
)

// TestReseal: after a rotation, Reseal moves exactly the stale items of the
// rotated tenant to the new version, leaves current items alone, reports a
// tampered item instead of rewriting it, and a second pass finds nothing.
func TestReseal(t *testing.T) {
	e := newEnv(t)
	tb, name := patients(t, e)
	ctx := context.Background()
	versionOf := func(tenant, id string) uint32 {
		h := bval(t, rawGet(t, e.c, name, pkey(tenant, id))[hdr])
		return binary.BigEndian.Uint32(h[2:]) // class "" -> version at 2
	}
	ids := []string{"p1", "p2", "p3", "p4"}
	for _, tenant := range []string{"tenant-a", "tenant-b"} {
		for _, id := range ids {
			if err := tb.For(tenant).Create(ctx, &Patient{Tenant: tenant, ID: id, Name: "n-" + id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := e.store.Rotate(ctx, "tenant-a", ""); err != nil {
		t.Fatal(err)
	}
	// One of tenant A's items is tampered with: it must be reported, not
	// rewritten under the new key (which would launder the edit).
	it := rawGet(t, e.c, name, pkey("tenant-a", "p4"))
	it["plan"] = &types.AttributeValueMemberS{Value: "edited"}
	rawPut(t, e.c, name, it)

	st, err := tb.Reseal(ctx, table.ScanInput{PageSize: 3}) // several pages
	if err != nil {
		t.Fatal(err)
	}
	if st.Scanned != 8 || st.Resealed != 3 || st.Current != 4 || len(st.Failed) != 1 {
		t.Fatalf("first pass: %+v, want 8 scanned, 3 resealed, 4 current, 1 failed", st)
	}
	if !errors.Is(st.Failed[0], table.ErrTampered) {
		t.Fatalf("failed item: %v, want ErrTampered", st.Failed[0])
	}
	// Every genuine item of tenant A is now at version 2 (the tampered one
	// does not count); tenant B was not rotated.
	if st.SafeFloor["tenant-a"] != 2 || st.SafeFloor["tenant-b"] != 1 || len(st.SafeFloor) != 2 {
		t.Fatalf("SafeFloor %v, want tenant-a 2, tenant-b 1", st.SafeFloor)
	}
	if err := e.store.Retire(ctx, "tenant-a", "", st.SafeFloor["tenant-a"]); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[:3] {
		if v := versionOf("tenant-a", id); v != 2 {
			t.Errorf("tenant-a/%s sealed with version %d after reseal, want 2", id, v)
		}
		p, err := tb.For("tenant-a").Get(ctx, sk(id))
		if err != nil || p.Name != "n-"+id {
			t.Errorf("tenant-a/%s after reseal: %v", id, err)
		}
	}
	if v := versionOf("tenant-a", "p4"); v != 1 {
		t.Errorf("tampered item was rewritten (version %d)", v)
	}
	for _, id := range ids {
		if v := versionOf("tenant-b", id); v != 1 {
			t.Errorf("tenant-b/%s version %d, want 1 (not rotated, not rewritten)", id, v)
		}
	}
	st, err = tb.Reseal(ctx, table.ScanInput{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Resealed != 0 || st.Current != 7 || len(st.Failed) != 1 {
		t.Fatalf("second pass: %+v, want nothing resealed, 7 current, the tampered item failed again", st)
	}
}
