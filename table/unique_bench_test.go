package table_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/table"
)

// PlainCustomer is Customer without the unique option: the baseline of
// BenchmarkInterleavedUniqueCreate.
type PlainCustomer struct {
	Tenant  string `dynamodbav:"tenant"          seal:"pk,tenant"`
	ID      string `dynamodbav:"id"              seal:"sk"`
	Email   string `dynamodbav:"email,omitempty" seal:"encrypt"`
	Name    string `dynamodbav:"name"            seal:"encrypt"`
	Version int64  `dynamodbav:"v"               seal:"version"`
}

// BenchmarkInterleavedUniqueCreate alternates a Create of an item with a
// unique e-mail (a TransactWriteItems of the item and its claim) and a
// Create of the same item without the unique option (one PutItem) against
// DynamoDB Local, and reports each one's wall time per op and the ratio.
func BenchmarkInterleavedUniqueCreate(b *testing.B) {
	e := &env{c: itest.DynamoDB(b), store: newStore(b)}
	e.rec = &recorder{Provider: e.store}
	uniq, _ := newTable[Customer](b, e, "ubench")
	plain, _ := newTable[PlainCustomer](b, e, "pbench")
	us, ps := uniq.For("tenant-0042"), plain.For("tenant-0042")
	n := 0
	uop := func() error {
		n++
		return us.Create(b.Context(), &Customer{ID: fmt.Sprint(n), Email: fmt.Sprintf("user%d@example.com", n), Name: "Ada"})
	}
	pop := func() error {
		n++
		return ps.Create(b.Context(), &PlainCustomer{ID: fmt.Sprint(n), Email: fmt.Sprintf("user%d@example.com", n), Name: "Ada"})
	}
	warmUp(b, uop)
	warmUp(b, pop)
	var ut, pt time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		first, second, fd, sd := uop, pop, &ut, &pt
		if i%2 == 1 {
			first, second, fd, sd = pop, uop, &pt, &ut
		}
		t0 := time.Now()
		if err := first(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := second(); err != nil {
			b.Fatal(err)
		}
		*fd += t1.Sub(t0)
		*sd += time.Since(t1)
	}
	b.ReportMetric(float64(ut)/float64(b.N), "unique-ns/op")
	b.ReportMetric(float64(pt)/float64(b.N), "plain-ns/op")
	b.ReportMetric(float64(ut)/float64(pt), "ratio")
}

// BenchmarkGetUnique is one GetUnique (a consistent GetItem of the claim,
// then of the item) against DynamoDB Local, and, interleaved, the Get of
// the same item by key, with the ratio.
func BenchmarkGetUnique(b *testing.B) {
	e := &env{c: itest.DynamoDB(b), store: newStore(b)}
	e.rec = &recorder{Provider: e.store}
	uniq, _ := newTable[Customer](b, e, "ubench")
	s := uniq.For("tenant-0042")
	if err := s.Create(b.Context(), &Customer{ID: "c1", Email: "ada@example.com", Name: "Ada"}); err != nil {
		b.Fatal(err)
	}
	uop := func() error { _, err := s.GetUnique(b.Context(), "email", table.S("ada@example.com")); return err }
	gop := func() error { _, err := s.Get(b.Context(), sk("c1"), table.ConsistentRead()); return err }
	warmUp(b, uop)
	warmUp(b, gop)
	var ut, gt time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if err := uop(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := gop(); err != nil {
			b.Fatal(err)
		}
		ut += t1.Sub(t0)
		gt += time.Since(t1)
	}
	b.ReportMetric(float64(ut)/float64(b.N), "getunique-ns/op")
	b.ReportMetric(float64(gt)/float64(b.N), "get-ns/op")
	b.ReportMetric(float64(ut)/float64(gt), "ratio")
}
