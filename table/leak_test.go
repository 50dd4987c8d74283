package table_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/table"
)

// Written and Misread are one table's items as a writer and a reader with
// another Go type for two encrypted fields see them.
type Written struct {
	Tenant string  `dynamodbav:"tenant" seal:"pk,tenant"`
	ID     string  `dynamodbav:"id"     seal:"sk"`
	Born   string  `dynamodbav:"born"   seal:"encrypt"`
	Pay    float64 `dynamodbav:"pay"    seal:"encrypt"`
}

type Misread struct {
	Tenant string    `dynamodbav:"tenant" seal:"pk,tenant"`
	ID     string    `dynamodbav:"id"     seal:"sk"`
	Born   time.Time `dynamodbav:"born"   seal:"encrypt"`
	Pay    int       `dynamodbav:"pay"    seal:"encrypt"`
}

// noMarker fails if s contains any marker.
func noMarker(t *testing.T, what, s string, markers ...string) {
	t.Helper()
	for _, m := range markers {
		if strings.Contains(s, m) {
			t.Errorf("%s carries %q: %s", what, m, s)
		}
	}
}

// TestReflectCodecErrorsValueFree writes values that do not fit the
// reader's Go types and reads them through every read path with the
// reflection codec: the error is ErrDecode, names the attribute and the Go
// type, and never quotes the value.
func TestReflectCodecErrorsValueFree(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	name := createTable[Written](t, e, "misread", nil)
	w, err := table.New[Written](e.c, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	r, err := table.New[Misread](e.c, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		id, attr, goType, marker string
		item                     Written
	}{
		{"born", "born", "time.Time", "SECRET-1990-01-01", Written{Born: "SECRET-1990-01-01"}},
		{"pay", "pay", "int", "85000.5", Written{Born: "2001-02-03T04:05:06Z", Pay: 85000.5}},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			it := tc.item
			it.Tenant, it.ID = "t-"+tc.id, tc.id
			if err := w.For(it.Tenant).Put(ctx, &it); err != nil {
				t.Fatal(err)
			}
			s := r.For(it.Tenant)
			errs := map[string]error{}
			_, errs["Get"] = s.Get(ctx, sk(tc.id))
			for _, err := range s.Query(ctx, table.QueryInput{}) {
				errs["Query"] = err
			}
			_, errs["QueryPage"] = s.QueryPage(ctx, table.QueryInput{})
			_, errs["BatchGet"] = s.BatchGet(ctx, []table.Key{sk(tc.id)})
			errs["TransactGet"] = table.TransactGet(ctx, e.c, s.TxGet(sk(tc.id)))
			for _, err := range r.Scan(ctx, table.ScanInput{}) {
				var ie *table.ItemError
				if errors.As(err, &ie) && fmt.Sprint(ie.Key.PK) == fmt.Sprint(table.S(it.Tenant)) {
					errs["Scan"] = err
				}
			}
			for op, err := range errs {
				if !errors.Is(err, table.ErrDecode) {
					t.Errorf("%s: err = %v, want ErrDecode", op, err)
					continue
				}
				msg := err.Error()
				var be *table.BatchError
				if errors.As(err, &be) && len(be.Failed) > 0 {
					msg = be.Failed[0].Error() // BatchError prints counts only
				}
				if !strings.Contains(msg, `"`+tc.attr+`"`) || !strings.Contains(msg, tc.goType) {
					t.Errorf("%s: %q does not name attribute %s and type %s", op, msg, tc.attr, tc.goType)
				}
				noMarker(t, op, msg, tc.marker)
				noMarker(t, op, fmt.Sprintf("%+v", err), tc.marker)
			}
		})
	}
}

