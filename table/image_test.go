package table_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/table"
)

// TestOpenImage: an image read outside the engine (here a raw GetItem, as a
// stream record carries it) opens across tenants under the key of the
// tenant it names, typed and untyped, and equals what was written.
func TestOpenImage(t *testing.T) {
	e := newEnv(t)
	tb, name := patients(t, e)
	ctx := context.Background()
	want := map[string]*Patient{
		"t-a": {Tenant: "t-a", ID: "p1", Name: "Ada", SSN: "111-11-1111", Plan: "gold", Count: 3, Seen: 7},
		"t-b": {Tenant: "t-b", ID: "p1", Name: "Bob", SSN: "222-22-2222", Plan: "free", Count: 4, Seen: 8},
	}
	for ten, p := range want {
		must(t, tb.For(ten).Put(ctx, p))
	}
	for ten, p := range want {
		img := rawGet(t, e.c, name, pkey(ten, "p1"))
		e.rec.reset()
		got, err := tb.OpenImage(ctx, img)
		if err != nil {
			t.Fatalf("%s: %v", ten, err)
		}
		if *got != *p {
			t.Fatalf("%s: opened %+v, want %+v", ten, *got, *p)
		}
		if !e.rec.asked(ten) {
			t.Fatalf("%s: the image was not opened under its own tenant's key", ten)
		}
		m, err := tb.OpenImageItem(ctx, img)
		if err != nil {
			t.Fatalf("%s untyped: %v", ten, err)
		}
		if s, _ := m["name"].(*types.AttributeValueMemberS); s == nil || s.Value != p.Name {
			t.Fatalf("%s untyped: name not decrypted", ten)
		}
		for n := range m {
			if attrcrypt.IsReserved(n) {
				t.Fatalf("%s untyped: reserved attribute %s returned", ten, n)
			}
		}
		if len(m) != len(img)-2 {
			t.Fatalf("%s untyped: %d attributes, want %d", ten, len(m), len(img)-2)
		}
	}
}

// TestOpenImageTamper: every edit, removal or addition of a covered
// attribute of an image, an empty image, and an image of another logical
// table are ErrTampered, both typed and untyped; the plain attribute is
// outside the signature; no error quotes a value.
func TestOpenImageTamper(t *testing.T) {
	e := newEnv(t)
	tb, name := patients(t, e)
	ctx := context.Background()
	p := &Patient{Tenant: "t-a", ID: "p1", Name: "Secretname", SSN: "999-99-9999", Notes: "Secretnotes", Plan: "Secretplan", Status: "Secretstatus", Count: 12345}
	must(t, tb.For("t-a").Put(ctx, p))
	img := rawGet(t, e.c, name, pkey("t-a", "p1"))
	check := func(what string, im map[string]types.AttributeValue, want error) {
		t.Helper()
		_, err1 := tb.OpenImage(ctx, im)
		_, err2 := tb.OpenImageItem(ctx, im)
		for _, err := range []error{err1, err2} {
			var ie *table.ItemError
			if !errors.Is(err, want) || !errors.As(err, &ie) {
				t.Fatalf("%s: err = %v, want an ItemError with %v", what, err, want)
			}
			if id, _ := ie.Key.SK.(*types.AttributeValueMemberS); im != nil && (id == nil || id.Value != "p1") && what != "edit id" && what != "remove id" {
				t.Fatalf("%s: ItemError names key %v", what, ie.Key)
			}
			for _, secret := range []string{"Secret", "999-99", "12345"} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Fatalf("%s: error quotes a value: %v", what, err)
				}
			}
		}
	}
	for attr := range img {
		if attr == "seen" {
			continue
		}
		edited := clone(img)
		switch v := img[attr].(type) {
		case *types.AttributeValueMemberS:
			edited[attr] = table.S(v.Value + "x")
		case *types.AttributeValueMemberN:
			edited[attr] = &types.AttributeValueMemberN{Value: v.Value + "1"}
		case *types.AttributeValueMemberB:
			b := append([]byte(nil), v.Value...)
			b[len(b)-1] ^= 1
			edited[attr] = &types.AttributeValueMemberB{Value: b}
		default:
			t.Fatalf("unexpected type of %s: %T", attr, v)
		}
		check("edit "+attr, edited, table.ErrTampered)
		removed := clone(img)
		delete(removed, attr)
		check("remove "+attr, removed, table.ErrTampered)
	}
	added := clone(img)
	added["extra"] = table.S("Secretextra")
	check("add attribute", added, table.ErrTampered)
	check("nil image", nil, table.ErrTampered)

	plainEdited := clone(img)
	plainEdited["seen"] = &types.AttributeValueMemberN{Value: "99"}
	got, err := tb.OpenImage(ctx, plainEdited)
	if err != nil || got.Seen != 99 || got.Name != p.Name {
		t.Fatalf("plain attribute edit: %v %+v", err, got)
	}

	// The same schema under another logical table name refuses the image;
	// under the image's own logical name it opens.
	other, err := table.New[Patient](e.c, name+"-copy", e.rec)
	must(t, err)
	_, err1 := other.OpenImage(ctx, img)
	_, err2 := other.OpenImageItem(ctx, img)
	if !errors.Is(err1, table.ErrTampered) || !errors.Is(err2, table.ErrTampered) {
		t.Fatalf("image of another table: %v / %v, want ErrTampered", err1, err2)
	}
	restored, err := table.New[Patient](e.c, name+"-copy", e.rec, table.WithLogicalName(name))
	must(t, err)
	if _, err := restored.OpenImage(ctx, img); err != nil {
		t.Fatalf("same logical name: %v", err)
	}
}

