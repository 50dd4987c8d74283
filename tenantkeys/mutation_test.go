package tenantkeys_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

var sentinels = []error{
	tenantkeys.ErrKeyNotFound, tenantkeys.ErrKeyShredded, tenantkeys.ErrKeyDisabled,
	tenantkeys.ErrKMSUnavailable, tenantkeys.ErrConflict, tenantkeys.ErrKeyCorrupt,
	tenantkeys.ErrAccessDenied, tenantkeys.ErrInvalidName, tenantkeys.ErrKeyRetired,
	tenantkeys.ErrKeyStoreUnavailable, tenantkeys.ErrUntrustedKey, tenantkeys.ErrKeyRecordTampered,
	tenantkeys.ErrKeyring,
}

func hasSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// TestKeyStoreMutationsNeverYieldWrongKey is a property test: whatever a
// key-table writer does to one record (copy another record over it, edit
// its version, wrapped key, key id, tag, floor or disabled flag, remove the
// tag), a fresh Store either returns exactly the genuine key of the
// reference asked for (and, for CurrentKey, the genuine current version)
// or fails with a sentinel. Never another key.
func TestKeyStoreMutationsNeverYieldWrongKey(t *testing.T) {
	ctx := context.Background()
	c := itest.DynamoDB(t)
	tbl := itest.NewTable(t, c, tenantkeys.CreateTableInput("keystore"))
	kr := testKeyring(t)
	other := testKeyring(t) // same master key id "0", different key
	admin := tenantkeys.NewDynamoDBStore(c, tbl, kr)
	tenants, classes := []string{"a", "b"}, []string{"", "pay"}
	genuine := map[attrcrypt.KeyRef]attrcrypt.Key{}
	for _, tn := range tenants {
		for _, cl := range classes {
			if _, err := admin.Create(ctx, tn, cl); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if _, err := admin.Rotate(ctx, tn, cl); err != nil {
					t.Fatal(err)
				}
			}
			for v := uint32(1); v <= 3; v++ {
				genuine[ref(tn, cl, v)] = mustKey(t)(admin.Key(ctx, ref(tn, cl, v)))
			}
			// Create made the class's beacon key too (version 1 only).
			genuine[ref(tn, tenantkeys.BeaconClass(cl), 1)] = mustKey(t)(admin.Key(ctx, ref(tn, tenantkeys.BeaconClass(cl), 1)))
		}
	}
	// A foreign blob for a's v1 under the other keyring's "0".
	_, foreign, err := other.GenerateKey(ctx, ref("a", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	scan, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(tbl), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	items := scan.Items
	if len(items) != 24 { // 4 data keys: 3 versions + pointer; 4 beacon keys: 1 version + pointer
		t.Fatalf("%d items", len(items))
	}
	put := func(item map[string]types.AttributeValue) {
		t.Helper()
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tbl), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	clone := func(m map[string]types.AttributeValue) map[string]types.AttributeValue {
		out := make(map[string]types.AttributeValue, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	flip := func(b []byte, r *rand.Rand) []byte {
		b = bytes.Clone(b)
		if len(b) > 0 {
			b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
		}
		return b
	}
	r := rand.New(rand.NewPCG(1, 2))
	const rounds = 60
	accepted, refused := 0, 0
	for round := range rounds {
		target := items[r.IntN(len(items))]
		m := clone(target)
		var what string
		switch r.IntN(8) {
		case 0:
			src := items[r.IntN(len(items))]
			for k, v := range src {
				if k != "pk" && k != "sk" {
					m[k] = v
				}
			}
			delete(m, "tag")
			if tg, ok := src["tag"]; ok {
				m["tag"] = tg
			}
			what = "copied " + getSK(src) + " of " + getPK(src)
		case 1:
			m["version"] = &types.AttributeValueMemberN{Value: fmt.Sprint(1 + r.IntN(4))}
			what = "version edited"
		case 2:
			m["wrapped"] = &types.AttributeValueMemberB{Value: flip(m["wrapped"].(*types.AttributeValueMemberB).Value, r)}
			what = "wrapped key bit flip"
		case 3:
			m["kmsKeyId"] = &types.AttributeValueMemberS{Value: []string{"local:evil", "arn:aws:kms:us-east-1:111122223333:key/x", ""}[r.IntN(3)]}
			what = "key id edited"
		case 4:
			delete(m, "tag")
			what = "tag removed"
		case 5:
			m["tag"] = &types.AttributeValueMemberB{Value: flip(m["tag"].(*types.AttributeValueMemberB).Value, r)}
			what = "tag bit flip"
		case 6:
			m["floor"] = &types.AttributeValueMemberN{Value: fmt.Sprint(r.IntN(3))}
			m["disabled"] = &types.AttributeValueMemberBOOL{Value: false}
			what = "floor and disabled edited"
		default:
			m["wrapped"] = &types.AttributeValueMemberB{Value: foreign.Blob}
			m["kmsKeyId"] = &types.AttributeValueMemberS{Value: foreign.KeyID}
			what = "foreign keyring blob"
		}
		put(m)
		s := tenantkeys.NewDynamoDBStore(c, tbl, kr)
		check := func(asked attrcrypt.KeyRef, current uint32, k attrcrypt.Key, err error) {
			if err != nil {
				refused++
				if !hasSentinel(err) {
					t.Fatalf("round %d (%s on %s/%s): error without a sentinel: %v", round, what, getPK(target), getSK(target), err)
				}
				return
			}
			accepted++
			want := genuine[k.Ref]
			if k.Ref != asked && asked.Version != 0 || k.Material != want.Material {
				t.Fatalf("round %d (%s on %s/%s): asked %s, got a key that is not its genuine key", round, what, getPK(target), getSK(target), asked)
			}
			if asked.Version == 0 && k.Ref.Version != current {
				t.Fatalf("round %d (%s): current version %d, want %d", round, what, k.Ref.Version, current)
			}
		}
		for _, tn := range tenants {
			for _, cl := range classes {
				for _, kc := range []struct {
					class   string
					current uint32
				}{{cl, 3}, {tenantkeys.BeaconClass(cl), 1}} {
					k, err := s.CurrentKey(ctx, tn, kc.class)
					check(attrcrypt.KeyRef{Tenant: tn, Class: kc.class}, kc.current, k, err)
					for v := uint32(1); v <= kc.current; v++ {
						k, err := s.Key(ctx, ref(tn, kc.class, v))
						check(ref(tn, kc.class, v), kc.current, k, err)
					}
				}
			}
		}
		put(target)
	}
	t.Logf("%d rounds: %d keys returned (all genuine), %d refused with a sentinel", rounds, accepted, refused)
}

func getPK(m map[string]types.AttributeValue) string {
	return m["pk"].(*types.AttributeValueMemberS).Value
}
func getSK(m map[string]types.AttributeValue) string {
	return m["sk"].(*types.AttributeValueMemberS).Value
}
