package attrcrypt_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest"
)

// TestMain stops the shared DynamoDB Local after the whole attrcrypt test
// binary (internal and external tests) has run.
func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func num(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
func nums(v ...string) types.AttributeValue {
	return &types.AttributeValueMemberNS{Value: v}
}
func strs(v ...string) types.AttributeValue { return &types.AttributeValueMemberSS{Value: v} }
func doc(m map[string]types.AttributeValue) types.AttributeValue {
	return &types.AttributeValueMemberM{Value: m}
}
func list(v ...types.AttributeValue) types.AttributeValue {
	return &types.AttributeValueMemberL{Value: v}
}

func key(tenant string, version uint32) attrcrypt.Key {
	k := attrcrypt.Key{Ref: attrcrypt.KeyRef{Tenant: tenant, Version: version}}
	k.Material = sha256.Sum256([]byte("dynamodb test key " + tenant))
	return k
}

// awkward is an item with every value DynamoDB rewrites: numbers in
// non-canonical text at the top level, in sets and nested; sets in
// non-sorted order (including UTF-16 versus UTF-8 order and bytes ≥ 0x80);
// maps whose keys DynamoDB returns in hash order.
func awkward(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk":    str(pk),
		"sk":    str(sk),
		"n1":    num("1.50"),
		"n2":    num("0012"),
		"n3":    num("1E3"),
		"n4":    num("-0.0"),
		"n5":    num("9.9999999999999999999999999999999999999E+125"),
		"n6":    num("1e-130"),
		"ns":    nums("1E3", "-0.0", "1e-3", "1.0E+2", "0012", "+7", ".5", "5.", "-00.10", "1.50"),
		"ss":    strs("zeta", "é", "\U0001F600", "\uE000", "alpha", ""),
		"bs":    &types.AttributeValueMemberBS{Value: [][]byte{{0x7f}, {0x80}, {0x00}, {0xff, 0x01}}},
		"empty": str(""),
		"m": doc(map[string]types.AttributeValue{
			"zz": doc(map[string]types.AttributeValue{"n": num("1.50"), "ns": nums("0012", "1e-7", "1E3")}),
			"a":  num("0012"), "B": num("1E3"), "_": strs("b", "a"), "é": list(num("00.10"), nums("1.50", "2")),
		}),
		"l":      list(nums("1E3", "0012", "1.50", "0.000"), num("0012"), doc(map[string]types.AttributeValue{"k2": num("7.0"), "k1": num("+7")})),
		"secret": str("encrypted text"),
		"enc_n":  num("0100.100"),
		"enc_ns": nums("1E3", "-0.0", "2.50"),
		"enc_m":  doc(map[string]types.AttributeValue{"b": nums("0012", "1.5"), "a": strs("y", "x"), "c": num("1E-3")}),
		"note":   str("plain, unsigned"),
	}
}

var actions = map[string]attrcrypt.Action{
	"secret": attrcrypt.ActionEncrypt, "enc_n": attrcrypt.ActionEncrypt, "enc_ns": attrcrypt.ActionEncrypt,
	"enc_m": attrcrypt.ActionEncrypt, "note": attrcrypt.ActionPlain,
}

func put(t *testing.T, c *dynamodb.Client, table string, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := c.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, c *dynamodb.Client, table, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName: &table, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": str(pk), "sk": str(sk)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		t.Fatal("item not found")
	}
	return out.Item
}

