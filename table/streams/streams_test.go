package streams_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/table/streams"
	"github.com/dynaseal/dynaseal/table/streams/internal/streamtest"
)

func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }

// Patient: the partition key is the tenant.
type Patient struct {
	Tenant  string            `dynamodbav:"tenant" seal:"pk,tenant"`
	ID      string            `dynamodbav:"id"     seal:"sk"`
	Name    string            `dynamodbav:"name"   seal:"encrypt"`
	SSN     string            `dynamodbav:"ssn"    seal:"encrypt"`
	Tags    []string          `dynamodbav:"tags,stringset,omitempty" seal:"encrypt"`
	Extra   map[string]string `dynamodbav:"extra,omitempty"`
	Plan    string            `dynamodbav:"plan"`
	Count   int               `dynamodbav:"count"`
	Version int64             `dynamodbav:"v"      seal:"version"`
}

// Doc: the tenant is a separate attribute, the keys are numbers.
type Doc struct {
	PK   int64  `dynamodbav:"pk"   seal:"pk"`
	SK   int64  `dynamodbav:"sk"   seal:"sk"`
	Org  string `dynamodbav:"org"  seal:"tenant"`
	Body string `dynamodbav:"body" seal:"encrypt"`
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestOpenInsertModifyRemove: the records of inserts, modifications and
// removes of two tenants' items, read from DynamoDB Local's stream, open
// with both images verified and equal to what was written, typed and
// untyped, with keys and metadata.
func TestOpenInsertModifyRemove(t *testing.T) {
	e := streamtest.New(t)
	store := streamtest.NewStore(t)
	tb, arn := streamtest.NewTable[Patient](t, e, store, ddbtypes.StreamViewTypeNewAndOldImages)
	ctx := context.Background()
	a1 := &Patient{ID: "p1", Name: "Ada", SSN: "111", Tags: []string{"x", "y"}, Extra: map[string]string{"k": "v"}, Plan: "gold", Count: 1}
	b1 := &Patient{ID: "p1", Name: "Bob", SSN: "222", Plan: "free", Count: 2}
	must(t, tb.For("t-a").Put(ctx, a1))
	must(t, tb.For("t-b").Put(ctx, b1))
	a2, err := tb.For("t-a").Update(ctx, table.SortKey(table.S("p1")), func(p *Patient) error {
		p.Name, p.Count = "Ada L.", 5
		return nil
	})
	must(t, err)
	must(t, tb.For("t-b").Delete(ctx, table.SortKey(table.S("p1"))))

	recs := e.Records(t, arn, 4)
	byEvent := map[types.OperationType][]streams.Change[Patient]{}
	for _, rec := range recs {
		ch, err := streams.Open(ctx, tb, rec)
		if err != nil {
			t.Fatalf("%s: %v", rec.EventName, err)
		}
		if ch.SequenceNumber == "" || ch.SequenceNumber != *rec.Dynamodb.SequenceNumber || ch.EventID != *rec.EventID {
			t.Fatalf("%s: metadata not carried: %+v", rec.EventName, ch)
		}
		if ch.ByTTL {
			t.Fatalf("%s: reported as a TTL delete", rec.EventName)
		}
		byEvent[ch.EventName] = append(byEvent[ch.EventName], ch)

		it, err := streams.OpenItem(ctx, tb, rec)
		if err != nil {
			t.Fatalf("%s untyped: %v", rec.EventName, err)
		}
		for _, pair := range []struct {
			typed *Patient
			item  *streams.Item
		}{{ch.New, it.New}, {ch.Old, it.Old}} {
			if (pair.typed == nil) != (pair.item == nil) {
				t.Fatalf("%s: typed and untyped images differ in presence", rec.EventName)
			}
			if pair.typed != nil {
				if n, _ := (*pair.item)["name"].(*ddbtypes.AttributeValueMemberS); n == nil || n.Value != pair.typed.Name {
					t.Fatalf("%s untyped: name not decrypted", rec.EventName)
				}
			}
		}
	}
	ins, mod, rem := byEvent[streams.Insert], byEvent[streams.Modify], byEvent[streams.Remove]
	if len(ins) != 2 || len(mod) != 1 || len(rem) != 1 {
		t.Fatalf("events: %d inserts, %d modifies, %d removes", len(ins), len(mod), len(rem))
	}
	for _, ch := range ins {
		if ch.Old != nil || ch.New == nil {
			t.Fatalf("insert images: new %v, old %v", ch.New != nil, ch.Old != nil)
		}
		want := a1
		if ch.New.Tenant == "t-b" {
			want = b1
		}
		same(t, "insert", ch.New, want)
		if k := ch.Keys["tenant"].(*ddbtypes.AttributeValueMemberS).Value; k != want.Tenant {
			t.Fatalf("insert keys name tenant %s", k)
		}
	}
	same(t, "modify old", mod[0].Old, a1)
	same(t, "modify new", mod[0].New, a2)
	if rem[0].New != nil {
		t.Fatal("remove has a new image")
	}
	same(t, "remove old", rem[0].Old, b1)
}

func same(t *testing.T, what string, got, want *Patient) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: no image", what)
	}
	if got.Tenant != want.Tenant || got.ID != want.ID || got.Name != want.Name || got.SSN != want.SSN ||
		got.Plan != want.Plan || got.Count != want.Count || got.Version != want.Version ||
		strings.Join(got.Tags, ",") != strings.Join(want.Tags, ",") || len(got.Extra) != len(want.Extra) {
		t.Fatalf("%s: opened %+v, want %+v", what, *got, *want)
	}
}