// TestOpenImageShredded: the image of a shredded tenant is ErrKeyShredded
// (not a tamper error), typed and untyped, while another tenant's opens.
func TestOpenImageShredded(t *testing.T) {
	e := newEnv(t)
	tb, name := patients(t, e)
	ctx := context.Background()
	must(t, tb.For("gone").Put(ctx, &Patient{ID: "p1", Name: "x"}))
	must(t, tb.For("kept").Put(ctx, &Patient{ID: "p1", Name: "y"}))
	gone := rawGet(t, e.c, name, pkey("gone", "p1"))
	kept := rawGet(t, e.c, name, pkey("kept", "p1"))
	must(t, e.store.Shred(ctx, "gone"))
	_, err1 := tb.OpenImage(ctx, gone)
	_, err2 := tb.OpenImageItem(ctx, gone)
	for _, err := range []error{err1, err2} {
		if !errors.Is(err, table.ErrKeyShredded) || errors.Is(err, table.ErrTampered) {
			t.Fatalf("shredded tenant's image: %v, want ErrKeyShredded only", err)
		}
	}
	if _, err := tb.OpenImage(ctx, kept); err != nil {
		t.Fatal(err)
	}
}

// TestOpenImageItemKeepsUnknownAttributes: the untyped open verifies under
// the actions the image's header records, so an attribute a newer writer
// added (unknown to this handle's schema) is verified and returned.
func TestOpenImageItemKeepsUnknownAttributes(t *testing.T) {
	e := newEnv(t)
	tb, name := patients(t, e)
	ctx := context.Background()
	v2, err := table.New[PatientV2](e.c, name, e.rec)
	must(t, err)
	must(t, v2.For("t-a").Put(ctx, &PatientV2{ID: "p1", Name: "Ada", Allergy: "nuts", Ward: "w7"}))
	img := rawGet(t, e.c, name, pkey("t-a", "p1"))
	m, err := tb.OpenImageItem(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := m["ward"].(*types.AttributeValueMemberS); w == nil || w.Value != "w7" {
		t.Fatal("signed attribute of the newer writer lost")
	}
	if a, _ := m["allergy"].(*types.AttributeValueMemberS); a == nil || a.Value != "nuts" {
		t.Fatal("encrypted attribute of the newer writer not decrypted")
	}
	img["ward"] = table.S("w8")
	if _, err := tb.OpenImageItem(ctx, img); !errors.Is(err, table.ErrTampered) {
		t.Fatalf("edited unknown attribute: %v, want ErrTampered", err)
	}
}
