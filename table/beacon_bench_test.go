package table_test

import (
	"context"
	"fmt"
	"testing"

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

func benchSeal[T any](b *testing.B, v *T) {
	keys := tenantkeys.NewCache(newStore(b))
	tb, err := table.New[T](noClient{}, "bench", keys)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s := tb.For("tenant-0042")
	if _, err := table.SealForTest(ctx, s, v); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := table.SealForTest(ctx, s, v); err != nil {
			b.Fatal(err)
		}
	}
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

// BenchmarkFindByBeacon is Find by an encrypted email against DynamoDB
// Local: beacon, index query, verify, decrypt, exactness check, 5 items.
func BenchmarkFindByBeacon(b *testing.B) {
	s := searchBench(b)
	ctx := context.Background()
	i := 0
	op := func() {
		i++
		drain(b, s.Find(ctx, "email", table.S(fmt.Sprintf("user%03d@example.com", i%200))))
	}
	for range 200 {
		op() // JIT warm-up of DynamoDB Local
	}
	b.ResetTimer()
	for b.Loop() {
		op()
	}
}

// BenchmarkQueryPlainIndex is the same search as BenchmarkFindByBeacon on
// the plaintext copy of the email: a Query of its index (tenant filter,
// verify, decrypt), 5 items.
func BenchmarkQueryPlainIndex(b *testing.B) {
	s := searchBench(b)
	ctx := context.Background()
	i := 0
	op := func() {
		i++
		drain(b, s.Query(ctx, table.QueryInput{Index: "by_plain", Partition: table.S(fmt.Sprintf("user%03d@example.com", i%200))}))
	}
	for range 200 {
		op()
	}
	b.ResetTimer()
	for b.Loop() {
		op()
	}
}
