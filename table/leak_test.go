package table_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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