// TestOpenTampered: a record whose image was edited (a signed, an encrypted
// or the tenant attribute), lost or gained an attribute, whose image was
// spliced in from another item's record, or whose Keys were changed, fails
// with ErrTampered naming the image, hands out no image, and quotes no
// value.
func TestOpenTampered(t *testing.T) {
	e := streamtest.New(t)
	store := streamtest.NewStore(t)
	tb, arn := streamtest.NewTable[Patient](t, e, store, ddbtypes.StreamViewTypeNewAndOldImages)
	ctx := context.Background()
	must(t, tb.For("t-a").Put(ctx, &Patient{ID: "p1", Name: "Secretname", SSN: "Secretssn", Plan: "Secretplan"}))
	must(t, tb.For("t-a").Put(ctx, &Patient{ID: "p2", Name: "Other", SSN: "x", Plan: "y"}))
	_, err := tb.For("t-a").Update(ctx, table.SortKey(table.S("p1")), func(p *Patient) error { p.Plan = "Secretplan2"; return nil })
	must(t, err)
	recs := e.Records(t, arn, 3)
	ins1, ins2, mod := recs[0], recs[1], recs[2]
	if mod.EventName != streams.Modify {
		t.Fatalf("third record is %s", mod.EventName)
	}
	for _, r := range recs {
		_, err := streams.Open(ctx, tb, r)
		must(t, err)
	}

	edits := map[string]func(r *types.StreamRecord){
		"signed attribute": func(r *types.StreamRecord) {
			r.NewImage["plan"] = &types.AttributeValueMemberS{Value: "platinum"}
		},
		"encrypted attribute": func(r *types.StreamRecord) {
			b := r.NewImage["name"].(*types.AttributeValueMemberB).Value
			b = append([]byte(nil), b...)
			b[len(b)-1] ^= 1
			r.NewImage["name"] = &types.AttributeValueMemberB{Value: b}
		},
		"old image version": func(r *types.StreamRecord) {
			r.OldImage["v"] = &types.AttributeValueMemberN{Value: "7"}
		},
		"removed attribute": func(r *types.StreamRecord) { delete(r.OldImage, "ssn") },
		"added attribute": func(r *types.StreamRecord) {
			r.NewImage["injected"] = &types.AttributeValueMemberS{Value: "Secretinjected"}
		},
		"tenant attribute": func(r *types.StreamRecord) {
			r.NewImage["tenant"] = &types.AttributeValueMemberS{Value: "t-b"}
		},
		"image of another item": func(r *types.StreamRecord) {
			r.NewImage = ins2.Dynamodb.NewImage
		},
		"keys of another item": func(r *types.StreamRecord) {
			r.Keys = ins2.Dynamodb.Keys
		},
		"keys with an extra attribute": func(r *types.StreamRecord) {
			r.Keys = copyImage(r.Keys)
			r.Keys["plan"] = &types.AttributeValueMemberS{Value: "x"}
		},
	}
	for what, edit := range edits {
		rec := copyRecord(mod)
		edit(rec.Dynamodb)
		ch, err := streams.Open(ctx, tb, rec)
		var ie *streams.ImageError
		if !errors.Is(err, table.ErrTampered) || !errors.As(err, &ie) {
			t.Fatalf("%s: err = %v, want an ImageError with ErrTampered", what, err)
		}
		if ch.New != nil || ch.Old != nil {
			t.Fatalf("%s: an image was handed out with the error", what)
		}
		if ch.EventName != streams.Modify || len(ch.Keys) == 0 {
			t.Fatalf("%s: metadata lost: %+v", what, ch)
		}
		if strings.Contains(err.Error(), "Secret") || strings.Contains(err.Error(), "platinum") {
			t.Fatalf("%s: error quotes a value: %v", what, err)
		}
		if _, err := streams.OpenItem(ctx, tb, rec); !errors.Is(err, table.ErrTampered) {
			t.Fatalf("%s untyped: err = %v, want ErrTampered", what, err)
		}
	}
	// The edits worked on copies: the records still open.
	for _, r := range []types.Record{ins1, mod} {
		if _, err := streams.Open(ctx, tb, r); err != nil {
			t.Fatalf("original record after the edits: %v", err)
		}
	}
}