// TestDynamoDBLocalRoundTrip seals awkward items, stores them with the real
// SDK in DynamoDB Local, reads them back (rewritten by the database) and
// opens them.
func TestDynamoDBLocalRoundTrip(t *testing.T) {
	c := itest.DynamoDB(t)
	table := itest.NewKeyValueTable(t, c)
	s, err := attrcrypt.NewSealer(attrcrypt.Config{Table: "logical-orders", TenantAttribute: "pk", Actions: actions})
	if err != nil {
		t.Fatal(err)
	}
	k := key("tenant-a", 1)
	in := awkward("tenant-a", "item-1")
	sealed, err := s.Seal(in, k)
	if err != nil {
		t.Fatal(err)
	}
	put(t, c, table, sealed)
	stored := get(t, c, table, "tenant-a", "item-1")

	// DynamoDB did rewrite the signed values, so this test exercises the
	// canonicalisation rather than passing trivially.
	if reflect.DeepEqual(stored["n1"], sealed["n1"]) || reflect.DeepEqual(stored["ns"], sealed["ns"]) {
		t.Fatal("DynamoDB Local returned numbers verbatim; the test no longer covers rewriting")
	}
	got, res, err := s.Open(stored, k)
	if err != nil {
		t.Fatalf("Open after a DynamoDB round trip: %v", err)
	}
	if res.NeedsReseal() || res.MigrationUsed {
		t.Errorf("unexpected OpenResult %+v", res)
	}
	// Signed values: the canonical form, whatever text and order DynamoDB
	// returned, so exactly what opening the item before the round trip
	// gives. Plain values: as DynamoDB returned them.
	local, _, err := s.Open(sealed, k)
	if err != nil {
		t.Fatal(err)
	}
	for name, av := range stored {
		switch {
		case attrcrypt.IsReserved(name) || actions[name] == attrcrypt.ActionEncrypt:
		case actions[name] == attrcrypt.ActionPlain:
			if !reflect.DeepEqual(got[name], av) {
				t.Errorf("%s: Open returned %#v, DynamoDB stored %#v", name, got[name], av)
			}
		default:
			if !reflect.DeepEqual(got[name], local[name]) {
				t.Errorf("%s: Open after DynamoDB returned %#v, before %#v", name, got[name], local[name])
			}
		}
	}
	for name, w := range map[string]types.AttributeValue{
		"n1": num("1.5"), "n3": num("1000"), "n4": num("0"),
		"ns": nums("-0.1", "0", "0.001", "0.5", "1.5", "100", "1000", "12", "5", "7"),
		"l":  list(nums("0", "1.5", "1000", "12"), num("12"), doc(map[string]types.AttributeValue{"k2": num("7"), "k1": num("7")})),
	} {
		if !reflect.DeepEqual(got[name], w) {
			t.Errorf("signed %s: Open returned %#v, want canonical %#v", name, got[name], w)
		}
	}
	// Encrypted values: canonical.
	want := map[string]types.AttributeValue{
		"secret": str("encrypted text"),
		"enc_n":  num("100.1"),
		"enc_ns": nums("0", "1000", "2.5"),
		"enc_m":  doc(map[string]types.AttributeValue{"b": nums("1.5", "12"), "a": strs("x", "y"), "c": num("0.001")}),
	}
	for name, w := range want {
		if !reflect.DeepEqual(got[name], w) {
			t.Errorf("%s: decrypted %#v, want %#v", name, got[name], w)
		}
	}
	for name := range got {
		if attrcrypt.IsReserved(name) {
			t.Errorf("Open returned reserved attribute %s", name)
		}
	}

	// The plain attribute may change in the database; the signed ones may not.
	upd := func(expr string, vals map[string]types.AttributeValue) {
		t.Helper()
		_, err := c.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
			TableName: &table, Key: map[string]types.AttributeValue{"pk": str("tenant-a"), "sk": str("item-1")},
			UpdateExpression: aws.String(expr), ExpressionAttributeValues: vals,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	upd("SET note = :v", map[string]types.AttributeValue{":v": str("edited")})
	if _, _, err := s.Open(get(t, c, table, "tenant-a", "item-1"), k); err != nil {
		t.Fatalf("editing a plain attribute broke the item: %v", err)
	}
	upd("SET n2 = :v", map[string]types.AttributeValue{":v": num("13")})
	_, _, err = s.Open(get(t, c, table, "tenant-a", "item-1"), k)
	var te *attrcrypt.TamperError
	if !errors.As(err, &te) || te.Reason != attrcrypt.ReasonSignature {
		t.Fatalf("edited signed number: err = %v, want ReasonSignature", err)
	}
}

// TestDynamoDBLocalMovedAcrossTenants copies a stored item into another
// tenant's partition through the database and opens it as that tenant.
func TestDynamoDBLocalMovedAcrossTenants(t *testing.T) {
	c := itest.DynamoDB(t)
	table := itest.NewKeyValueTable(t, c)
	s, err := attrcrypt.NewSealer(attrcrypt.Config{Table: "logical-orders", TenantAttribute: "pk", Actions: actions})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal(awkward("tenant-a", "x"), key("tenant-a", 1))
	if err != nil {
		t.Fatal(err)
	}
	put(t, c, table, sealed)
	stolen := get(t, c, table, "tenant-a", "x")
	stolen["pk"] = str("tenant-b")
	put(t, c, table, stolen)
	moved := get(t, c, table, "tenant-b", "x")
	_, _, err = s.Open(moved, key("tenant-b", 1))
	var te *attrcrypt.TamperError
	if !errors.As(err, &te) || te.Reason != attrcrypt.ReasonCommitment {
		t.Fatalf("moved row opened as tenant-b: err = %v, want ReasonCommitment", err)
	}
	if _, _, err := s.Open(moved, key("tenant-a", 1)); !errors.Is(err, attrcrypt.ErrWrongTenant) {
		t.Fatalf("moved row opened as tenant-a: err = %v, want ErrWrongTenant", err)
	}
}

// TestDynamoDBLocalNearSizeLimit stores a sealed item whose ItemSize is just
// under 400 KB and reads it back; one well over the limit is refused by
// DynamoDB as ItemSize predicts.
func TestDynamoDBLocalNearSizeLimit(t *testing.T) {
	c := itest.DynamoDB(t)
	table := itest.NewKeyValueTable(t, c)
	s, err := attrcrypt.NewSealer(attrcrypt.Config{Table: "big", TenantAttribute: "pk", Actions: map[string]attrcrypt.Action{"blob": attrcrypt.ActionEncrypt}})
	if err != nil {
		t.Fatal(err)
	}
	k := key("tenant-a", 1)
	mk := func(n int) map[string]types.AttributeValue {
		sealed, err := s.Seal(map[string]types.AttributeValue{"pk": str("tenant-a"), "sk": str("big"), "blob": str(strings.Repeat("x", n)), "score": num("12345")}, k)
		if err != nil {
			t.Fatal(err)
		}
		return sealed
	}
	probe := mk(0)
	n := attrcrypt.MaxItemSize - attrcrypt.ItemSize(probe) - 64 // a little headroom for DynamoDB's number approximation
	sealed := mk(n)
	if sz := attrcrypt.ItemSize(sealed); sz > attrcrypt.MaxItemSize || sz < attrcrypt.MaxItemSize-100 {
		t.Fatalf("ItemSize %d not just under the limit", sz)
	}
	put(t, c, table, sealed)
	got, _, err := s.Open(get(t, c, table, "tenant-a", "big"), k)
	if err != nil {
		t.Fatal(err)
	}
	if len(got["blob"].(*types.AttributeValueMemberS).Value) != n {
		t.Fatal("blob length changed")
	}
	tooBig := mk(n + 1024)
	if attrcrypt.ItemSize(tooBig) <= attrcrypt.MaxItemSize {
		t.Fatal("test item is not over the limit")
	}
	_, err = c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &table, Item: tooBig})
	if err == nil {
		t.Fatal("DynamoDB Local accepted an item ItemSize says is over 400 KB")
	}
}