// PatientMisread reads Patient items with Go types that do not fit an
// encrypted (name) and a signed (plan) field.
type PatientMisread struct {
	Tenant  string    `dynamodbav:"tenant" seal:"pk,tenant"`
	ID      string    `dynamodbav:"id"     seal:"sk"`
	Name    time.Time `dynamodbav:"name"   seal:"encrypt"`
	SSN     string    `dynamodbav:"ssn"    seal:"encrypt"`
	Notes   string    `dynamodbav:"notes"  seal:"encrypt"`
	Plan    time.Time `dynamodbav:"plan"`
	Status  string    `dynamodbav:"status"`
	Count   int       `dynamodbav:"count"`
	Seen    int64     `dynamodbav:"seen"   seal:"plain"`
	Version int64     `dynamodbav:"v"      seal:"version"`
}

// leakMarkers are the plaintexts of every encrypted and signed field.
var leakMarkers = []string{"MRK-NAME-7731", "MRK-SSN-7732", "MRK-NOTES-7733", "MRK-PLAN-7734", "MRK-STATUS-7735"}

func markedPatient(tenant, id string) *Patient {
	return &Patient{Tenant: tenant, ID: id, Name: leakMarkers[0], SSN: leakMarkers[1], Notes: leakMarkers[2], Plan: leakMarkers[3], Status: leakMarkers[4], Count: 7}
}

// errorSink renders errors the ways an application shows or logs them:
// Error(), %v, %+v, slog's text and JSON handlers (the error itself, and
// a batch error's item errors), and collects the output.
type errorSink struct {
	buf  bytes.Buffer
	text *slog.Logger
	json *slog.Logger
	n    int
}

func newErrorSink() *errorSink {
	s := &errorSink{}
	s.text = slog.New(slog.NewTextHandler(&s.buf, nil))
	s.json = slog.New(slog.NewJSONHandler(&s.buf, nil))
	return s
}

func (s *errorSink) add(op string, err error) {
	if err == nil {
		return
	}
	s.n++
	fmt.Fprintf(&s.buf, "%s: %s | %v | %+v\n", op, err.Error(), err, err)
	s.text.Error(op, "err", err)
	s.json.Error(op, "err", err)
	var be *table.BatchError
	if errors.As(err, &be) {
		for _, f := range be.Failed {
			s.text.Error(op, "item", f.Error(), "err", f.Err)
			s.json.Error(op, "item", &f)
		}
	}
	var ie *table.ItemError
	if errors.As(err, &ie) {
		s.json.Error(op, "item", ie)
	}
}

// readPaths runs every read of id through s and its table, plus Scan and
// Reseal, and adds each error (and every Scan and Reseal item error).
func readPaths[T any](ctx context.Context, sink *errorSink, c table.Client, tb *table.Table[T], tenant, id string) {
	s := tb.For(tenant)
	_, err := s.Get(ctx, sk(id))
	sink.add("Get", err)
	for _, err := range s.Query(ctx, table.QueryInput{}) {
		sink.add("Query", err)
	}
	_, err = s.QueryPage(ctx, table.QueryInput{PageSize: 1})
	sink.add("QueryPage", err)
	_, err = s.BatchGet(ctx, []table.Key{sk(id)})
	sink.add("BatchGet", err)
	sink.add("TransactGet", table.TransactGet(ctx, c, s.TxGet(sk(id))))
	_, err = s.Update(ctx, sk(id), func(*T) error { return nil })
	sink.add("Update", err)
	for _, err := range tb.Scan(ctx, table.ScanInput{}) {
		sink.add("Scan", err)
	}
	st, err := tb.Reseal(ctx, table.ScanInput{})
	sink.add("Reseal", err)
	for _, f := range st.Failed {
		sink.add("Reseal.Failed", f)
	}
}

