package table_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/table"
)

// PatientV2 is a newer version of Patient with two more fields: what an
// older binary running Reseal does not know.
type PatientV2 struct {
	Tenant  string `dynamodbav:"tenant"  seal:"pk,tenant"`
	ID      string `dynamodbav:"id"      seal:"sk"`
	Name    string `dynamodbav:"name"    seal:"encrypt"`
	SSN     string `dynamodbav:"ssn"     seal:"encrypt"`
	Notes   string `dynamodbav:"notes"   seal:"encrypt"`
	Plan    string `dynamodbav:"plan"`
	Status  string `dynamodbav:"status"`
	Count   int    `dynamodbav:"count"`
	Seen    int64  `dynamodbav:"seen"    seal:"plain"`
	Version int64  `dynamodbav:"v"       seal:"version"`
	Allergy string `dynamodbav:"allergy" seal:"encrypt"`
	Ward    string `dynamodbav:"ward"`
}

// TestResealKeepsNewerFields: items written by a newer struct, with a plain
// attribute changed outside dynaseal, are resealed by the older struct's
// table after a rotation and keep every attribute; the version attribute
// is left alone.
func TestResealKeepsNewerFields(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	old, name := patients(t, e)
	newer, err := table.New[PatientV2](e.c, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := range n {
		p := &PatientV2{Tenant: "tenant-a", ID: fmt.Sprint("p", i), Name: "n", SSN: "s", Allergy: fmt.Sprint("allergy-", i), Ward: fmt.Sprint("ward-", i)}
		if err := newer.For("tenant-a").Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		// A plain attribute updated outside dynaseal.
		if _, err := e.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(name), Key: pkey("tenant-a", p.ID),
			UpdateExpression:          aws.String("SET seen = :s"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":s": table.N(int64(100 + i))},
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.store.Rotate(ctx, "tenant-a", ""); err != nil {
		t.Fatal(err)
	}
	st, err := old.Reseal(ctx, table.ScanInput{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Resealed != n || st.FailedCount != 0 {
		t.Fatalf("reseal: %+v, want %d resealed", st, n)
	}
	for i := range n {
		id := fmt.Sprint("p", i)
		raw := rawGet(t, e.c, name, pkey("tenant-a", id))
		if h := bval(t, raw[hdr]); binary.BigEndian.Uint32(h[2:]) != 2 { // class "": version at 2
			t.Errorf("%s not resealed under version 2", id)
		}
		p, err := newer.For("tenant-a").Get(ctx, sk(id))
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if p.Allergy != fmt.Sprint("allergy-", i) || p.Ward != fmt.Sprint("ward-", i) || p.Seen != int64(100+i) || p.Name != "n" || p.Version != 1 {
			t.Fatalf("%s after reseal by the older struct: %+v", id, p)
		}
	}
}

// TestResealCreatesNoKeyForPlantedRows: well-formed rows naming made-up
// tenants (sealed under keys the store never issued) are reported and no
// key is created for them, even with create-on-first-use.
func TestResealCreatesNoKeyForPlantedRows(t *testing.T) {
	e := newEnv(t) // the store creates keys on first use
	ctx := t.Context()
	tb, name := patients(t, e)
	if err := tb.For("tenant-a").Create(ctx, &Patient{Tenant: "tenant-a", ID: "real"}); err != nil {
		t.Fatal(err)
	}
	s, err := attrcrypt.NewSealer(attrcrypt.Config{Table: name, TenantAttribute: "tenant", Actions: tb.Schema().Actions()})
	if err != nil {
		t.Fatal(err)
	}
	ghosts := []string{"ghost-1", "ghost-2", "ghost-3"}
	for _, g := range ghosts {
		k := attrcrypt.Key{Ref: attrcrypt.KeyRef{Tenant: g, Version: 1}}
		_, _ = rand.Read(k.Material[:])
		item, err := s.Seal(map[string]types.AttributeValue{"tenant": table.S(g), "id": table.S("x"), "name": table.S("n"), "v": table.N(1)}, k)
		if err != nil {
			t.Fatal(err)
		}
		rawPut(t, e.c, name, item)
	}
	e.rec.reset()
	var streamed []table.ItemError
	st, err := tb.Reseal(ctx, table.ScanInput{}, table.OnResealFailure(func(ie table.ItemError) { streamed = append(streamed, ie) }))
	if err != nil {
		t.Fatal(err)
	}
	if st.Scanned != 4 || st.Current != 1 || st.FailedCount != 3 || st.Tampered != 3 || len(streamed) != 3 {
		t.Fatalf("reseal: %+v (%d streamed), want 1 current and 3 tampered", st, len(streamed))
	}
	for _, ie := range streamed {
		// A row naming a key its tenant never had is tampered (the
		// decision table in the package doc), never ErrKeyMissing.
		if !errors.Is(ie.Err, table.ErrTampered) || errors.Is(ie.Err, table.ErrKeyMissing) {
			t.Errorf("planted row: %v, want ErrTampered", ie.Err)
		}
	}
	for _, g := range ghosts {
		if vs, err := e.store.Versions(ctx, g, ""); err == nil && len(vs) > 0 {
			t.Errorf("Reseal created a key for made-up tenant %s: %v", g, vs)
		}
	}
}

// racer injects an application write just before the reseal's write.
type racer struct {
	*dynamodb.Client
	before func()
}

func (r *racer) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if in.ExpressionAttributeNames != nil && r.before != nil {
		for _, v := range in.ExpressionAttributeNames {
			if v == attrcrypt.SignatureAttribute {
				f := r.before
				r.before = nil
				f()
			}
		}
	}
	return r.Client.UpdateItem(ctx, in, o...)
}

// TestResealNeverLosesConcurrentWrite: an application Update lands between
// the reseal's read and its write; the reseal's condition fails, the
// application's write stays, and the item is counted once.
func TestResealNeverLosesConcurrentWrite(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	app, name := patients(t, e)
	if err := app.For("tenant-a").Create(ctx, &Patient{Tenant: "tenant-a", ID: "p", Plan: "before"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Rotate(ctx, "tenant-a", ""); err != nil {
		t.Fatal(err)
	}
	rc := &racer{Client: e.c}
	admin, err := table.New[Patient](rc, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	rc.before = func() {
		if _, err := app.For("tenant-a").Update(ctx, sk("p"), func(p *Patient) error { p.Plan = "app"; return nil }); err != nil {
			t.Errorf("app update: %v", err)
		}
	}
	st, err := admin.Reseal(ctx, table.ScanInput{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Scanned != 1 || st.Current != 1 || st.Resealed != 0 || st.FailedCount != 0 {
		t.Fatalf("reseal: %+v, want the item counted once as current (the app wrote it under the new key)", st)
	}
	p, err := app.For("tenant-a").Get(ctx, sk("p"), table.ConsistentRead())
	if err != nil || p.Plan != "app" {
		t.Fatalf("after the race: %+v %v, want the app's write", p, err)
	}
}

// TestResealKeepsConcurrentPlainWrites: an AddToCounter that lands between
// the reseal's read and its write does not change the signature, so the
// reseal's condition holds; the counter must survive the reseal.
func TestResealKeepsConcurrentPlainWrites(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	app, name := sessions(t, e, nil)
	if err := app.For("tenant-a").Create(ctx, &Session{Tenant: "tenant-a", ID: "s", Data: "d", Hits: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Rotate(ctx, "tenant-a", ""); err != nil {
		t.Fatal(err)
	}
	rc := &racer{Client: e.c}
	admin, err := table.New[Session](rc, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	rc.before = func() {
		if err := app.For("tenant-a").AddToCounter(ctx, sk("s"), "hits", 10); err != nil {
			t.Errorf("AddToCounter: %v", err)
		}
	}
	st, err := admin.Reseal(ctx, table.ScanInput{})
	if err != nil || st.Resealed != 1 {
		t.Fatalf("reseal: %+v %v, want 1 resealed", st, err)
	}
	got, err := app.For("tenant-a").Get(ctx, sk("s"), table.ConsistentRead())
	if err != nil || got.Hits != 11 || got.Data != "d" {
		t.Fatalf("after reseal racing AddToCounter: %+v %v, want hits 11", got, err)
	}
}
