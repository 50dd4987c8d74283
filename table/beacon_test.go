package table_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// Customer has an encrypted, searchable email (lower-cased and trimmed),
// a signed status, and a compound of status and the email's beacon under
// an index keyed by the tenant.
type Customer struct {
	Tenant  string   `dynamodbav:"tenant" seal:"pk,tenant"`
	ID      string   `dynamodbav:"id" seal:"sk"`
	Email   string   `dynamodbav:"email,omitempty" seal:"encrypt,beacon,lower,trim,index=by_email"`
	Name    string   `dynamodbav:"name" seal:"encrypt"`
	Status  string   `dynamodbav:"status,omitempty"`
	Version int64    `dynamodbav:"v" seal:"version"`
	_       struct{} `seal:"compound=status_email,parts=status+email"`
	_       struct{} `seal:"index=by_status_email,pk=tenant,sk=status_email"`
}

// Short has a 2-bit beacon, so that most values collide: a search must
// drop the collisions after verification. Its compounds use the email
// beacon as a partition key part and as a sort key prefix.
type Short struct {
	Tenant string   `dynamodbav:"tenant" seal:"pk,tenant"`
	ID     string   `dynamodbav:"id" seal:"sk"`
	Email  string   `dynamodbav:"email,omitempty" seal:"encrypt,beacon=2,lower,index=by_email"`
	Region string   `dynamodbav:"region,omitempty"`
	Age    int      `dynamodbav:"age"`
	_      struct{} `seal:"compound=region_email,parts=region+email"`
	_      struct{} `seal:"index=by_region_email,pk=region_email"`
	_      struct{} `seal:"compound=email_age,parts=email+age"`
	_      struct{} `seal:"index=by_email_age,pk=tenant,sk=email_age"`
	_      struct{} `seal:"index=by_region_age,pk=region,sk=email_age"`
}

// Contact's partition key is not the tenant: tenants share partitions.
type Contact struct {
	PK    string `dynamodbav:"pk" seal:"pk"`
	Org   string `dynamodbav:"org" seal:"tenant"`
	Phone string `dynamodbav:"phone,omitempty" seal:"encrypt,beacon=12,index=by_phone"`
}

func customers(t testing.TB, e *env, opts ...table.Option) (*table.Table[Customer], string) {
	t.Helper()
	name := createTable[Customer](t, e, "customers", nil)
	tb, err := table.New[Customer](e.c, name, e.rec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tb, name
}

func shorts(t testing.TB, e *env, opts ...table.Option) *table.Table[Short] {
	t.Helper()
	name := createTable[Short](t, e, "shorts", nil)
	tb, err := table.New[Short](e.c, name, e.rec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// collect drains a search, failing on any error, and returns the ids.
func collect[T any](t *testing.T, seq func(func(*T, error) bool), id func(*T) string) []string {
	t.Helper()
	out := []string{}
	for v, err := range seq {
		if err != nil {
			t.Fatalf("search: %v", err)
		}
		out = append(out, id(v))
	}
	slices.Sort(out)
	return out
}

// findPages pages through a search from in, checking that no page holds
// more than PageSize items, and returns the ids in page order.
func findPages[T any](t *testing.T, in table.QueryInput, page func(table.QueryInput) (table.Page[T], error), id func(*T) string) []string {
	t.Helper()
	var got []string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("paging never ends")
		}
		p, err := page(in)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) > int(in.PageSize) {
			t.Fatalf("page of %d items, PageSize %d", len(p.Items), in.PageSize)
		}
		for _, v := range p.Items {
			got = append(got, id(v))
		}
		if p.Cursor == "" {
			return got
		}
		in.Cursor = p.Cursor
	}
}

func customerID(c *Customer) string { return c.ID }
func shortID(c *Short) string       { return c.ID }

func sval(t testing.TB, v types.AttributeValue) string {
	t.Helper()
	s, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		t.Fatalf("want an S value, got %T", v)
	}
	return s.Value
}

// vary returns email as a user might type it: random case and spaces.
func vary(r *rand.Rand, email string) string {
	b := []byte(email)
	for i := range b {
		if r.IntN(2) == 0 {
			b[i] = byte(strings.ToUpper(string(b[i]))[0])
		}
	}
	return strings.Repeat(" ", r.IntN(2)) + string(b) + strings.Repeat("\t", r.IntN(2))
}

