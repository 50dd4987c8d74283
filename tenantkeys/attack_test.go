package tenantkeys_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/itest/kmslocal"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// keyTable is a key store table in DynamoDB Local, its tenant keys wrapped
// by kmslocal through the real clients, plus an attacker-owned KMS key the
// application role may also call Decrypt on (as with an IAM policy on
// Resource "*"). raw reads and writes items as a key-table writer would.
type keyTable struct {
	ctx  context.Context
	ddb  *dynamodb.Client
	tbl  string
	srv  *kmslocal.Server
	good string // the KMS key the configuration allows
	evil string // the attacker's KMS key
}

func newKeyTable(t *testing.T) *keyTable {
	t.Helper()
	c := itest.DynamoDB(t)
	srv := startKMS(t)
	return &keyTable{
		ctx: context.Background(), ddb: c, srv: srv,
		tbl:  itest.NewTable(t, c, tenantkeys.CreateTableInput("keystore")),
		good: srv.CreateKey("dynaseal tenant keys"),
		evil: srv.CreateKey("attacker-owned"),
	}
}

// store opens a Store as a separate process would (fresh high-water marks).
func (k *keyTable) store(opts ...tenantkeys.Option) *tenantkeys.Store {
	w := tenantkeys.NewKMSWrapper(k.srv.Client(), tenantkeys.SharedKey(k.good))
	return tenantkeys.NewDynamoDBStore(k.ddb, k.tbl, w, opts...)
}

func skV(class string, v int) string {
	return "V#" + class + "#" + leftPad(v)
}

func leftPad(v int) string {
	s := []byte("0000000000")
	for i := len(s) - 1; v > 0; i-- {
		s[i] = byte('0' + v%10)
		v /= 10
	}
	return string(s)
}

func (k *keyTable) get(t *testing.T, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := k.ddb.GetItem(k.ctx, &dynamodb.GetItemInput{TableName: aws.String(k.tbl), ConsistentRead: aws.Bool(true), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk},
	}})
	if err != nil || out.Item == nil {
		t.Fatalf("read %s %s: %v (found %v)", pk, sk, err, out != nil && out.Item != nil)
	}
	return out.Item
}

// put writes item under (pk, sk), whatever its own key attributes were.
func (k *keyTable) put(t *testing.T, pk, sk string, item map[string]types.AttributeValue) {
	t.Helper()
	c := make(map[string]types.AttributeValue, len(item))
	for n, v := range item {
		c[n] = v
	}
	c["pk"] = &types.AttributeValueMemberS{Value: pk}
	c["sk"] = &types.AttributeValueMemberS{Value: sk}
	if _, err := k.ddb.PutItem(k.ctx, &dynamodb.PutItemInput{TableName: aws.String(k.tbl), Item: c}); err != nil {
		t.Fatal(err)
	}
}