// TestOpenOtherTable: a record of another table, of the same type and
// tenant, fails with ErrTampered: the signature binds the logical table
// name. A handle built with the other table's logical name opens it.
func TestOpenOtherTable(t *testing.T) {
	e := streamtest.New(t)
	store := streamtest.NewStore(t)
	tb, _ := streamtest.NewTable[Doc](t, e, store, ddbtypes.StreamViewTypeNewAndOldImages)
	other, arn := streamtest.NewTable[Doc](t, e, store, ddbtypes.StreamViewTypeNewAndOldImages)
	ctx := context.Background()
	must(t, other.For("org-1").Put(ctx, &Doc{PK: 1, SK: 2, Body: "body"}))
	rec := e.Records(t, arn, 1)[0]
	if _, err := streams.Open(ctx, other, rec); err != nil {
		t.Fatal(err)
	}
	_, err := streams.Open(ctx, tb, rec)
	if !errors.Is(err, table.ErrTampered) {
		t.Fatalf("record of another table: %v, want ErrTampered", err)
	}
	if _, err := streams.OpenItem(ctx, tb, rec); !errors.Is(err, table.ErrTampered) {
		t.Fatalf("record of another table, untyped: %v, want ErrTampered", err)
	}
	renamed, err := table.New[Doc](e.DB, tb.Name(), store, table.WithLogicalName(other.LogicalName()))
	must(t, err)
	ch, err := streams.Open(ctx, renamed, rec)
	if err != nil || ch.New.Body != "body" || ch.New.Org != "org-1" {
		t.Fatalf("under the record's logical name: %v", err)
	}
}

