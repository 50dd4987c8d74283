package table_test

import (
	"context"
	"testing"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// BenchmarkTableGetReference is the read path alone: one Get of the
// reference item (GetItem, tenant check, cached key, verify, open, decode)
// against DynamoDB Local.
func BenchmarkTableGetReference(b *testing.B) {
	c := itest.DynamoDB(b)
	name := createTable[Reference](b, &env{c: c}, "bench", nil)
	tb, err := table.New[Reference](c, name, tenantkeys.NewCache(newStore(b)))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	r := referenceItem()
	s := tb.For(r.Tenant)
	if err := s.Put(ctx, r); err != nil {
		b.Fatal(err)
	}
	k := table.SortKey(table.S(r.ID))
	op := func() error { _, err := s.Get(ctx, k); return err }
	warmUp(b, op)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "client-cpu-ns/op")
}