func (k *keyTable) exists(t *testing.T, pk, sk string) bool {
	t.Helper()
	out, err := k.ddb.GetItem(k.ctx, &dynamodb.GetItemInput{TableName: aws.String(k.tbl), ConsistentRead: aws.Bool(true), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item != nil
}

// withVersions creates versions 1..n of tenant's default-class key with a
// fresh admin Store and returns it.
func (k *keyTable) withVersions(t *testing.T, tenant string, n int) *tenantkeys.Store {
	t.Helper()
	admin := k.store()
	if _, err := admin.Create(k.ctx, tenant, ""); err != nil {
		t.Fatal(err)
	}
	for range n - 1 {
		if _, err := admin.Rotate(k.ctx, tenant, ""); err != nil {
			t.Fatal(err)
		}
	}
	return admin
}

// plant makes a version record for ref whose key the attacker knows: 32
// bytes from the attacker's KMS key, wrapped under ref's encryption
// context. kmsKeyID is what the record claims wrapped it.
func (k *keyTable) plant(t *testing.T, ref attrcrypt.KeyRef, kmsKeyID string) (attrcrypt.Key, map[string]types.AttributeValue) {
	t.Helper()
	out, err := k.srv.Client().GenerateDataKey(k.ctx, &kms.GenerateDataKeyInput{
		KeyId: aws.String(k.evil), NumberOfBytes: aws.Int32(32), EncryptionContext: tenantkeys.EncryptionContext(ref),
	})
	if err != nil {
		t.Fatal(err)
	}
	key := attrcrypt.Key{Ref: ref}
	copy(key.Material[:], out.Plaintext)
	return key, map[string]types.AttributeValue{
		"version":  &types.AttributeValueMemberN{Value: itoa(ref.Version)},
		"wrapped":  &types.AttributeValueMemberB{Value: out.CiphertextBlob},
		"kmsKeyId": &types.AttributeValueMemberS{Value: kmsKeyID},
		"created":  &types.AttributeValueMemberN{Value: "1767225600000"},
		"disabled": &types.AttributeValueMemberBOOL{Value: false},
		"floor":    &types.AttributeValueMemberN{Value: "0"},
	}
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// forgeAndOpen seals an item for tenant under a key the attacker knows and
// opens it with what p hands out for that key reference: the open must
// fail, so no forged item is ever returned as verified.
func forgeAndOpen(t *testing.T, p tenantkeys.Provider, forged attrcrypt.Key) {
	t.Helper()
	s := sealer(t)
	item, err := s.Seal(smallItem(forged.Ref.Tenant, 1), forged)
	if err != nil {
		t.Fatal(err)
	}
	key, err := p.Key(context.Background(), forged.Ref)
	if err == nil {
		if _, _, err := s.Open(item, key); err == nil {
			t.Fatalf("a forged item sealed under a planted key opened as verified")
		}
	}
}

// sealsUnder reports whether the provider's current key for (tenant, class)
// is exactly want (checked by opening an item sealed with it).
func sealsUnder(t *testing.T, p tenantkeys.Provider, tenant string, want attrcrypt.Key) bool {
	t.Helper()
	cur, err := p.CurrentKey(context.Background(), tenant, "")
	if err != nil {
		return false
	}
	s := sealer(t)
	item, err := s.Seal(smallItem(tenant, 2), cur)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Open(item, want)
	return err == nil
}

func TestAttackPlantedVersionRecord(t *testing.T) {
	k := newKeyTable(t)
	k.withVersions(t, "acme", 1)
	genuine := k.get(t, "acme", skV("", 1))
	r2 := ref("acme", "", 2)
	for _, claim := range []struct{ name, keyID string }{
		{"names the attacker's key", kmslocal.KeyARN(k.evil)},
		{"claims the allowed key", kmslocal.KeyARN(k.good)},
		{"names no key", ""},
	} {
		t.Run(claim.name, func(t *testing.T) {
			forged, item := k.plant(t, r2, claim.keyID)
			item["tag"] = genuine["tag"] // any tag; the attacker can even compute one for a key they know
			k.put(t, "acme", skV("", 2), item)
			p := k.store()
			if _, err := p.Key(k.ctx, r2); !errors.Is(err, tenantkeys.ErrUntrustedKey) {
				t.Fatalf("Key(planted v2) err = %v, want ErrUntrustedKey", err)
			}
			forgeAndOpen(t, tenantkeys.NewCache(p), forged)
		})
	}
	// Decrypt was never called with the attacker's key as KeyId.
	if n := k.srv.Calls("Decrypt"); n == 0 {
		t.Fatal("no Decrypt calls were made at all")
	}
}

func TestAttackPlantedPointer(t *testing.T) {
	k := newKeyTable(t)
	k.withVersions(t, "acme", 1)
	app := k.store()
	v1 := mustKey(t)(app.CurrentKey(k.ctx, "acme", ""))
	forged, item := k.plant(t, ref("acme", "", 2), kmslocal.KeyARN(k.evil))
	k.put(t, "acme", skV("", 2), item)
	k.put(t, "acme", "P#", item)
	for name, p := range map[string]tenantkeys.Provider{"same process": app, "new process": k.store()} {
		if _, err := p.CurrentKey(k.ctx, "acme", ""); !errors.Is(err, tenantkeys.ErrUntrustedKey) {
			t.Fatalf("%s: CurrentKey with a planted pointer: err = %v, want ErrUntrustedKey", name, err)
		}
		if sealsUnder(t, p, "acme", forged) {
			t.Fatalf("%s: a write was sealed under the planted key", name)
		}
		forgeAndOpen(t, p, forged)
	}
	if v1.Ref.Version != 1 {
		t.Fatal(v1.Ref)
	}
}

func TestAttackRolledBackPointer(t *testing.T) {
	k := newKeyTable(t)
	admin := k.store()
	if _, err := admin.Create(k.ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	oldPointer := k.get(t, "acme", "P#")
	if _, err := admin.Rotate(k.ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	newPointer := k.get(t, "acme", "P#")
	app := k.store()
	v2 := mustKey(t)(app.CurrentKey(k.ctx, "acme", ""))
	v1 := mustKey(t)(app.Key(k.ctx, ref("acme", "", 1)))
	if v2.Ref.Version != 2 {
		t.Fatalf("current = %s", v2.Ref)
	}

	// 1. The version 1 record copied over the pointer: wrong role.
	k.put(t, "acme", "P#", k.get(t, "acme", skV("", 1)))
	for name, p := range map[string]*tenantkeys.Store{"same process": app, "new process": k.store()} {
		if _, err := p.CurrentKey(k.ctx, "acme", ""); !errors.Is(err, tenantkeys.ErrKeyRecordTampered) {
			t.Fatalf("%s: version record as pointer: err = %v, want ErrKeyRecordTampered", name, err)
		}
	}

	// 2. The genuine old pointer replayed: a process that has seen version
	// 2 refuses to go back.
	k.put(t, "acme", "P#", oldPointer)
	if _, err := app.CurrentKey(k.ctx, "acme", ""); !errors.Is(err, tenantkeys.ErrKeyRecordTampered) {
		t.Fatalf("replayed old pointer: err = %v, want ErrKeyRecordTampered", err)
	}
	if sealsUnder(t, app, "acme", v1) {
		t.Fatal("a write was sealed under the rolled-back key")
	}
	cached := tenantkeys.NewCache(app)
	if sealsUnder(t, cached, "acme", v1) {
		t.Fatal("a write was sealed under the rolled-back key through a cache")
	}

	// 3. What closes it for a process that never saw version 2 (the
	// residual risk the README states): retire version 1, re-wrap under a
	// new KMS key and disable the old one. The replayed pointer then names
	// a key the configuration no longer allows, or a disabled one.
	k.put(t, "acme", "P#", newPointer)
	if err := admin.Retire(k.ctx, "acme", "", 2); err != nil {
		t.Fatal(err)
	}
	next := k.srv.CreateKey("dynaseal tenant keys 2")
	newAdmin := tenantkeys.NewDynamoDBStore(k.ddb, k.tbl, tenantkeys.NewKMSWrapper(k.srv.Client(), tenantkeys.SharedKey(next)))
	oldWrapper := tenantkeys.NewKMSWrapper(k.srv.Client(), tenantkeys.SharedKey(k.good))
	if _, err := newAdmin.Rewrap(k.ctx, "acme", "", oldWrapper); err != nil {
		t.Fatal(err)
	}
	rewrapped := k.get(t, "acme", "P#")
	if _, err := k.srv.Client().DisableKey(k.ctx, &kms.DisableKeyInput{KeyId: aws.String(k.good)}); err != nil {
		t.Fatal(err)
	}
	k.put(t, "acme", "P#", oldPointer)
	fresh := tenantkeys.NewDynamoDBStore(k.ddb, k.tbl, tenantkeys.NewKMSWrapper(k.srv.Client(), tenantkeys.SharedKey(next)))
	if _, err := fresh.CurrentKey(k.ctx, "acme", ""); !errors.Is(err, tenantkeys.ErrUntrustedKey) {
		t.Fatalf("replayed pointer after re-wrap, new configuration: err = %v, want ErrUntrustedKey", err)
	}
	if _, err := k.store().CurrentKey(k.ctx, "acme", ""); !errors.Is(err, tenantkeys.ErrKeyDisabled) {
		t.Fatalf("replayed pointer after re-wrap, old configuration: err = %v, want ErrKeyDisabled", err)
	}
	if sealsUnder(t, fresh, "acme", v1) || sealsUnder(t, k.store(), "acme", v1) {
		t.Fatal("a write was sealed under the retired key")
	}
	k.put(t, "acme", "P#", rewrapped)
	k2 := mustKey(t)(fresh.CurrentKey(k.ctx, "acme", ""))
	if k2.Material != v2.Material {
		t.Fatal("re-wrap changed the tenant key")
	}
}

func TestAttackCopiedRecords(t *testing.T) {
	k := newKeyTable(t)
	admin := k.store()
	for _, tc := range [][2]string{{"acme", ""}, {"acme", "pay"}, {"globex", ""}} {
		if _, err := admin.Create(k.ctx, tc[0], tc[1]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.Rotate(k.ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	acme1 := k.get(t, "acme", skV("", 1))
	acme2 := k.get(t, "acme", skV("", 2))
	acmeP := k.get(t, "acme", "P#")
	keep := map[string]map[string]types.AttributeValue{}
	for _, sk := range []string{skV("", 1), skV("", 2), "P#", skV("pay", 1), "P#pay"} {
		keep["acme/"+sk] = k.get(t, "acme", sk)
	}
	keep["globex/"+skV("", 1)] = k.get(t, "globex", skV("", 1))
	keep["globex/P#"] = k.get(t, "globex", "P#")
	restore := func() {
		for id, item := range keep {
			pk, sk, _ := cut(id)
			k.put(t, pk, sk, item)
		}
	}
	withVersion := func(item map[string]types.AttributeValue, v string) map[string]types.AttributeValue {
		c := make(map[string]types.AttributeValue, len(item))
		for n, a := range item {
			c[n] = a
		}
		c["version"] = &types.AttributeValueMemberN{Value: v}
		return c
	}
	cases := []struct {
		name   string
		pk, sk string
		item   map[string]types.AttributeValue
		read   func(p tenantkeys.Provider) error
	}{
		{"version record to another tenant", "globex", skV("", 1), acme1, keyOf("globex", "", 1)},
		{"pointer to another tenant", "globex", "P#", withVersion(acmeP, "2"), curOf("globex", "")},
		{"version record to another class", "acme", skV("pay", 1), acme1, keyOf("acme", "pay", 1)},
		{"pointer to another class", "acme", "P#pay", withVersion(acmeP, "2"), curOf("acme", "pay")},
		{"version record to another version", "acme", skV("", 2), withVersion(acme1, "2"), keyOf("acme", "", 2)},
		{"version 1 as the pointer (role)", "acme", "P#", acme1, curOf("acme", "")},
		{"pointer as a version record (role)", "acme", skV("", 2), acmeP, keyOf("acme", "", 2)},
		{"version number edited", "acme", skV("", 2), withVersion(acme2, "1"), keyOf("acme", "", 2)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer restore()
			k.put(t, tc.pk, tc.sk, tc.item)
			err := tc.read(k.store())
			if !errors.Is(err, tenantkeys.ErrKeyRecordTampered) {
				t.Fatalf("err = %v, want ErrKeyRecordTampered", err)
			}
		})
	}
	// Across key stores: the same tenant in another table, same KMS key.
	other := itest.NewTable(t, k.ddb, tenantkeys.CreateTableInput("keystore2"))
	otherStore := tenantkeys.NewDynamoDBStore(k.ddb, other, tenantkeys.NewKMSWrapper(k.srv.Client(), tenantkeys.SharedKey(k.good)))
	for _, sk := range []string{skV("", 1), skV("", 2), "P#"} {
		item := k.get(t, "acme", sk)
		if _, err := k.ddb.PutItem(k.ctx, &dynamodb.PutItemInput{TableName: aws.String(other), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := otherStore.CurrentKey(k.ctx, "acme", ""); !errors.Is(err, tenantkeys.ErrKeyRecordTampered) {
		t.Fatalf("records copied to another key store: err = %v, want ErrKeyRecordTampered", err)
	}
	// Unless the operator says it is the same store (restored backup).
	restored := tenantkeys.NewDynamoDBStore(k.ddb, other, tenantkeys.NewKMSWrapper(k.srv.Client(), tenantkeys.SharedKey(k.good)), tenantkeys.WithStoreName(k.tbl))
	mustKey(t)(restored.CurrentKey(k.ctx, "acme", ""))
}

func cut(id string) (string, string, bool) {
	for i := 0; i < len(id); i++ {
		if id[i] == '/' {
			return id[:i], id[i+1:], true
		}
	}
	return id, "", false
}

func keyOf(tenant, class string, v uint32) func(tenantkeys.Provider) error {
	return func(p tenantkeys.Provider) error {
		_, err := p.Key(context.Background(), ref(tenant, class, v))
		return err
	}
}

func curOf(tenant, class string) func(tenantkeys.Provider) error {
	return func(p tenantkeys.Provider) error {
		_, err := p.CurrentKey(context.Background(), tenant, class)
		return err
	}
}

func TestAttackDisableFlagCleared(t *testing.T) {
	k := newKeyTable(t)
	admin := k.withVersions(t, "acme", 2)
	if err := admin.Disable(k.ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	for _, sk := range []string{"P#", skV("", 1), skV("", 2)} {
		item := k.get(t, "acme", sk)
		item["disabled"] = &types.AttributeValueMemberBOOL{Value: false}
		k.put(t, "acme", sk, item)
	}
	for _, read := range []func(tenantkeys.Provider) error{curOf("acme", ""), keyOf("acme", "", 1), keyOf("acme", "", 2)} {
		if err := read(k.store()); !errors.Is(err, tenantkeys.ErrKeyRecordTampered) {
			t.Fatalf("disabled flag cleared by a table writer: err = %v, want ErrKeyRecordTampered", err)
		}
	}
}

func TestAttackRetiredVersion(t *testing.T) {
	k := newKeyTable(t)
	admin := k.withVersions(t, "acme", 1)
	app := k.store()
	v1 := mustKey(t)(app.CurrentKey(k.ctx, "acme", ""))
	s := sealer(t)
	old, err := s.Seal(smallItem("acme", 1), v1)
	if err != nil {
		t.Fatal(err)
	}
	copied1 := k.get(t, "acme", skV("", 1))
	for range 2 {
		if _, err := admin.Rotate(k.ctx, "acme", ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := admin.Retire(k.ctx, "acme", "", 4); !errors.Is(err, tenantkeys.ErrConflict) {
		t.Fatalf("retire the current version: err = %v, want ErrConflict", err)
	}
	if err := admin.Retire(k.ctx, "acme", "", 3); err != nil {
		t.Fatal(err)
	}
	for _, v := range []int{1, 2} {
		if k.exists(t, "acme", skV("", v)) {
			t.Fatalf("wrapped key of retired version %d still stored", v)
		}
	}
	cache := tenantkeys.NewCache(k.store())
	for _, p := range []tenantkeys.Provider{app, k.store(), cache} {
		for _, v := range []uint32{1, 2} {
			if _, err := p.Key(k.ctx, ref("acme", "", v)); !errors.Is(err, tenantkeys.ErrKeyRetired) {
				t.Fatalf("Key(retired v%d) err = %v, want ErrKeyRetired", v, err)
			}
		}
		if cur := mustKey(t)(p.CurrentKey(k.ctx, "acme", "")); cur.Ref.Version != 3 {
			t.Fatalf("current = %s", cur.Ref)
		}
		if sealsUnder(t, p, "acme", v1) {
			t.Fatal("sealed under a retired key")
		}
	}
	// The table layer sees the item as unreadable with ErrKeyRetired.
	if _, err := cache.Key(k.ctx, attrcrypt.KeyRef{Tenant: "acme", Version: 1}); !errors.Is(err, tenantkeys.ErrKeyRetired) {
		t.Fatal(err)
	}
	_ = old
	// A copy of the retired record, re-inserted, stays retired.
	k.put(t, "acme", skV("", 1), copied1)
	if _, err := k.store().Key(k.ctx, ref("acme", "", 1)); !errors.Is(err, tenantkeys.ErrKeyRetired) {
		t.Fatalf("re-inserted retired record: err = %v, want ErrKeyRetired", err)
	}
	// The floor never moves down: a lower Retire is a no-op, and an edited
	// floor fails authentication.
	if err := admin.Retire(k.ctx, "acme", "", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := k.store().Key(k.ctx, ref("acme", "", 2)); !errors.Is(err, tenantkeys.ErrKeyRetired) {
		t.Fatalf("after Retire(2): err = %v, want ErrKeyRetired", err)
	}
	p := k.get(t, "acme", "P#")
	p["floor"] = &types.AttributeValueMemberN{Value: "0"}
	k.put(t, "acme", "P#", p)
	if _, err := k.store().CurrentKey(k.ctx, "acme", ""); !errors.Is(err, tenantkeys.ErrKeyRecordTampered) {
		t.Fatalf("floor lowered by a table writer: err = %v, want ErrKeyRecordTampered", err)
	}
	// A process that verified the floor keeps it even if the pointer's
	// floor is lowered.
	if _, err := app.Key(k.ctx, ref("acme", "", 1)); !errors.Is(err, tenantkeys.ErrKeyRetired) {
		t.Fatalf("lowered floor, same process: err = %v, want ErrKeyRetired", err)
	}
	if err := admin.Retire(k.ctx, "acme", "", 3); !errors.Is(err, tenantkeys.ErrKeyRecordTampered) {
		t.Fatalf("Retire over an edited pointer: err = %v, want ErrKeyRecordTampered", err)
	}
}
