package table_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// ReferenceBeacon is Reference with a beacon on its email: the item of
// BenchmarkSealWithBeacon.
type ReferenceBeacon struct {
	Tenant  string   `dynamodbav:"tenant"  seal:"pk,tenant"`
	ID      string   `dynamodbav:"id"      seal:"sk"`
	Name    string   `dynamodbav:"name"    seal:"encrypt"`
	Email   string   `dynamodbav:"email"   seal:"encrypt,beacon,lower,trim,index=by_email"`
	SSN     string   `dynamodbav:"ssn"     seal:"encrypt"`
	Notes   string   `dynamodbav:"notes"   seal:"encrypt"`
	Plan    string   `dynamodbav:"plan"`
	Created int64    `dynamodbav:"created"`
	Score   int64    `dynamodbav:"score"`
	Tags    []string `dynamodbav:"tags,stringset"`
}

// sealOp returns the write path of Put for v (SealForTest) on a table
// with a cached key provider, run once.
func sealOp[T any](b *testing.B, v *T) func() {
	keys := tenantkeys.NewCache(newStore(b))
	tb, err := table.New[T](noClient{}, "bench", keys)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s := tb.For("tenant-0042")
	op := func() {
		if _, err := table.SealForTest(ctx, s, v); err != nil {
			b.Fatal(err)
		}
	}
	op()
	return op
}

func benchSeal[T any](b *testing.B, v *T) {
	op := sealOp(b, v)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		op()
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkSealNoBeacon is the write path of Put (marshal, key, seal,
// size check) for the reference item, with a cached key provider.
func BenchmarkSealNoBeacon(b *testing.B) { benchSeal(b, referenceItem()) }

// BenchmarkSealWithBeacon is BenchmarkSealNoBeacon for the same item with
// a beacon on its email: the beacon key lookup (cached) and the beacon.
func BenchmarkSealWithBeacon(b *testing.B) {
	r := referenceItem()
	rb := ReferenceBeacon(*r)
	benchSeal(b, &rb)
}

// Searchable has the same email twice: encrypted with a beacon, and as a
// signed plaintext attribute with its own index, so that a search by
// beacon and a plaintext index query return the same items.
type Searchable struct {
	Tenant string `dynamodbav:"tenant" seal:"pk,tenant"`
	ID     string `dynamodbav:"id" seal:"sk"`
	Email  string `dynamodbav:"email,omitempty" seal:"encrypt,beacon,lower,trim,index=by_email"`
	Plain  string `dynamodbav:"plain,omitempty" seal:"index=by_plain"`
	Notes  string `dynamodbav:"notes" seal:"encrypt"`
}

// searchBench writes 1,000 items (200 emails, 5 items each) in one tenant
// of a fresh table and returns its scope.
func searchBench(b *testing.B) table.Scope[Searchable] {
	b.Helper()
	e := newEnv(b)
	name := createTable[Searchable](b, e, "search", nil)
	tb, err := table.New[Searchable](e.c, name, tenantkeys.NewCache(e.store))
	if err != nil {
		b.Fatal(err)
	}
	s := tb.For("tenant-0042")
	var batch []*Searchable
	for i := range 1000 {
		email := fmt.Sprintf("user%03d@example.com", i%200)
		batch = append(batch, &Searchable{ID: fmt.Sprintf("i%04d", i), Email: email, Plain: email, Notes: "some notes of a customer"})
	}
	if err := s.BatchWrite(context.Background(), batch, nil); err != nil {
		b.Fatal(err)
	}
	return s
}

// drain runs one search and checks it found the 5 items of its email.
func drain(b *testing.B, seq func(func(*Searchable, error) bool)) {
	n := 0
	for _, err := range seq {
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	if n != 5 {
		b.Fatalf("found %d items, want 5", n)
	}
}

// searchOps returns a Find by beacon and the same search as a Query of
// the plaintext copy's index, each cycling through the 200 emails and
// checking that it found 5 items, warmed up.
func searchOps(b *testing.B) (find, plain func()) {
	s := searchBench(b)
	ctx := context.Background()
	i, j := 0, 0
	find = func() {
		i++
		drain(b, s.Find(ctx, "email", table.S(fmt.Sprintf("user%03d@example.com", i%200))))
	}
	plain = func() {
		j++
		drain(b, s.Query(ctx, table.QueryInput{Index: "by_plain", Partition: table.S(fmt.Sprintf("user%03d@example.com", j%200))}))
	}
	for range 200 { // JIT warm-up of DynamoDB Local
		find()
		plain()
	}
	return find, plain
}

// BenchmarkFindByBeacon is Find by an encrypted email against DynamoDB
// Local: beacon, index query, verify, decrypt, exactness check, 5 items.
func BenchmarkFindByBeacon(b *testing.B) {
	find, _ := searchOps(b)
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		find()
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "client-cpu-ns/op")
}

// BenchmarkQueryPlainIndex is the same search as BenchmarkFindByBeacon on
// the plaintext copy of the email: a Query of its index (tenant filter,
// verify, decrypt), 5 items.
func BenchmarkQueryPlainIndex(b *testing.B) {
	_, plain := searchOps(b)
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		plain()
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "client-cpu-ns/op")
}

// interleave runs a and b in alternating blocks of blk ops, so that both
// see the same machine load, and reports each one's wall time and process
// CPU time per op under the names na and nb, and the ratios a/b. The CPU
// figures are this process's only (DynamoDB Local is another process).
func interleave(bm *testing.B, blk int, na string, a func(), nb string, b func()) {
	var wall, cpu [2]time.Duration
	var ops [2]int
	side := 0
	w0, c0 := time.Now(), processCPU()
	flush := func() {
		w1, c1 := time.Now(), processCPU()
		wall[side] += w1.Sub(w0)
		cpu[side] += c1 - c0
		w0, c0 = w1, c1
	}
	bm.ResetTimer()
	for i := 0; bm.Loop(); i++ {
		if i > 0 && i%blk == 0 {
			flush()
			side = 1 - side
		}
		if side == 0 {
			a()
		} else {
			b()
		}
		ops[side]++
	}
	flush()
	if ops[0] == 0 || ops[1] == 0 {
		return // too few iterations to compare
	}
	per := func(d time.Duration, n int) float64 { return float64(d) / float64(n) }
	bm.ReportMetric(per(wall[0], ops[0]), na+"-ns/op")
	bm.ReportMetric(per(wall[1], ops[1]), nb+"-ns/op")
	bm.ReportMetric(per(wall[0], ops[0])/per(wall[1], ops[1]), "wall-ratio")
	bm.ReportMetric(per(cpu[0], ops[0])/per(cpu[1], ops[1]), "cpu-ratio")
}

// BenchmarkInterleavedFindVsPlainIndex alternates BenchmarkFindByBeacon's
// and BenchmarkQueryPlainIndex's searches in blocks of 20; its ratios are
// the figures to trust on a shared machine.
func BenchmarkInterleavedFindVsPlainIndex(b *testing.B) {
	find, plain := searchOps(b)
	interleave(b, 20, "find", find, "plain", plain)
}

// BenchmarkInterleavedSealBeacon alternates BenchmarkSealWithBeacon's and
// BenchmarkSealNoBeacon's seals in blocks of 200.
func BenchmarkInterleavedSealBeacon(b *testing.B) {
	with, without := sealOp(b, func() *ReferenceBeacon { r := ReferenceBeacon(*referenceItem()); return &r }()), sealOp(b, referenceItem())
	interleave(b, 200, "beacon", with, "nobeacon", without)
}
