package table_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/table"
)

const (
	hdr = attrcrypt.HeaderAttribute
	sig = attrcrypt.SignatureAttribute
)

func bval(t testing.TB, v types.AttributeValue) []byte {
	t.Helper()
	b, ok := v.(*types.AttributeValueMemberB)
	if !ok {
		t.Fatalf("attribute is %T, want B", v)
	}
	return slices.Clone(b.Value)
}

// wantTampered asserts errors.Is(err, ErrTampered) and, when reasons is not
// empty, that the *attrcrypt.TamperError reason is one of them.
func wantTampered(t *testing.T, err error, reasons ...string) {
	t.Helper()
	if !errors.Is(err, table.ErrTampered) {
		t.Fatalf("err = %v, want ErrTampered", err)
	}
	for _, secret := range []string{"Lovelace", "Hopper", "123-45-6789", "987-65-4321"} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error text contains plaintext: %v", err)
		}
	}
	if len(reasons) == 0 {
		return
	}
	var te *attrcrypt.TamperError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want an *attrcrypt.TamperError", err)
	}
	if !slices.Contains(reasons, te.Reason) {
		t.Fatalf("reason = %q, want one of %q", te.Reason, reasons)
	}
}

// TestTamperMatrix seals items through the table, alters them with the raw
// SDK client, reads them back through the table (Get, Query, BatchGet and
// TransactGet) and expects ErrTampered with the specific reason.
func TestTamperMatrix(t *testing.T) {
	e := newEnv(t)
	tb, name := patients(t, e)
	ctx := context.Background()
	a, b := tb.For("tenant-a"), tb.For("tenant-b")
	if err := b.Create(ctx, &Patient{Tenant: "tenant-b", ID: "b-seed", Name: "B"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		reasons []string
		// mutate returns the tampered item; it is written with PutItem and
		// read back through the scope of its tenant attribute by its id.
		mutate func(t *testing.T, it, other map[string]types.AttributeValue) map[string]types.AttributeValue
	}{
		{"moved to another tenant's partition", []string{attrcrypt.ReasonCommitment}, func(t *testing.T, it, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
			it["tenant"] = table.S("tenant-b")
			return it
		}},
		{"sort key changed", []string{attrcrypt.ReasonSignature}, func(t *testing.T, it, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
			it["id"] = table.S(it["id"].(*types.AttributeValueMemberS).Value + "-moved")
			return it
		}},
		{"encrypted values swapped between attributes", []string{attrcrypt.ReasonSignature, attrcrypt.ReasonAttribute}, func(t *testing.T, it, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
			it["name"], it["ssn"] = it["ssn"], it["name"]
			return it
		}},
		{"encrypted value taken from another item", []string{attrcrypt.ReasonSignature, attrcrypt.ReasonAttribute}, func(t *testing.T, it, other map[string]types.AttributeValue) map[string]types.AttributeValue {
			it["ssn"] = other["ssn"]
			return it
		}},
		{"signed attribute edited", []string{attrcrypt.ReasonSignature}, func(t *testing.T, it, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
			it["plan"] = table.S("platinum")
			return it
		}},
		{"version attribute edited", []string{attrcrypt.ReasonSignature}, func(t *testing.T, it, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
			it["v"] = table.N(7)
			return it
		}},
		{"signed attribute added", []string{attrcrypt.ReasonAttributeSet, attrcrypt.ReasonSignature}, func(t *testing.T, it, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
			it["extra"] = table.S("injected")
			return it
		}},
		{"signed attribute removed", []string{attrcrypt.ReasonAttributeSet, attrcrypt.ReasonSignature}, func(t *testing.T, it, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
			delete(it, "plan")
			return it
		}},
		{"encrypted attribute removed", []string{attrcrypt.ReasonAttributeSet, attrcrypt.ReasonSignature}, func(t *testing.T, it, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
			delete(it, "ssn")
			return it
		}},
		{"header truncated", []string{attrcrypt.ReasonHeader}, func(t *testing.T, it, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
			h := bval(t, it[hdr])
			it[hdr] = &types.AttributeValueMemberB{Value: h[:len(h)/2]}
			return it
		}},
		{"header byte flipped (salt)", []string{attrcrypt.ReasonCommitment}, func(t *testing.T, it, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
			h := bval(t, it[hdr])
			h[2+4+3] ^= 0x01 // inside the salt (class "" -> salt at 6)
			it[hdr] = &types.AttributeValueMemberB{Value: h}
			return it
		}},
		{"header byte flipped (last byte)", []string{attrcrypt.ReasonHeader, attrcrypt.ReasonSignature, attrcrypt.ReasonCommitment, attrcrypt.ReasonAttributeSet}, func(t *testing.T, it, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
			h := bval(t, it[hdr])
			h[len(h)-1] ^= 0x80
			it[hdr] = &types.AttributeValueMemberB{Value: h}
			return it
		}},
		{"header removed", []string{attrcrypt.ReasonHeader}, func(t *testing.T, it, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
			delete(it, hdr)
			return it
		}},
		{"signature truncated", []string{attrcrypt.ReasonSignature}, func(t *testing.T, it, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
			s := bval(t, it[sig])
			it[sig] = &types.AttributeValueMemberB{Value: s[:16]}
			return it
		}},
		{"signature flipped", []string{attrcrypt.ReasonSignature}, func(t *testing.T, it, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
			s := bval(t, it[sig])
			s[0] ^= 0x01
			it[sig] = &types.AttributeValueMemberB{Value: s}
			return it
		}},
		{"signature removed", []string{attrcrypt.ReasonSignature}, func(t *testing.T, it, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
			delete(it, sig)
			return it
		}},
		{"header from another item", []string{attrcrypt.ReasonCommitment, attrcrypt.ReasonSignature}, func(t *testing.T, it, other map[string]types.AttributeValue) map[string]types.AttributeValue {
			it[hdr] = other[hdr]
			return it
		}},
		{"signature from another item", []string{attrcrypt.ReasonSignature}, func(t *testing.T, it, other map[string]types.AttributeValue) map[string]types.AttributeValue {
			it[sig] = other[sig]
			return it
		}},
		{"header and signature from another item", []string{attrcrypt.ReasonCommitment, attrcrypt.ReasonSignature}, func(t *testing.T, it, other map[string]types.AttributeValue) map[string]types.AttributeValue {
			it[hdr], it[sig] = other[hdr], other[sig]
			return it
		}},
		{"key version edited to one that does not exist", nil, func(t *testing.T, it, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
			h := bval(t, it[hdr])
			binary.BigEndian.PutUint32(h[2:], 99) // class "" -> key version at 2
			it[hdr] = &types.AttributeValueMemberB{Value: h}
			return it
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, otherID := fmt.Sprintf("p%d", i), fmt.Sprintf("q%d", i)
			for _, p := range []*Patient{
				{Tenant: "tenant-a", ID: id, Name: "Ada Lovelace", SSN: "123-45-6789", Plan: "gold"},
				{Tenant: "tenant-a", ID: otherID, Name: "Grace Hopper", SSN: "987-65-4321", Plan: "gold"},
			} {
				if err := a.Create(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			it := rawGet(t, e.c, name, pkey("tenant-a", id))
			other := rawGet(t, e.c, name, pkey("tenant-a", otherID))
			bad := tc.mutate(t, clone(it), other)
			rawPut(t, e.c, name, bad)
			tenant := bad["tenant"].(*types.AttributeValueMemberS).Value
			gotID := bad["id"].(*types.AttributeValueMemberS).Value
			_, err := tb.For(tenant).Get(ctx, sk(gotID))
			wantTampered(t, err, tc.reasons...)
			// The same through a query and a batch get.
			var qerr error
			for _, err := range tb.For(tenant).Query(ctx, table.QueryInput{Sort: table.Equal(table.S(gotID))}) {
				qerr = err
			}
			wantTampered(t, qerr, tc.reasons...)
			_, berr := tb.For(tenant).BatchGet(ctx, []table.Key{sk(gotID)})
			wantTampered(t, berr, tc.reasons...)
			terr := table.TransactGet(ctx, e.c, tb.For(tenant).TxGet(sk(gotID)))
			wantTampered(t, terr, tc.reasons...)
		})
	}
	_ = b
}

// TestTamperCopiedToAnotherTable copies a sealed item into a second table
// of the same schema: the logical table name is bound into the signature.
func TestTamperCopiedToAnotherTable(t *testing.T) {
	e := newEnv(t)
	tb1, name1 := patients(t, e)
	tb2, name2 := patients(t, e)
	ctx := context.Background()
	if err := tb1.For("tenant-a").Create(ctx, &Patient{Tenant: "tenant-a", ID: "p1", Name: "Ada"}); err != nil {
		t.Fatal(err)
	}
	rawPut(t, e.c, name2, rawGet(t, e.c, name1, pkey("tenant-a", "p1")))
	_, err := tb2.For("tenant-a").Get(ctx, sk("p1"))
	wantTampered(t, err, attrcrypt.ReasonSignature)

	// A handle on the copy with the original logical name (a restored
	// table) reads it.
	restored, err := table.New[Patient](e.c, name2, e.rec, table.WithLogicalName(name1))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := restored.For("tenant-a").Get(ctx, sk("p1")); err != nil || p.Name != "Ada" {
		t.Fatalf("restored read: %v", err)
	}
}

// TestPlainAttributeNotCovered shows the control: a plain attribute may
// change without failing verification.
func TestPlainAttributeNotCovered(t *testing.T) {
	e := newEnv(t)
	tb, name := patients(t, e)
	ctx := context.Background()
	if err := tb.For("tenant-a").Create(ctx, &Patient{Tenant: "tenant-a", ID: "p1", Seen: 1}); err != nil {
		t.Fatal(err)
	}
	it := rawGet(t, e.c, name, pkey("tenant-a", "p1"))
	it["seen"] = table.N(42)
	rawPut(t, e.c, name, it)
	p, err := tb.For("tenant-a").Get(ctx, sk("p1"))
	if err != nil || p.Seen != 42 {
		t.Fatalf("plain edit: %v, seen %v", err, p)
	}
}

// TestTamperSeparateTenantAttribute reassigns and retypes the tenant
// attribute of a table whose tenant is not the partition key.
func TestTamperSeparateTenantAttribute(t *testing.T) {
	e := newEnv(t)
	tb, name := docs(t, e)
	ctx := context.Background()
	if err := tb.For("org-b").Put(ctx, &Doc{PK: "shared", SK: "seed", Org: "org-b"}); err != nil {
		t.Fatal(err)
	}
	if err := tb.For("org-a").Put(ctx, &Doc{PK: "shared", SK: "d1", Org: "org-a", Body: "secret"}); err != nil {
		t.Fatal(err)
	}
	key := map[string]types.AttributeValue{"pk": table.S("shared"), "sk": table.S("d1")}
	it := rawGet(t, e.c, name, key)
	it["org"] = table.S("org-b") // reassign the row to another tenant
	rawPut(t, e.c, name, it)
	_, err := tb.For("org-b").Get(ctx, table.Key{PK: table.S("shared"), SK: table.S("d1")})
	wantTampered(t, err, attrcrypt.ReasonCommitment)

	it["org"] = &types.AttributeValueMemberN{Value: "1"} // tenant no longer a string
	rawPut(t, e.c, name, it)
	_, err = tb.For("org-a").Get(ctx, table.Key{PK: table.S("shared"), SK: table.S("d1")})
	wantTampered(t, err, attrcrypt.ReasonAttributeSet)
	for _, err := range tb.Scan(ctx, table.ScanInput{}) {
		if err != nil {
			wantTampered(t, err, attrcrypt.ReasonAttributeSet)
		}
	}

	delete(it, "org") // tenant removed
	rawPut(t, e.c, name, it)
	_, err = tb.For("org-a").Get(ctx, table.Key{PK: table.S("shared"), SK: table.S("d1")})
	wantTampered(t, err, attrcrypt.ReasonAttributeSet)
	st, err := tb.Reseal(ctx, table.ScanInput{})
	if err != nil || len(st.Failed) != 1 {
		t.Fatalf("reseal: %v, %d failed", err, len(st.Failed))
	}
	wantTampered(t, st.Failed[0], attrcrypt.ReasonAttributeSet)
}