func nestL(n int, leaf types.AttributeValue) types.AttributeValue {
	for range n {
		leaf = list(leaf)
	}
	return leaf
}

func nestM(n int, leaf types.AttributeValue) types.AttributeValue {
	for range n {
		leaf = doc(map[string]types.AttributeValue{"k": leaf})
	}
	return leaf
}

// TestDynamoDBLocalNestingLimit tests both sides of the nesting boundary
// against DynamoDB itself: the deepest document Seal accepts (signed)
// stores, reads back and opens; one level more is refused by Seal with
// ErrMalformed, and DynamoDB refuses that same document unsealed.
func TestDynamoDBLocalNestingLimit(t *testing.T) {
	c := itest.DynamoDB(t)
	table := itest.NewKeyValueTable(t, c)
	s, err := attrcrypt.NewSealer(attrcrypt.Config{Table: "nest", TenantAttribute: "pk", Actions: map[string]attrcrypt.Action{"enc": attrcrypt.ActionEncrypt}})
	if err != nil {
		t.Fatal(err)
	}
	k := key("tenant-a", 1)
	const limit = 31
	for kind, nest := range map[string]func(int, types.AttributeValue) types.AttributeValue{"L": nestL, "M": nestM} {
		for _, leaf := range []types.AttributeValue{str("leaf"), strs("x"), list()} {
			item := map[string]types.AttributeValue{"pk": str("tenant-a"), "sk": str(kind), "d": nest(limit, leaf), "enc": nest(limit, leaf)}
			if _, isL := leaf.(*types.AttributeValueMemberL); isL {
				// The empty list is itself a level.
				item["d"], item["enc"] = nest(limit-1, leaf), nest(limit-1, leaf)
			}
			sealed, err := s.Seal(item, k)
			if err != nil {
				t.Fatalf("%s: Seal at the limit: %v", kind, err)
			}
			put(t, c, table, sealed)
			if _, _, err := s.Open(get(t, c, table, "tenant-a", kind), k); err != nil {
				t.Fatalf("%s: Open at the limit: %v", kind, err)
			}

			over := map[string]types.AttributeValue{"pk": str("tenant-a"), "sk": str(kind + "-over"), "d": list(item["d"])}
			_, err = s.Seal(over, k)
			if !errors.Is(err, attrcrypt.ErrMalformed) || !strings.Contains(err.Error(), `"d"`) {
				t.Fatalf("%s: Seal one level over: %v, want ErrMalformed naming d", kind, err)
			}
			_, err = c.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: &table, Item: over})
			if err == nil || !strings.Contains(err.Error(), "Nesting") {
				t.Fatalf("%s: DynamoDB accepted (or refused for another reason) one level over the limit: %v", kind, err)
			}
			// Encrypted, one level over: refused too (DynamoDB would
			// refuse the value if the attribute were ever signed).
			over = map[string]types.AttributeValue{"pk": str("tenant-a"), "sk": str("x"), "enc": list(item["enc"])}
			if _, err := s.Seal(over, k); !errors.Is(err, attrcrypt.ErrMalformed) {
				t.Fatalf("%s: encrypted one level over: %v, want ErrMalformed", kind, err)
			}
		}
	}
}