// TestFindExactAcrossTenants writes 2,100 customers in three tenants from
// a shared pool of emails (typed with random case and white space) and
// checks that Find, for every email of the pool in every tenant, returns
// exactly the ids a brute-force filter of what was written gives, and
// never asks for another tenant's keys.
func TestFindExactAcrossTenants(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tb, _ := customers(t, e)
	r := rand.New(rand.NewPCG(1, 2))
	tenants := []string{"acme", "globex", "initech"}
	const perTenant, pool = 700, 60
	want := map[string]map[string][]string{} // tenant -> normalised email -> ids
	for ti, ten := range tenants {
		want[ten] = map[string][]string{}
		var batch []*Customer
		for i := range perTenant {
			c := &Customer{ID: fmt.Sprintf("%s-%04d", ten, i), Name: "n", Status: "active"}
			if i%50 != 7 { // a few without email: in no index
				j := r.IntN(pool)
				if (j+ti)%3 == 0 {
					j = (j + 1) % pool // each tenant misses a third of the pool
				}
				email := fmt.Sprintf("user%02d@example.com", j)
				c.Email = vary(r, email)
				want[ten][email] = append(want[ten][email], c.ID)
			}
			batch = append(batch, c)
		}
		if err := tb.For(ten).BatchWrite(ctx, batch, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, ten := range tenants {
		s := tb.For(ten)
		e.rec.reset()
		for j := range pool {
			email := fmt.Sprintf("user%02d@example.com", j)
			got := collect(t, s.Find(ctx, "email", table.S(vary(r, email))), customerID)
			exp := slices.Clone(want[ten][email])
			slices.Sort(exp)
			if exp == nil {
				exp = []string{}
			}
			if !slices.Equal(got, exp) {
				t.Fatalf("%s: Find(%s) = %d ids, want %d (%v vs %v)", ten, email, len(got), len(exp), got, exp)
			}
		}
		for _, other := range tenants {
			if other != ten && e.rec.asked(other) {
				t.Fatalf("Find in %s asked for keys of %s", ten, other)
			}
		}
	}
}

// TestFindDropsCollisions: with 2-bit beacons most searched items share a
// beacon with other values; every search still returns exactly the items
// with the searched value, whole or paged, and the collisions it dropped
// are counted.
func TestFindDropsCollisions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	mt := &recMeter{counts: map[string]int64{}}
	tb := shorts(t, e, table.WithMeterProvider(mt))
	s := tb.For("acme")
	r := rand.New(rand.NewPCG(3, 4))
	const n, pool = 300, 40
	byEmail := map[string][]string{}
	byRegionEmail := map[string][]string{}
	byEmailAge := map[string][]string{}
	var batch []*Short
	for i := range n {
		j := r.IntN(pool)
		email := fmt.Sprintf("u%02d@x.io", j)
		c := &Short{ID: fmt.Sprintf("s%04d", i), Email: strings.ToUpper(email), Region: []string{"eu", "us"}[i%2], Age: r.IntN(3)}
		byEmail[email] = append(byEmail[email], c.ID)
		byRegionEmail[c.Region+"|"+email] = append(byRegionEmail[c.Region+"|"+email], c.ID)
		k := fmt.Sprint(email, "|", c.Age)
		byEmailAge[k] = append(byEmailAge[k], c.ID)
		batch = append(batch, c)
	}
	if err := s.BatchWrite(ctx, batch, nil); err != nil {
		t.Fatal(err)
	}
	sorted := func(ids []string) []string {
		out := slices.Clone(ids)
		if out == nil {
			out = []string{}
		}
		slices.Sort(out)
		return out
	}
	for j := range pool {
		email := fmt.Sprintf("u%02d@x.io", j)
		if got, exp := collect(t, s.Find(ctx, "email", table.S(email)), shortID), sorted(byEmail[email]); !slices.Equal(got, exp) {
			t.Fatalf("Find(%s) = %v, want %v", email, got, exp)
		}
		// Paged: never more than PageSize, never a duplicate, the same set.
		paged := findPages(t, table.QueryInput{PageSize: 3}, func(in table.QueryInput) (table.Page[Short], error) {
			return s.FindPage(ctx, "email", table.S(email), in)
		}, shortID)
		if got, exp := sorted(paged), sorted(byEmail[email]); !slices.Equal(got, exp) || len(paged) != len(exp) {
			t.Fatalf("FindPage(%s) = %v, want %v", email, paged, exp)
		}
		for _, region := range []string{"eu", "us"} {
			got := collect(t, s.FindCompound(ctx, "region_email", []types.AttributeValue{table.S(region), table.S(email)}), shortID)
			if exp := sorted(byRegionEmail[region+"|"+email]); !slices.Equal(got, exp) {
				t.Fatalf("FindCompound(region_email, %s, %s) = %v, want %v", region, email, got, exp)
			}
		}
		got := collect(t, s.FindCompound(ctx, "email_age", []types.AttributeValue{table.S(email)}), shortID)
		if exp := sorted(byEmail[email]); !slices.Equal(got, exp) {
			t.Fatalf("FindCompound(email_age prefix %s) = %v, want %v", email, got, exp)
		}
		// The same prefix under an index partitioned by region.
		p, err := s.FindCompoundPage(ctx, "email_age", []types.AttributeValue{table.S(email)}, table.QueryInput{Index: "by_region_age", Partition: table.S("eu")})
		if err != nil {
			t.Fatal(err)
		}
		var eu []string
		for _, it := range p.Items {
			eu = append(eu, it.ID)
		}
		if exp := sorted(byRegionEmail["eu|"+email]); p.Cursor != "" || !slices.Equal(sorted(eu), exp) {
			t.Fatalf("FindCompoundPage(email_age prefix %s in eu) = %v (cursor %q), want %v", email, eu, p.Cursor, exp)
		}
		for age := range 3 {
			got := collect(t, s.FindCompound(ctx, "email_age", []types.AttributeValue{table.S(email), table.N(int64(age))}), shortID)
			if exp := sorted(byEmailAge[fmt.Sprint(email, "|", age)]); !slices.Equal(got, exp) {
				t.Fatalf("FindCompound(email_age %s %d) = %v, want %v", email, age, got, exp)
			}
		}
	}
	if c := mt.get(table.MetricBeaconCollisions); c == 0 {
		t.Fatal("no collision counted with 2-bit beacons")
	}
	// A partition-key compound needs all its parts.
	for _, err := range s.FindCompound(ctx, "region_email", []types.AttributeValue{table.S("eu")}) {
		if !errors.Is(err, table.ErrNoBeaconIndex) {
			t.Fatalf("prefix of a partition-key compound: %v, want ErrNoBeaconIndex", err)
		}
	}
}

// TestFindTenantIsolation: the same email in two tenants has unrelated
// beacons, and each tenant finds only its own items.
func TestFindTenantIsolation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tb, _ := customers(t, e)
	for _, ten := range []string{"acme", "globex"} {
		for i := range 3 {
			if err := tb.For(ten).Put(ctx, &Customer{ID: fmt.Sprint(ten, i), Email: "same@example.com", Status: "active"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ba, err := tb.For("acme").BeaconValue(ctx, "email", table.S("same@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	bg, err := tb.For("globex").BeaconValue(ctx, "email", table.S("same@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	ha, _ := strings.CutPrefix(sval(t, ba), "acme"+attrcrypt.IndexSeparator)
	hg, _ := strings.CutPrefix(sval(t, bg), "globex"+attrcrypt.IndexSeparator)
	if ha == hg {
		t.Fatalf("the same email has the same beacon %q in two tenants", ha)
	}
	for _, ten := range []string{"acme", "globex"} {
		got := collect(t, tb.For(ten).Find(ctx, "email", table.S("same@example.com")), customerID)
		if !slices.Equal(got, []string{ten + "0", ten + "1", ten + "2"}) {
			t.Fatalf("%s finds %v", ten, got)
		}
		got = collect(t, tb.For(ten).FindCompound(ctx, "status_email", []types.AttributeValue{table.S("active")}), customerID)
		if len(got) != 3 || !strings.HasPrefix(got[0], ten) {
			t.Fatalf("%s finds by compound %v", ten, got)
		}
	}
	if got := collect(t, tb.For("initech").Find(ctx, "email", table.S("same@example.com")), customerID); len(got) != 0 {
		t.Fatalf("a tenant without items finds %v", got)
	}
}

// TestFindSharedPartitions: on a table whose partition key is not the
// tenant, a search still returns only the scope's items.
func TestFindSharedPartitions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	name := createTable[Contact](t, e, "contacts", nil)
	tb, err := table.New[Contact](e.c, name, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	for i, org := range []string{"o1", "o2", "o1", "o2"} {
		if err := tb.For(org).Put(ctx, &Contact{PK: fmt.Sprint("c", i), Phone: "+1 555 0100"}); err != nil {
			t.Fatal(err)
		}
	}
	got := collect(t, tb.For("o1").Find(ctx, "phone", table.S("+1 555 0100")), func(c *Contact) string { return c.PK })
	if !slices.Equal(got, []string{"c0", "c2"}) {
		t.Fatalf("o1 finds %v", got)
	}
}

// TestFindAfterShred: once a tenant is shredded its searches fail with
// ErrKeyShredded and return no item, other tenants are unaffected, and
// after a reopen only what is written afterwards is found.
func TestFindAfterShred(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tb, name := customers(t, e)
	for _, ten := range []string{"acme", "globex"} {
		if err := tb.For(ten).Put(ctx, &Customer{ID: "c1", Email: "a@b.c", Status: "active"}); err != nil {
			t.Fatal(err)
		}
	}
	old := sval(t, rawGet(t, e.c, name, pkey("acme", "c1"))["email#b"])
	if err := e.store.Shred(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	a := tb.For("acme")
	n := 0
	for v, err := range a.Find(ctx, "email", table.S("a@b.c")) {
		n++
		if v != nil || !errors.Is(err, table.ErrKeyShredded) {
			t.Fatalf("Find of a shredded tenant: %v, %v; want ErrKeyShredded and no item", v, err)
		}
	}
	if n != 1 {
		t.Fatalf("Find of a shredded tenant yielded %d results, want one error", n)
	}
	if p, err := a.FindPage(ctx, "email", table.S("a@b.c"), table.QueryInput{}); !errors.Is(err, table.ErrKeyShredded) || len(p.Items) != 0 {
		t.Fatalf("FindPage of a shredded tenant: %d items, %v", len(p.Items), err)
	}
	for v, err := range a.FindCompound(ctx, "status_email", []types.AttributeValue{table.S("active"), table.S("a@b.c")}) {
		if v != nil || !errors.Is(err, table.ErrKeyShredded) {
			t.Fatalf("FindCompound of a shredded tenant: %v, %v", v, err)
		}
	}
	if _, err := a.BeaconValue(ctx, "email", table.S("a@b.c")); !errors.Is(err, table.ErrKeyShredded) {
		t.Fatalf("BeaconValue of a shredded tenant: %v", err)
	}
	if got := collect(t, tb.For("globex").Find(ctx, "email", table.S("a@b.c")), customerID); !slices.Equal(got, []string{"c1"}) {
		t.Fatalf("other tenant after the shred finds %v", got)
	}
	if err := e.store.ReopenAfterShred(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, &Customer{ID: "c2", Email: "a@b.c", Status: "active"}); err != nil {
		t.Fatalf("write after the reopen: %v", err)
	}
	if now := sval(t, rawGet(t, e.c, name, pkey("acme", "c2"))["email#b"]); now == old {
		t.Fatal("the reopened tenant's beacon equals the shredded one's")
	}
	if got := collect(t, a.Find(ctx, "email", table.S("a@b.c")), customerID); !slices.Equal(got, []string{"c2"}) {
		t.Fatalf("after the reopen Find = %v, want only the new item", got)
	}
}

// TestFindAcrossRotation: rotating the data key keeps beacons: items
// sealed before and after are found, with the same stored beacon.
func TestFindAcrossRotation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tb, name := customers(t, e)
	s := tb.For("acme")
	put := func(id string) {
		t.Helper()
		if err := s.Put(ctx, &Customer{ID: id, Email: "Rot@Example.com", Status: "active"}); err != nil {
			t.Fatal(err)
		}
	}
	put("old1")
	put("old2")
	if _, err := e.store.Rotate(ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	put("new1")
	if _, err := s.Update(ctx, sk("old2"), func(c *Customer) error { c.Name = "re-sealed"; return nil }); err != nil {
		t.Fatal(err)
	}
	b1 := sval(t, rawGet(t, e.c, name, pkey("acme", "old1"))["email#b"])
	for _, id := range []string{"old2", "new1"} {
		if b := sval(t, rawGet(t, e.c, name, pkey("acme", id))["email#b"]); b != b1 {
			t.Fatalf("%s has beacon %q after the rotation, old items %q", id, b, b1)
		}
	}
	if got := collect(t, s.Find(ctx, "email", table.S("rot@example.com")), customerID); !slices.Equal(got, []string{"new1", "old1", "old2"}) {
		t.Fatalf("Find across a rotation = %v", got)
	}
	// Reseal moves old1 to the new key and keeps its beacon.
	if st, err := tb.Reseal(ctx, table.ScanInput{}); err != nil || st.Resealed != 1 {
		t.Fatalf("Reseal: %+v, %v", st, err)
	}
	if b := sval(t, rawGet(t, e.c, name, pkey("acme", "old1"))["email#b"]); b != b1 {
		t.Fatalf("old1 has beacon %q after the reseal, %q before", b, b1)
	}
	if got := collect(t, s.Find(ctx, "email", table.S("rot@example.com")), customerID); !slices.Equal(got, []string{"new1", "old1", "old2"}) {
		t.Fatalf("Find after a reseal = %v", got)
	}
}

// TestBeaconTamper: a beacon or compound attribute edited, swapped between
// items, copied from another tenant or removed makes the item ErrTampered,
// on Get and in a search.
func TestBeaconTamper(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tb, name := customers(t, e)
	a := tb.For("acme")
	for id, email := range map[string]string{"a": "a@x.io", "b": "b@x.io"} {
		if err := a.Put(ctx, &Customer{ID: id, Email: email, Status: "active"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.For("globex").Put(ctx, &Customer{ID: "a", Email: "a@x.io", Status: "active"}); err != nil {
		t.Fatal(err)
	}
	ia := rawGet(t, e.c, name, pkey("acme", "a"))
	ib := rawGet(t, e.c, name, pkey("acme", "b"))
	ig := rawGet(t, e.c, name, pkey("globex", "a"))
	restore := func() { rawPut(t, e.c, name, ia); rawPut(t, e.c, name, ib) }
	tampered := func(what, id string) {
		t.Helper()
		if _, err := a.Get(ctx, sk(id)); !errors.Is(err, table.ErrTampered) {
			t.Fatalf("%s: Get(%s) = %v, want ErrTampered", what, id, err)
		}
	}
	edit := func(m map[string]types.AttributeValue, attr string, v types.AttributeValue) map[string]types.AttributeValue {
		c := clone(m)
		if v == nil {
			delete(c, attr)
		} else {
			c[attr] = v
		}
		return c
	}

	rawPut(t, e.c, name, edit(ia, "email#b", table.S("acme"+attrcrypt.IndexSeparator+"0000")))
	tampered("edited beacon", "a")
	restore()

	rawPut(t, e.c, name, edit(ia, "email#b", ib["email#b"]))
	rawPut(t, e.c, name, edit(ib, "email#b", ia["email#b"]))
	tampered("swapped beacon", "a")
	tampered("swapped beacon", "b")
	// Searching a's email now reaches b, which fails verification.
	n := 0
	for v, err := range a.Find(ctx, "email", table.S("a@x.io")) {
		n++
		var ie *table.ItemError
		if v != nil || !errors.Is(err, table.ErrTampered) || !errors.As(err, &ie) {
			t.Fatalf("Find over a swapped beacon: %v, %v; want an ItemError matching ErrTampered", v, err)
		}
	}
	if n != 1 {
		t.Fatalf("Find over a swapped beacon yielded %d results, want one error", n)
	}
	if _, err := a.FindPage(ctx, "email", table.S("a@x.io"), table.QueryInput{}); !errors.Is(err, table.ErrTampered) {
		t.Fatalf("FindPage over a swapped beacon: %v", err)
	}
	restore()

	rawPut(t, e.c, name, edit(ia, "email#b", ig["email#b"]))
	tampered("beacon copied from another tenant", "a")
	restore()

	rawPut(t, e.c, name, edit(ia, "email#b", nil))
	tampered("beacon removed", "a")
	restore()

	rawPut(t, e.c, name, edit(ia, "status_email", ib["status_email"]))
	tampered("compound swapped", "a")
	restore()

	if got := collect(t, a.Find(ctx, "email", table.S("a@x.io")), customerID); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after restoring: %v", got)
	}
}

// plantingCodec writes its own values under the beacon and compound names.
type plantingCodec struct{ table.Codec[Customer] }

func (p plantingCodec) Marshal(v *Customer) (map[string]types.AttributeValue, error) {
	m, err := p.Codec.Marshal(v)
	m["email#b"] = table.S("acme" + attrcrypt.IndexSeparator + "ffff")
	m["status_email"] = table.S("acme" + attrcrypt.IndexSeparator + "active" + attrcrypt.IndexSeparator + "ffff")
	return m, err
}

// TestBeaconPlantedValueIgnored: values a codec (or a caller) puts under
// the beacon and compound names are replaced by the computed ones, or
// dropped when the item has no source value.
func TestBeaconPlantedValueIgnored(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	name := createTable[Customer](t, e, "planted", nil)
	tb, err := table.New[Customer](e.c, name, e.rec, table.WithCodec[Customer](plantingCodec{table.ReflectCodec[Customer]()}))
	if err != nil {
		t.Fatal(err)
	}
	s := tb.For("acme")
	if err := s.Put(ctx, &Customer{ID: "p1", Email: "Real@x.io", Status: "active"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, &Customer{ID: "p2", Status: "active"}); err != nil {
		t.Fatal(err)
	}
	raw := rawGet(t, e.c, name, pkey("acme", "p1"))
	bv, err := s.BeaconValue(ctx, "email", table.S("real@x.io"))
	if err != nil {
		t.Fatal(err)
	}
	cv, err := s.CompoundValue(ctx, "status_email", []types.AttributeValue{table.S("active"), table.S("real@x.io")})
	if err != nil {
		t.Fatal(err)
	}
	if sval(t, raw["email#b"]) != sval(t, bv) || sval(t, raw["status_email"]) != sval(t, cv) {
		t.Fatalf("stored %q / %q, computed %q / %q", sval(t, raw["email#b"]), sval(t, raw["status_email"]), sval(t, bv), sval(t, cv))
	}
	raw2 := rawGet(t, e.c, name, pkey("acme", "p2"))
	if _, ok := raw2["email#b"]; ok {
		t.Fatal("a planted beacon was stored for an item without email")
	}
	if _, ok := raw2["status_email"]; ok {
		t.Fatal("a planted compound was stored for an item without email")
	}
	if got := collect(t, s.Find(ctx, "email", table.S("real@x.io")), customerID); !slices.Equal(got, []string{"p1"}) {
		t.Fatalf("Find = %v", got)
	}
}

// TestBeaconsFollowWrites: every write path stores the beacons of what it
// writes, and Update keeps them in sync when the source changes or goes.
func TestBeaconsFollowWrites(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tb, name := customers(t, e)
	s := tb.For("acme")
	find := func(email string) []string {
		t.Helper()
		return collect(t, s.Find(ctx, "email", table.S(email)), customerID)
	}
	if err := s.Create(ctx, &Customer{ID: "create", Email: "w@x.io", Status: "active"}); err != nil {
		t.Fatal(err)
	}
	if err := s.BatchWrite(ctx, []*Customer{{ID: "batch", Email: "w@x.io", Status: "active"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := table.TransactWrite(ctx, e.c, s.TxCreate(&Customer{ID: "tx", Email: "w@x.io", Status: "active"})); err != nil {
		t.Fatal(err)
	}
	if got := find("w@x.io"); !slices.Equal(got, []string{"batch", "create", "tx"}) {
		t.Fatalf("Find after Create, BatchWrite, TxCreate = %v", got)
	}
	if _, err := s.Update(ctx, sk("create"), func(c *Customer) error { c.Email = "moved@x.io"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := table.TransactWrite(ctx, e.c, s.TxUpdate(sk("tx"), func(c *Customer) error { c.Email = "moved@x.io"; return nil })); err != nil {
		t.Fatal(err)
	}
	if got := find("w@x.io"); !slices.Equal(got, []string{"batch"}) {
		t.Fatalf("old email after the updates: %v", got)
	}
	if got := find("moved@x.io"); !slices.Equal(got, []string{"create", "tx"}) {
		t.Fatalf("new email after the updates: %v", got)
	}
	// A status change moves the compound.
	if _, err := s.Update(ctx, sk("create"), func(c *Customer) error { c.Status = "closed"; return nil }); err != nil {
		t.Fatal(err)
	}
	closed := collect(t, s.FindCompound(ctx, "status_email", []types.AttributeValue{table.S("closed"), table.S("moved@x.io")}), customerID)
	active := collect(t, s.FindCompound(ctx, "status_email", []types.AttributeValue{table.S("active"), table.S("moved@x.io")}), customerID)
	if !slices.Equal(closed, []string{"create"}) || !slices.Equal(active, []string{"tx"}) {
		t.Fatalf("compound after a status change: closed %v, active %v", closed, active)
	}
	// Clearing the email (omitempty) removes the beacon and the compound.
	if _, err := s.Update(ctx, sk("create"), func(c *Customer) error { c.Email = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	raw := rawGet(t, e.c, name, pkey("acme", "create"))
	for _, a := range []string{"email#b", "status_email"} {
		if _, ok := raw[a]; ok {
			t.Fatalf("%s still stored after the email was cleared", a)
		}
	}
	if got := find("moved@x.io"); !slices.Equal(got, []string{"tx"}) {
		t.Fatalf("after clearing: %v", got)
	}
	if _, err := s.Get(ctx, sk("create")); err != nil {
		t.Fatalf("Get after clearing: %v", err)
	}
}

// rotatedBeaconKeys answers CurrentKey for beacon classes with a version
// other than 1, as a provider would after a beacon key rotation.
type rotatedBeaconKeys struct{ *recorder }

func (r rotatedBeaconKeys) CurrentKey(ctx context.Context, tenant, class string) (attrcrypt.Key, error) {
	k, err := r.recorder.CurrentKey(ctx, tenant, class)
	if err == nil && strings.HasPrefix(class, "__beacon") {
		k.Ref.Version = 2
	}
	return k, err
}

// TestSearchRefusals: misuse fails with the documented sentinels, before
// any request, and without quoting values.
func TestSearchRefusals(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tb, _ := customers(t, e)
	s := tb.For("acme")
	if err := s.Put(ctx, &Customer{ID: "c1", Email: "a@b.c", Status: "active"}); err != nil {
		t.Fatal(err)
	}
	first := func(seq func(func(*Customer, error) bool)) error {
		for _, err := range seq {
			return err
		}
		return nil
	}
	for _, c := range []struct {
		what string
		err  error
		want error
	}{
		{"no beacon", first(s.Find(ctx, "name", table.S("x"))), table.ErrNoBeaconIndex},
		{"no attribute", first(s.Find(ctx, "nope", table.S("x"))), table.ErrNoBeaconIndex},
		{"wrong type", first(s.Find(ctx, "email", table.N(5))), table.ErrInvalidSearchValue},
		{"nil value", first(s.Find(ctx, "email", nil)), table.ErrInvalidSearchValue},
		{"typed nil value", first(s.Find(ctx, "email", (*types.AttributeValueMemberS)(nil))), table.ErrInvalidSearchValue},
		{"invalid UTF-8", first(s.Find(ctx, "email", table.S("\xff"))), table.ErrInvalidSearchValue},
		{"no compound", first(s.FindCompound(ctx, "nope", []types.AttributeValue{table.S("x")})), table.ErrNoBeaconIndex},
		{"no parts", first(s.FindCompound(ctx, "status_email", nil)), table.ErrNoBeaconIndex},
		{"too many parts", first(s.FindCompound(ctx, "status_email", []types.AttributeValue{table.S("a"), table.S("b"), table.S("c")})), table.ErrNoBeaconIndex},
		{"index without the beacon", errOf(s.FindPage(ctx, "email", table.S("x"), table.QueryInput{Index: "by_status_email"})), table.ErrNoBeaconIndex},
		{"separator in a prefix part", first(s.FindCompound(ctx, "status_email", []types.AttributeValue{table.S("a\x1fb")})), table.ErrInvalidSearchValue},
		{"no tenant", first(tb.For("").Find(ctx, "email", table.S("x"))), table.ErrNoTenant},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.what, c.err, c.want)
		}
	}
	if _, err := s.FindPage(ctx, "email", table.S("x"), table.QueryInput{Partition: table.S("p")}); err == nil {
		t.Fatal("FindPage accepted a partition value")
	}
	err := s.Put(ctx, &Customer{ID: "c2", Email: "a@b.c", Status: "secret\x1fvalue"})
	if !errors.Is(err, table.ErrInvalidSearchValue) || strings.Contains(err.Error(), "secret") {
		t.Fatalf("separator in a non-final compound part: %v", err)
	}
	if _, err := table.New[Customer](e.c, "x", e.rec, table.WithKeyClass("__beacon")); !errors.Is(err, tenantkeys.ErrInvalidName) {
		t.Fatal("New accepted a reserved key class")
	}
	if _, err := table.New[Customer](e.c, "x", e.rec, table.WithIndex(table.Index{Name: "by_email", PartitionKey: "status", Projection: types.ProjectionTypeAll})); !errors.Is(err, table.ErrInvalidIndex) {
		t.Fatalf("WithIndex disagreeing with the schema: %v", err)
	}
	if _, err := table.New[Customer](e.c, "x", e.rec, table.WithIndex(table.Index{Name: "by_email", PartitionKey: "email#b", Projection: types.ProjectionTypeAll})); err != nil {
		t.Fatalf("WithIndex agreeing with the schema: %v", err)
	}
	type NoIndex struct {
		Tenant string `dynamodbav:"tenant" seal:"pk,tenant"`
		ID     string `dynamodbav:"id" seal:"sk"`
		Email  string `dynamodbav:"email" seal:"encrypt,beacon"`
	}
	ni, err := table.New[NoIndex](e.c, "x", e.rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range ni.For("acme").Find(ctx, "email", table.S("x")) {
		if !errors.Is(err, table.ErrNoBeaconIndex) {
			t.Fatalf("Find without an index: %v", err)
		}
	}
	rot, err := table.New[Customer](e.c, tb.Name(), rotatedBeaconKeys{e.rec})
	if err != nil {
		t.Fatal(err)
	}
	if err := rot.For("acme").Put(ctx, &Customer{ID: "c3", Email: "a@b.c"}); !errors.Is(err, table.ErrBeaconKey) {
		t.Fatalf("write with a rotated beacon key: %v, want ErrBeaconKey", err)
	}
}

// TestCheckComparesSchemaIndexes: Check accepts the table CreateTableInput
// made and reports a table without the declared indexes.
func TestCheckComparesSchemaIndexes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tb, _ := customers(t, e)
	if err := tb.Check(ctx); err != nil {
		t.Fatalf("Check of the schema's table: %v", err)
	}
	bare := createTable[Customer](t, e, "bare", func(in *dynamodbCreateTableInput) {
		in.GlobalSecondaryIndexes = nil
		in.AttributeDefinitions = in.AttributeDefinitions[:2]
	})
	tb2, err := table.New[Customer](e.c, bare, e.rec)
	if err != nil {
		t.Fatal(err)
	}
	err = tb2.Check(ctx)
	if !errors.Is(err, table.ErrTableMismatch) || !strings.Contains(err.Error(), "by_email") || !strings.Contains(err.Error(), "by_status_email") {
		t.Fatalf("Check of a table without the indexes: %v", err)
	}
}

// TestFindCompoundPages: a prefix search on a compound sort key pages in
// key order, both ways, and a cursor of one search is refused by another.
func TestFindCompoundPages(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tb, _ := customers(t, e)
	s := tb.For("acme")
	var batch []*Customer
	for i := range 30 {
		batch = append(batch, &Customer{ID: fmt.Sprintf("c%02d", i), Email: fmt.Sprintf("p%d@x.io", i%4), Status: []string{"active", "closed"}[i%3/2]})
	}
	if err := s.BatchWrite(ctx, batch, nil); err != nil {
		t.Fatal(err)
	}
	parts := []types.AttributeValue{table.S("active")}
	all := []string{}
	for v, err := range s.FindCompound(ctx, "status_email", parts) {
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != "active" {
			t.Fatalf("prefix search returned status %q", v.Status)
		}
		all = append(all, v.ID)
	}
	var desc []string
	for v, err := range s.FindCompound(ctx, "status_email", parts, table.Descending()) {
		if err != nil {
			t.Fatal(err)
		}
		desc = append(desc, v.ID)
	}
	if len(all) != 20 || len(desc) != 20 {
		t.Fatalf("prefix search: %d ascending, %d descending, want 20", len(all), len(desc))
	}
	for _, descending := range []bool{false, true} {
		paged := findPages(t, table.QueryInput{PageSize: 6, Descending: descending}, func(in table.QueryInput) (table.Page[Customer], error) {
			return s.FindCompoundPage(ctx, "status_email", parts, in)
		}, customerID)
		want := all
		if descending {
			want = desc
		}
		if !slices.Equal(paged, want) {
			t.Fatalf("paged (descending %v) %v, want %v", descending, paged, want)
		}
	}
	p, err := s.FindPage(ctx, "email", table.S("p0@x.io"), table.QueryInput{PageSize: 1})
	if err != nil || p.Cursor == "" {
		t.Fatalf("first page: %v (cursor %q)", err, p.Cursor)
	}
	if _, err := s.FindPage(ctx, "email", table.S("p1@x.io"), table.QueryInput{PageSize: 1, Cursor: p.Cursor}); !errors.Is(err, table.ErrInvalidCursor) {
		t.Fatalf("a cursor of another search: %v, want ErrInvalidCursor", err)
	}
	if _, err := s.QueryPage(ctx, table.QueryInput{Cursor: p.Cursor}); !errors.Is(err, table.ErrInvalidCursor) {
		t.Fatalf("a search cursor on a query: %v, want ErrInvalidCursor", err)
	}
}