// TestOpenRemoveOfShreddedTenant: the REMOVE record of a tenant shredded
// since fails with ErrKeyShredded (not ErrTampered) on its OldImage, and
// still says what was removed (event, keys); another tenant's records open.
func TestOpenRemoveOfShreddedTenant(t *testing.T) {
	e := streamtest.New(t)
	store := streamtest.NewStore(t)
	tb, arn := streamtest.NewTable[Patient](t, e, store, ddbtypes.StreamViewTypeNewAndOldImages)
	ctx := context.Background()
	must(t, tb.For("leaver").Put(ctx, &Patient{ID: "p1", Name: "Gone"}))
	must(t, tb.For("leaver").Delete(ctx, table.SortKey(table.S("p1"))))
	must(t, tb.For("stayer").Put(ctx, &Patient{ID: "p1", Name: "Here"}))
	must(t, store.Shred(ctx, "leaver"))
	recs := e.Records(t, arn, 3)
	var removes, opened int
	for _, rec := range recs {
		ch, err := streams.Open(ctx, tb, rec)
		tenant := rec.Dynamodb.Keys["tenant"].(*types.AttributeValueMemberS).Value
		switch {
		case tenant == "stayer":
			must(t, err)
			opened++
		case rec.EventName == streams.Remove:
			var ie *streams.ImageError
			if !errors.Is(err, table.ErrKeyShredded) || errors.Is(err, table.ErrTampered) || !errors.As(err, &ie) || ie.Image != "OldImage" {
				t.Fatalf("remove of a shredded tenant: %v", err)
			}
			if ch.EventName != streams.Remove || ch.Old != nil || ch.Keys["id"].(*ddbtypes.AttributeValueMemberS).Value != "p1" {
				t.Fatalf("remove of a shredded tenant: change %+v", ch)
			}
			removes++
		default:
			if !errors.Is(err, table.ErrKeyShredded) {
				t.Fatalf("insert of a shredded tenant: %v", err)
			}
		}
	}
	if removes != 1 || opened != 1 {
		t.Fatalf("%d removes, %d opened", removes, opened)
	}
}

// TestOpenViewTypes: a KEYS_ONLY stream's records, a NEW_IMAGE stream's
// REMOVE and an OLD_IMAGE stream's INSERT carry only keys (ErrKeysOnly,
// with the keys); the other records of NEW_IMAGE and OLD_IMAGE streams
// open their one image.
func TestOpenViewTypes(t *testing.T) {
	e := streamtest.New(t)
	store := streamtest.NewStore(t)
	ctx := context.Background()
	write := func(tb *table.Table[Patient]) {
		must(t, tb.For("t-a").Put(ctx, &Patient{ID: "p1", Name: "A"}))
		_, err := tb.For("t-a").Update(ctx, table.SortKey(table.S("p1")), func(p *Patient) error { p.Name = "B"; return nil })
		must(t, err)
		must(t, tb.For("t-a").Delete(ctx, table.SortKey(table.S("p1"))))
	}
	keysOnly, arn := streamtest.NewTable[Patient](t, e, store, ddbtypes.StreamViewTypeKeysOnly)
	write(keysOnly)
	for _, rec := range e.Records(t, arn, 3) {
		ch, err := streams.Open(ctx, keysOnly, rec)
		if !errors.Is(err, streams.ErrKeysOnly) || ch.Keys["id"].(*ddbtypes.AttributeValueMemberS).Value != "p1" || ch.New != nil || ch.Old != nil {
			t.Fatalf("KEYS_ONLY %s: %v %+v", rec.EventName, err, ch)
		}
	}
	newOnly, arn := streamtest.NewTable[Patient](t, e, store, ddbtypes.StreamViewTypeNewImage)
	write(newOnly)
	names := []string{}
	for _, rec := range e.Records(t, arn, 3) {
		ch, err := streams.Open(ctx, newOnly, rec)
		switch rec.EventName {
		case streams.Remove:
			if !errors.Is(err, streams.ErrKeysOnly) || len(ch.Keys) != 2 {
				t.Fatalf("NEW_IMAGE remove: %v", err)
			}
		default:
			must(t, err)
			if ch.Old != nil {
				t.Fatal("NEW_IMAGE record with an old image")
			}
			names = append(names, ch.New.Name)
		}
	}
	if strings.Join(names, ",") != "A,B" {
		t.Fatalf("NEW_IMAGE names %v", names)
	}
	oldOnly, arn := streamtest.NewTable[Patient](t, e, store, ddbtypes.StreamViewTypeOldImage)
	write(oldOnly)
	names = nil
	for _, rec := range e.Records(t, arn, 3) {
		ch, err := streams.Open(ctx, oldOnly, rec)
		switch rec.EventName {
		case streams.Insert:
			if !errors.Is(err, streams.ErrKeysOnly) || len(ch.Keys) != 2 {
				t.Fatalf("OLD_IMAGE insert: %v", err)
			}
		default:
			must(t, err)
			if ch.New != nil {
				t.Fatal("OLD_IMAGE record with a new image")
			}
			names = append(names, ch.Old.Name)
		}
	}
	if strings.Join(names, ",") != "A,B" {
		t.Fatalf("OLD_IMAGE names %v", names)
	}
}