// TestDynamoDBLocalInvalidUTF8 shows why signed strings must be valid
// UTF-8 (DynamoDB stores U+FFFD instead, and the item could never open
// again) and that encrypted strings may hold any bytes: they round-trip
// through DynamoDB exactly.
func TestDynamoDBLocalInvalidUTF8(t *testing.T) {
	c := itest.DynamoDB(t)
	table := itest.NewKeyValueTable(t, c)
	s, err := attrcrypt.NewSealer(attrcrypt.Config{Table: "utf8", TenantAttribute: "pk", Actions: map[string]attrcrypt.Action{"enc": attrcrypt.ActionEncrypt, "encm": attrcrypt.ActionEncrypt}})
	if err != nil {
		t.Fatal(err)
	}
	k := key("tenant-a", 1)
	const bad = "caf\xe9"

	// What DynamoDB does with the raw value.
	put(t, c, table, map[string]types.AttributeValue{"pk": str("tenant-a"), "sk": str("raw"), "v": str(bad)})
	if got := get(t, c, table, "tenant-a", "raw")["v"].(*types.AttributeValueMemberS).Value; got == bad {
		t.Fatal("DynamoDB stored invalid UTF-8 verbatim; the premise of the check no longer holds")
	}

	for name, v := range map[string]types.AttributeValue{
		"v": str(bad), "ss": strs("ok", bad), "m": doc(map[string]types.AttributeValue{bad: num("1")}), "l": list(str(bad)),
	} {
		_, err := s.Seal(map[string]types.AttributeValue{"pk": str("tenant-a"), "sk": str("s"), name: v}, k)
		if !errors.Is(err, attrcrypt.ErrMalformed) || strings.Contains(err.Error(), bad) {
			t.Fatalf("signed %s: %v, want ErrMalformed without the value", name, err)
		}
	}

	item := map[string]types.AttributeValue{"pk": str("tenant-a"), "sk": str("enc"), "enc": str(bad + "\x00\xff"), "encm": doc(map[string]types.AttributeValue{bad: str(bad)})}
	sealed, err := s.Seal(item, k)
	if err != nil {
		t.Fatal(err)
	}
	put(t, c, table, sealed)
	got, _, err := s.Open(get(t, c, table, "tenant-a", "enc"), k)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, item) {
		t.Fatalf("encrypted invalid UTF-8 did not round-trip: %#v", got)
	}
}