// TestNoValueInErrorsOrLogs drives every failing read path (Get, Query,
// QueryPage, BatchGet, TransactGet, Update's read, Scan, Reseal) with
// marker plaintext in every encrypted and signed field, through tampered
// items, values that do not fit the reader's types, another tenant's
// items, a shredded key and a DynamoDB error quoting the markers; it
// renders every error as an application would (Error, %v, %+v, slog text
// and JSON) and finds no marker and no key bytes.
func TestNoValueInErrorsOrLogs(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tb, name := patients(t, e)
	misread, err := table.New[PatientMisread](e.c, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	sink := newErrorSink()
	put := func(tenant, id string) map[string]types.AttributeValue {
		t.Helper()
		if err := tb.For(tenant).Put(ctx, markedPatient(tenant, id)); err != nil {
			t.Fatal(err)
		}
		return rawGet(t, e.c, name, pkey(tenant, id))
	}
	var keyBytes [][]byte
	keep := func(tenant string) {
		k, err := e.store.CurrentKey(ctx, tenant, "")
		if err != nil {
			t.Fatal(err)
		}
		keyBytes = append(keyBytes, bytes.Clone(k.Material[:]))
	}

	// Tampered: every kind of edit, one tenant per edit.
	edits := map[string]func(it map[string]types.AttributeValue){
		"signature": func(it map[string]types.AttributeValue) {
			s := bval(t, it[sig])
			s[3] ^= 1
			it[sig] = &types.AttributeValueMemberB{Value: s}
		},
		"signed value":   func(it map[string]types.AttributeValue) { it["plan"] = table.S(leakMarkers[3] + "-edited") },
		"swap encrypted": func(it map[string]types.AttributeValue) { it["name"], it["ssn"] = it["ssn"], it["name"] },
		"ciphertext": func(it map[string]types.AttributeValue) {
			b := bval(t, it["notes"])
			b[len(b)-1] ^= 1
			it["notes"] = &types.AttributeValueMemberB{Value: b}
		},
		"header version": func(it map[string]types.AttributeValue) {
			it[hdr] = &types.AttributeValueMemberB{Value: withVersion(bval(t, it[hdr]), 9)}
		},
		"header class": func(it map[string]types.AttributeValue) {
			it[hdr] = &types.AttributeValueMemberB{Value: withClass(bval(t, it[hdr]), "zz")}
		},
		"tenant moved": func(it map[string]types.AttributeValue) { it["tenant"] = table.S("moved-to") },
	}
	i := 0
	for what, edit := range edits {
		tenant := fmt.Sprintf("tamper-%d", i)
		i++
		it := clone(put(tenant, "p"))
		keep(tenant)
		edit(it)
		rawPut(t, e.c, name, it)
		got := it["tenant"].(*types.AttributeValueMemberS).Value
		before := sink.n
		readPaths(ctx, sink, e.c, tb, got, "p")
		if sink.n == before {
			t.Fatalf("%s: no error reported", what)
		}
	}
	// Values that do not fit the reader's Go types.
	put("misread", "p")
	keep("misread")
	readPaths(ctx, sink, e.c, misread, "misread", "p")
	// Another tenant's item.
	put("owner", "p")
	keep("owner")
	readPaths(ctx, sink, e.c, tb, "intruder", "p")
	// A shredded tenant.
	put("gone", "p")
	keep("gone")
	if err := e.store.Shred(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	readPaths(ctx, sink, e.c, tb, "gone", "p")
	// DynamoDB refusing with the markers in its message.
	fake := oneShot(fakeDynamoDB(t, cannedAnswer{status: 400, code: "com.amazonaws.dynamodb.v20120810#ValidationException", body: strings.Join(leakMarkers, " ")}))
	ftb, err := table.New[Patient](fake, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	readPaths(ctx, sink, fake, ftb, "tenant-x", "p")
	sink.add("Put", ftb.For("tenant-x").Put(ctx, markedPatient("tenant-x", "p")))

	out := sink.buf.String()
	if sink.n < 60 {
		t.Fatalf("only %d errors rendered", sink.n)
	}
	for _, m := range leakMarkers {
		if strings.Contains(out, m) {
			i := strings.Index(out, m)
			t.Errorf("marker %s in rendered errors: ...%s...", m, out[max(0, i-200):min(len(out), i+100)])
		}
	}
	for _, k := range keyBytes {
		for _, enc := range []string{hex.EncodeToString(k), base64.StdEncoding.EncodeToString(k), fmt.Sprint(k)} {
			if strings.Contains(out, enc) {
				t.Errorf("key bytes in rendered errors")
			}
		}
	}
}