func copyRecord(r types.Record) types.Record {
	sr := *r.Dynamodb
	sr.Keys, sr.NewImage, sr.OldImage = copyImage(sr.Keys), copyImage(sr.NewImage), copyImage(sr.OldImage)
	r.Dynamodb = &sr
	return r
}

func copyImage(m map[string]types.AttributeValue) map[string]types.AttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestOpenModifyAcrossTenants: a MODIFY whose images belong to different
// tenants fails with table.ErrWrongTenant and hands out no image, both
// when an unguarded batch write really replaced one tenant's item with
// another's and when such a record is spliced from two genuine ones.
func TestOpenModifyAcrossTenants(t *testing.T) {
	e := streamtest.New(t)
	store := streamtest.NewStore(t)
	tb, arn := streamtest.NewTable[Doc](t, e, store, ddbtypes.StreamViewTypeNewAndOldImages, table.WithUnguardedBatchWrite())
	ctx := context.Background()
	must(t, tb.For("org-1").Put(ctx, &Doc{PK: 1, SK: 2, Body: "one"}))
	must(t, tb.For("org-2").BatchWrite(ctx, []*Doc{{PK: 1, SK: 2, Body: "two"}}, nil))
	must(t, tb.For("org-2").Put(ctx, &Doc{PK: 3, SK: 4, Body: "three"}))
	must(t, tb.For("org-2").Put(ctx, &Doc{PK: 3, SK: 4, Body: "four"}))
	recs := e.Records(t, arn, 4)
	if recs[1].EventName != streams.Modify {
		t.Fatalf("the batch write over another tenant's item is %s", recs[1].EventName)
	}
	ch, err := streams.Open(ctx, tb, recs[1])
	if !errors.Is(err, table.ErrWrongTenant) || ch.New != nil || ch.Old != nil || ch.EventName != streams.Modify {
		t.Fatalf("MODIFY across tenants: %v %+v", err, ch)
	}
	if _, err := streams.OpenItem(ctx, tb, recs[1]); !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("MODIFY across tenants, untyped: %v", err)
	}
	// The same tenant's MODIFY opens; with the other tenant's old image
	// spliced in (same key, so Keys agree) it does not.
	ch, err = streams.Open(ctx, tb, recs[3])
	if err != nil || ch.Old.Body != "three" || ch.New.Body != "four" {
		t.Fatalf("same tenant MODIFY: %v", err)
	}
	spliced := copyRecord(recs[1])
	spliced.Dynamodb.NewImage = recs[1].Dynamodb.OldImage // org-1, key (1,2)
	spliced.Dynamodb.OldImage = recs[1].Dynamodb.NewImage // org-2, key (1,2)
	if _, err := streams.Open(ctx, tb, spliced); !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("spliced MODIFY across tenants: %v", err)
	}
}
