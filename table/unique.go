package table

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// Unique values (seal:"unique").
//
// A unique attribute's value is kept unique per tenant by a claim item in
// the same table, written in the same TransactWriteItems as the item that
// holds the value. The claim of value v of attribute a, for tenant t, is
// named by the claim string
//
//	C = t 0x1f "u" 0x1f a 0x1f hex(ClaimTag(beacon key of t, logical table, a, v))
//
// (attrcrypt.ClaimTag: 128 bits of HMAC-SHA256 under the tenant's beacon
// key, tenantkeys.BeaconClass(table's class), version 1). Tenant ids hold
// no control characters and the tag is fixed-length hex, so C is
// unambiguous. The claim item's key: each primary key attribute that is the
// tenant attribute holds t, every other one (they are strings: the schema
// requires it) holds C. So with the tenant as partition key the claim lives
// in the tenant's partition under sort key C; otherwise its partition key
// (and sort key) is C. Its other attributes:
//
//   - the tenant attribute (t), when it is not a key attribute;
//   - attrcrypt.ClaimAttribute ("__c"): B, HMAC-SHA256 under
//     HKDF-SHA256(beacon key, info "dynaseal v1 claim" || u32be len ||
//     logical table) of u32be len || C || for each primary key attribute of
//     the owner (partition, then sort): u32be len || name || 'S' || u32be
//     len || value. It binds the claim to its owner, so a claim that was
//     edited, copied or pointed at another item is never believed;
//   - ClaimOwnerAttribute ("__o"): M, the owner's primary key attributes.
//
// It never holds the value. A claim item has no header and is not a
// sealed item: every reader of sealed items skips items carrying "__c"
// (IsClaimItem): Get of a claim's key is ErrNotFound; Query, QueryPage,
// Count, Scan, BatchGet, TransactGet and Reseal pass over claims without
// counting or reporting them.
//
// An absent or NULL value, an empty string (after lower and trim) and an
// empty binary take no claim, so any number of items may lack a value.
// Writes keep the claims:
//
//   - Create: one transaction: the item (must not exist) and a claim per
//     unique value (must not exist, or be this item's own). A taken value
//     is ErrUniqueTaken (which matches ErrAlreadyExists), naming the
//     attribute only.
//   - Put (and TxPut): the stored item is read first (strongly consistent)
//     and verified, so its values are known; the transaction writes the
//     item on condition that the stored item is still the one read (same
//     signature, or still absent), deletes the claims of values that
//     changed (condition: absent, or owned by this item) and puts the new
//     ones. Without a version attribute a lost race is retried on a fresh
//     read; with one, it is ErrConflict as for any Put.
//   - Update (and TxUpdate): the item is read anyway; a value that changed
//     moves its claim in the same transaction as the item write. A value
//     that did not change writes no claim (an update costs no more).
//   - Delete (and TxDelete): read (strongly consistent), then delete the
//     item on condition that its signature is unchanged, with its claims.
//     An item that does not open (tampered, its key shredded) is deleted
//     without them, as Delete deletes any item; they stay as stale claims.
//   - BatchWrite refuses such types (ErrUniqueUnsupported): BatchWriteItem
//     takes no conditions and cannot keep claims.
//
// Items stored before their attribute became unique have no claim; their
// next write that changes the value takes one. A claim left stale by an
// item deleted outside this package (a TTL expiry, a raw DeleteItem), or an
// old claim written back, is released by the next Create, Put or Update
// that wants the value: it checks that the claim's MAC holds and that the
// item it names is gone or verifies without the value, and deletes the
// claim on condition that neither changed (releaseStale). A claim whose MAC
// fails, or whose item fails verification, is never released: the write
// reports ErrUniqueTaken. Inside TransactWrite a stale claim is reported
// as ErrUniqueTaken (Create, Put or Update outside one releases it). A claim whose value moved or
// was deleted is gone in the same transaction, so GetUnique (one strongly
// consistent GetItem of the claim and one of its owner) only ever returns
// the item that holds the value now: it verifies the claim's MAC, reads and
// verifies the owner, and compares the owner's normalised value with the
// one searched (a forged, replayed or cross-tenant claim is ErrNotFound).

// ClaimOwnerAttribute holds, on a claim item, the owner's primary key.
const ClaimOwnerAttribute = "__o"

var (
	// ErrUniqueTaken: a write would give a unique attribute a value another
	// item of the tenant holds. It matches ErrAlreadyExists too; errors.As
	// with *UniqueError names the attribute (never the value).
	ErrUniqueTaken error = uniqueTaken{}
	// ErrUniqueUnsupported: the operation cannot keep the unique-value
	// claims of the type (BatchWrite of a type with unique attributes).
	ErrUniqueUnsupported = errors.New("table: operation cannot keep unique-value claims")
	// ErrNotUnique: GetUnique named an attribute that is not unique in the
	// schema.
	ErrNotUnique = errors.New("table: attribute is not unique in the schema")
)

type uniqueTaken struct{}

func (uniqueTaken) Error() string { return "table: unique value already taken" }

func (uniqueTaken) Unwrap() error { return ErrAlreadyExists }

// UniqueError names the unique attribute whose value a write could not
// take. It matches ErrUniqueTaken and ErrAlreadyExists.
type UniqueError struct {
	// Attribute is the unique attribute's name.
	Attribute string
	claim     string // the claim string (no value), for releaseStale
}

// Error names the attribute, never the value.
func (e *UniqueError) Error() string {
	return "table: unique value of attribute " + e.Attribute + " already taken"
}

// Unwrap returns ErrUniqueTaken.
func (e *UniqueError) Unwrap() error { return ErrUniqueTaken }

// IsClaimItem reports whether a stored item is a unique-value claim (it
// carries attrcrypt.ClaimAttribute), which readers of sealed items skip.
func IsClaimItem(item map[string]types.AttributeValue) bool {
	_, ok := item[attrcrypt.ClaimAttribute]
	return ok
}

// hasUnique reports whether T has unique attributes.
func (t *Table[T]) hasUnique() bool { return len(t.schema.Unique) > 0 }

// beaconKey returns the tenant's beacon key for the table's class, as the
// beacons get it (beaconKeyForWrite, beaconKeyForRead): version 1, or for
// a tenant reopened after a shred the key made after the reopen. A read
// (forRead) never creates a key. The caller zeroes it.
func (s Scope[T]) beaconKey(ctx context.Context, forRead bool) (attrcrypt.Key, error) {
	if forRead {
		return s.t.beaconKeyForRead(ctx, s.tenant)
	}
	return s.t.beaconKeyForWrite(ctx, s.tenant)
}

// claimString returns the claim string of value v of unique attribute
// attr, or "" when v takes no claim (absent, NULL, empty).
func (s Scope[T]) claimString(bk attrcrypt.Key, attr string, v types.AttributeValue) (string, error) {
	if isNilValue(v) {
		return "", nil
	}
	if _, null := v.(*types.AttributeValueMemberNULL); null {
		return "", nil
	}
	a, _ := s.t.schema.Attribute(attr)
	nv, err := attrcrypt.NormalizedValue(v, a.Normalize)
	if err != nil {
		return "", fmt.Errorf("table: unique attribute %s: %w", attr, err)
	}
	if len(nv) == 1 && nv[0] != 'N' {
		return "", nil // empty string or binary
	}
	tag, err := attrcrypt.ClaimTag(bk, s.t.logical, attr, v, a.Normalize)
	if err != nil {
		return "", fmt.Errorf("table: unique attribute %s: %w", attr, err)
	}
	return s.tenant + attrcrypt.IndexSeparator + "u" + attrcrypt.IndexSeparator + attr + attrcrypt.IndexSeparator + tag, nil
}

// claimKey is the primary key of the claim item named cs.
func (s Scope[T]) claimKey(cs string) map[string]types.AttributeValue {
	sch := s.t.schema
	m := make(map[string]types.AttributeValue, 2)
	for _, n := range []string{sch.PartitionKey, sch.SortKey} {
		switch {
		case n == "":
		case n == sch.Tenant:
			m[n] = S(s.tenant)
		default:
			m[n] = S(cs)
		}
	}
	return m
}

// claimMAC binds claim string cs to its owner's primary key.
func (t *Table[T]) claimMAC(bk attrcrypt.Key, cs string, owner map[string]types.AttributeValue) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, bk.Material[:], nil, string(lp([]byte("dynaseal v1 claim"), t.logical)), sha256.Size)
	if err != nil {
		return nil, err
	}
	msg := lp(nil, cs)
	for _, n := range []string{t.schema.PartitionKey, t.schema.SortKey} {
		if n != "" {
			msg = appendAV(lp(msg, n), owner[n])
		}
	}
	m := hmac.New(sha256.New, k)
	m.Write(msg)
	clear(k)
	return m.Sum(nil), nil
}

// claimOps returns the transaction writes that move the claims of the item
// with primary key owner from the values of old to those of cur (plaintext
// items as the codec marshals them; nil when the item is absent).
func (s Scope[T]) claimOps(ctx context.Context, owner, old, cur map[string]types.AttributeValue) ([]txBuilt, error) {
	if !s.t.hasUnique() || (old == nil && cur == nil) {
		return nil, nil
	}
	bk, err := s.beaconKey(ctx, false)
	if err != nil {
		return nil, err
	}
	defer bk.Zero()
	var ops []txBuilt
	for _, attr := range s.t.schema.Unique {
		oc, err := s.claimString(bk, attr, old[attr])
		if err != nil {
			return nil, err
		}
		nc, err := s.claimString(bk, attr, cur[attr])
		if err != nil {
			return nil, err
		}
		if oc == nc {
			continue
		}
		if oc != "" {
			op, err := s.claimWrite(bk, oc, owner, false, func(map[string]types.AttributeValue) error {
				s.t.obs.conflict(context.Background())
				return fmt.Errorf("%w: the claim of the old value of %s is held by another item", ErrConflict, attr)
			})
			if err != nil {
				return nil, err
			}
			ops = append(ops, op)
		}
		if nc != "" {
			op, err := s.claimWrite(bk, nc, owner, true, func(map[string]types.AttributeValue) error {
				return &UniqueError{Attribute: attr, claim: nc}
			})
			if err != nil {
				return nil, err
			}
			ops = append(ops, op)
		}
	}
	return ops, nil
}

// claimWrite is the put (or delete) of the claim cs owned by owner, on
// condition that no item has the claim's key or that it is already this
// owner's claim.
func (s Scope[T]) claimWrite(bk attrcrypt.Key, cs string, owner map[string]types.AttributeValue, put bool, failed func(map[string]types.AttributeValue) error) (txBuilt, error) {
	mac, err := s.t.claimMAC(bk, cs, owner)
	if err != nil {
		return txBuilt{}, err
	}
	key := s.claimKey(cs)
	var c expr
	c.add("attribute_not_exists(" + c.name(s.t.schema.PartitionKey) + ") OR " + c.name(attrcrypt.ClaimAttribute) + " = " + c.value(&types.AttributeValueMemberB{Value: mac}))
	b := txBuilt{key: key, failed: failed, obs: s.t.obs}
	if !put {
		b.item = types.TransactWriteItem{Delete: &types.Delete{
			TableName: aws.String(s.t.name), Key: key, ConditionExpression: c.String(),
			ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values,
		}}
		return b, nil
	}
	item := make(map[string]types.AttributeValue, len(key)+3)
	for n, v := range key {
		item[n] = v
	}
	item[s.t.schema.Tenant] = S(s.tenant)
	item[attrcrypt.ClaimAttribute] = &types.AttributeValueMemberB{Value: mac}
	item[ClaimOwnerAttribute] = &types.AttributeValueMemberM{Value: owner}
	b.item = types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(s.t.name), Item: item, ConditionExpression: c.String(),
		ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values,
	}}
	return b, nil
}

// plainOf marshals v as the codec does (the values claims are computed from).
func (s Scope[T]) plainOf(v *T) (map[string]types.AttributeValue, error) {
	m, err := s.t.codec.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("table: marshal %s: %w", s.t.schema.TypeName, err)
	}
	return m, nil
}

// readStored reads the item with key km (strongly consistent) for a write
// that keeps claims: raw is nil when no item exists; plain is the verified,
// opened item. Another tenant's item is ErrWrongTenant.
func (s Scope[T]) readStored(ctx context.Context, km map[string]types.AttributeValue) (raw, plain map[string]types.AttributeValue, err error) {
	raw, err = s.getRaw(ctx, s.t.keyOfItem(km), true)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	plain, err = s.t.openMap(ctx, s.tenant, raw)
	if errors.Is(err, ErrWrongTenant) {
		return nil, nil, fmt.Errorf("table: the stored item with this key belongs to another tenant: %w", ErrWrongTenant)
	}
	if err != nil {
		return raw, nil, err // raw for a Delete, which removes an item that does not open
	}
	return raw, plain, nil
}

// readCond adds to c that the stored item is still raw (same signature)
// or, when raw is nil, still absent.
func (s Scope[T]) readCond(c *expr, raw map[string]types.AttributeValue) {
	if raw == nil {
		c.add("attribute_not_exists(" + c.name(s.t.schema.PartitionKey) + ")")
		return
	}
	if sig, ok := raw[attrcrypt.SignatureAttribute]; ok {
		c.add(c.name(attrcrypt.SignatureAttribute) + " = " + c.value(sig))
	} else { // an item that does not open may lack it
		c.add("attribute_not_exists(" + c.name(attrcrypt.SignatureAttribute) + ")")
	}
}

// txCreateUnique is Create of v with the claims of its unique values.
func (s Scope[T]) txCreateUnique(ctx context.Context, v *T) (txBuilt, error) {
	r, err := s.preparePut(ctx, v, modeCreate, nil)
	if err != nil {
		return txBuilt{}, err
	}
	cur, err := s.plainOf(v)
	if err != nil {
		return txBuilt{}, err
	}
	b := s.txBuiltPut(r, v, modeCreate)
	if b.extra, err = s.claimOps(ctx, b.key, nil, cur); err != nil {
		return txBuilt{}, err
	}
	return b, nil
}

// txPutUnique is Put of v over the item as read now, moving the claims of
// the unique values that change.
func (s Scope[T]) txPutUnique(ctx context.Context, v *T) (txBuilt, error) {
	r, err := s.preparePut(ctx, v, modePut, nil)
	if err != nil {
		return txBuilt{}, err
	}
	key := s.t.keyMapOfItem(r.item)
	raw, old, err := s.readStored(ctx, key)
	if err != nil {
		return txBuilt{}, err
	}
	s.readCond(&r.cond, raw)
	cur, err := s.plainOf(v)
	if err != nil {
		return txBuilt{}, err
	}
	b := s.txBuiltPut(r, v, modePut)
	if b.extra, err = s.claimOps(ctx, key, old, cur); err != nil {
		return txBuilt{}, err
	}
	return b, nil
}

// txDeleteUnique is Delete of the item with key k and its claims. When no
// item exists it is a condition check that none exists (absent reports it).
func (s Scope[T]) txDeleteUnique(ctx context.Context, k Key, wc writeConfig) (b txBuilt, absent bool, err error) {
	if err := s.check(); err != nil {
		return txBuilt{}, false, err
	}
	if wc.ifVersion != nil && s.t.schema.Version == "" {
		return txBuilt{}, false, fmt.Errorf("table: IfVersion on %s, which has no version attribute", s.t.schema.TypeName)
	}
	km, err := s.keyMap(k)
	if err != nil {
		return txBuilt{}, false, err
	}
	raw, old, err := s.readStored(ctx, km)
	unopened := false
	if err != nil && !errors.Is(err, ErrWrongTenant) && raw != nil {
		// The item does not open (tampered, or its key shredded or
		// retired): delete it as Delete deletes any item, without its
		// claims, which stay behind as stale claims that the next write
		// wanting their value releases (releaseStale).
		unopened, err = true, nil
	}
	if err != nil {
		return txBuilt{}, false, err
	}
	var c expr
	s.readCond(&c, raw)
	if unopened && !s.t.pkIsTenant {
		c.add(c.name(s.t.schema.Tenant) + " = " + c.value(S(s.tenant)))
	}
	b = txBuilt{key: km, failed: func(old map[string]types.AttributeValue) error { return s.txCause(old, ErrNotFound) }}
	if raw == nil {
		if wc.mustExist || wc.ifVersion != nil {
			return txBuilt{}, true, fmt.Errorf("%w (%s)", ErrNotFound, s.t.schema.TypeName)
		}
		b.failed = func(map[string]types.AttributeValue) error {
			s.t.obs.conflict(context.Background())
			return ErrConflict
		}
		b.item = types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: aws.String(s.t.name), Key: km, ConditionExpression: c.String(),
			ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}}
		return b, true, nil
	}
	if wc.ifVersion != nil {
		if sv, err := versionOf(raw, s.t.schema.Version); err != nil || sv != *wc.ifVersion {
			s.t.obs.conflict(ctx)
			return txBuilt{}, false, fmt.Errorf("%w: stored version differs", ErrConflict)
		}
	}
	b.item = types.TransactWriteItem{Delete: &types.Delete{
		TableName: aws.String(s.t.name), Key: km, ConditionExpression: c.String(),
		ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}
	if b.extra, err = s.claimOps(ctx, km, old, nil); err != nil {
		return txBuilt{}, false, err
	}
	return b, false, nil
}

// uniqueAttempts bounds the retries of a write that keeps claims when it
// loses a race it can safely run again on a fresh read.
const uniqueAttempts = 10

// retryUnique runs once until it succeeds, fails with anything but
// ErrConflict, or uniqueAttempts attempts were made.
func (s Scope[T]) retryUnique(ctx context.Context, once func() error) error {
	for attempt := 1; ; attempt++ {
		err := once()
		if err == nil || !errors.Is(err, ErrConflict) || attempt >= uniqueAttempts {
			return err
		}
		s.t.obs.retry(ctx)
		if err := s.t.cfg.sleep(ctx, backoff(5*time.Millisecond, 200*time.Millisecond, attempt)); err != nil {
			return err
		}
	}
}

// createUnique is Create for a type with unique attributes. Concurrent
// transactions on one claim (TransactionConflict) are retried: the retry
// then finds the claim taken.
func (s Scope[T]) createUnique(ctx context.Context, v *T) error {
	return s.retryUnique(ctx, func() error {
		b, err := s.txCreateUnique(ctx, v)
		if err != nil {
			return err
		}
		return s.sendOwn(ctx, b, b.item.Put.Item)
	})
}

// putUnique is Put for a type with unique attributes.
func (s Scope[T]) putUnique(ctx context.Context, v *T) error {
	once := func() error {
		b, err := s.txPutUnique(ctx, v)
		if err != nil {
			return err
		}
		return s.sendOwn(ctx, b, b.item.Put.Item)
	}
	if s.t.schema.Version != "" {
		// An optimistic-locking Put names the version it replaces: a race
		// it lost is the caller's conflict, not one to retry.
		return once()
	}
	return s.retryUnique(ctx, once)
}

// deleteUnique is Delete for a type with unique attributes.
func (s Scope[T]) deleteUnique(ctx context.Context, k Key, wc writeConfig) error {
	once := func() error {
		b, absent, err := s.txDeleteUnique(ctx, k, wc)
		if err != nil || absent {
			return err
		}
		return s.sendOwn(ctx, b, nil)
	}
	if wc.ifVersion != nil {
		return once()
	}
	return s.retryUnique(ctx, once)
}

// errOwnWrite marks a failed condition whose stored item is the one the
// write put there: an earlier attempt of the same request was applied.
var errOwnWrite = errors.New("table: own earlier write")

// sendOwn sends b (an item write and its claim writes) as one transaction
// with an idempotency token, outside a user transaction, and returns the
// cause of a failed op as is. When written (the item b puts) is given, a
// failed condition whose stored item has written's signature (a resend
// after a lost answer that outlived the token) is success.
func (s Scope[T]) sendOwn(ctx context.Context, b txBuilt, written map[string]types.AttributeValue) error {
	for repairs := 0; ; repairs++ {
		err := s.sendOnce(ctx, b, written)
		var ue *UniqueError
		if !errors.As(err, &ue) || ue.claim == "" || repairs >= len(s.t.schema.Unique) {
			return err
		}
		if !s.releaseStale(ctx, ue.Attribute, ue.claim) {
			return err
		}
	}
}

// sendOnce is one attempt of sendOwn.
func (s Scope[T]) sendOnce(ctx context.Context, b txBuilt, written map[string]types.AttributeValue) error {
	if written != nil {
		failed := b.failed
		b.failed = func(old map[string]types.AttributeValue) error {
			if ownWrite(old, written) {
				return errOwnWrite
			}
			return failed(old)
		}
	}
	err := sendTx(ctx, s.t.client, []txBuilt{b})
	if errors.Is(err, errOwnWrite) {
		if b.onSuccess != nil {
			b.onSuccess()
		}
		return nil
	}
	var te *TxError
	if !errors.As(err, &te) {
		return err
	}
	for _, op := range te.Ops {
		var oe *TxOpError
		if errors.As(op, &oe) {
			return oe.Err
		}
	}
	return err
}

// flattenTx expands every op's claim writes after it, and returns for each
// flattened write the index of its op.
func flattenTx(built []txBuilt) ([]txBuilt, []int) {
	flat := make([]txBuilt, 0, len(built))
	owner := make([]int, 0, len(built))
	for i, b := range built {
		flat = append(flat, b)
		owner = append(owner, i)
		for _, x := range b.extra {
			flat = append(flat, x)
			owner = append(owner, i)
		}
	}
	return flat, owner
}

// collapseTxError folds the cancellation reasons of flattened writes back
// onto the ops they belong to (the first failure of an op is its cause),
// so that a TxError stays aligned with the ops of the call.
func collapseTxError(te *TxError, owner []int, n int) {
	reasons, ops := make([]string, n), make([]error, n)
	if te.err != nil || len(te.Reasons) != len(owner) {
		te.Reasons = reasons // the call failed as a whole: no op has a code
		return
	}
	for i, code := range te.Reasons {
		o := owner[i]
		if code == "" || reasons[o] != "" {
			continue
		}
		reasons[o] = code
		if oe, ok := te.Ops[i].(*TxOpError); ok {
			ops[o] = &TxOpError{Index: o, Code: oe.Code, Err: oe.Err}
		}
	}
	te.Reasons, te.Ops = reasons, ops
}

// GetUnique returns the item of the scope's tenant whose unique attribute
// attr holds v (normalised as the schema says: lower, trim): one strongly
// consistent GetItem of the value's claim and one of the item it names
// (ConsistentRead is implied; opts are accepted for symmetry with Get).
// The claim is believed only if its MAC (under the tenant's beacon key)
// binds it to that item, and the item is returned only if it verifies,
// belongs to the tenant and its normalised value equals v's: no claim, a
// forged, replayed or stale claim, and an absent, NULL or empty v are
// ErrNotFound, never another item. An attribute that is not unique is
// ErrNotUnique; a tampered item ErrTampered.
func (s Scope[T]) GetUnique(ctx context.Context, attr string, v types.AttributeValue, opts ...ReadOption) (*T, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if !slices.Contains(s.t.schema.Unique, attr) {
		return nil, fmt.Errorf("%w: %s of %s", ErrNotUnique, attr, s.t.schema.TypeName)
	}
	notFound := fmt.Errorf("%w (%s by %s)", ErrNotFound, s.t.schema.TypeName, attr)
	bk, err := s.beaconKey(ctx, true)
	if errors.Is(err, tenantkeys.ErrKeyNotFound) || errors.Is(err, tenantkeys.ErrKeyShredded) {
		// No beacon key (never created, or shredded): no value is claimed.
		return nil, fmt.Errorf("%w: %w", notFound, err)
	}
	if err != nil {
		return nil, err
	}
	defer bk.Zero()
	cs, err := s.claimString(bk, attr, v)
	if err != nil || cs == "" {
		if err == nil {
			err = notFound
		}
		return nil, err
	}
	out, err := s.t.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.t.name), Key: s.claimKey(cs), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("table: get claim: %w", ddbError("GetItem", err))
	}
	owner, ok := s.claimOwner(bk, cs, out.Item)
	if !ok {
		return nil, notFound
	}
	raw, err := s.getRaw(ctx, s.t.keyOfItem(owner), true)
	if err != nil {
		return nil, err
	}
	m, err := s.t.openMap(ctx, s.tenant, raw)
	if err != nil {
		return nil, err
	}
	a, _ := s.t.schema.Attribute(attr)
	want, err := attrcrypt.NormalizedValue(v, a.Normalize)
	if err != nil {
		return nil, notFound
	}
	have, err := attrcrypt.NormalizedValue(m[attr], a.Normalize)
	if err != nil || !hmac.Equal(have, want) {
		return nil, notFound
	}
	res := new(T)
	if err := s.t.codec.Unmarshal(m, res); err != nil {
		return nil, fmt.Errorf("table: unmarshal %s: %w", s.t.schema.TypeName, err)
	}
	return res, nil
}

// claimOwner checks a stored claim item and returns the owner key it
// names, if its MAC binds it to cs and that owner.
func (s Scope[T]) claimOwner(bk attrcrypt.Key, cs string, claim map[string]types.AttributeValue) (map[string]types.AttributeValue, bool) {
	stored, ok := claim[attrcrypt.ClaimAttribute].(*types.AttributeValueMemberB)
	if !ok {
		return nil, false
	}
	om, ok := claim[ClaimOwnerAttribute].(*types.AttributeValueMemberM)
	if !ok {
		return nil, false
	}
	sch := s.t.schema
	owner := make(map[string]types.AttributeValue, 2)
	for _, n := range []string{sch.PartitionKey, sch.SortKey} {
		if n == "" {
			continue
		}
		v, ok := om.Value[n].(*types.AttributeValueMemberS)
		if !ok || v.Value == "" {
			return nil, false
		}
		owner[n] = v
	}
	if len(om.Value) != len(owner) {
		return nil, false
	}
	mac, err := s.t.claimMAC(bk, cs, owner)
	if err != nil || !hmac.Equal(mac, stored.Value) {
		return nil, false
	}
	return owner, true
}

// releaseStale deletes the claim cs of attribute attr when it is stale, so
// that the write it blocked can be sent again, and reports whether it did
// (or found the claim gone). A claim is stale when its MAC checks but the
// item it names is gone, or verifies and no longer holds the value: what an
// item deleted outside this package (a TTL expiry, a raw DeleteItem) or a
// replayed old claim leaves behind. A claim whose MAC fails (edited) or
// whose item does not open (tampered, another tenant's) is left alone. The
// delete is conditioned on the claim and its item being as read, so it
// never races a write that takes the value.
func (s Scope[T]) releaseStale(ctx context.Context, attr, cs string) bool {
	ck := s.claimKey(cs)
	out, err := s.t.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.t.name), Key: ck, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false
	}
	if out.Item == nil {
		return true
	}
	bk, err := s.beaconKey(ctx, true)
	if err != nil {
		return false
	}
	defer bk.Zero()
	owner, valid := s.claimOwner(bk, cs, out.Item)
	if !valid {
		return false
	}
	var oc expr
	raw, err := s.getRaw(ctx, s.t.keyOfItem(owner), true)
	switch {
	case errors.Is(err, ErrNotFound):
		oc.add("attribute_not_exists(" + oc.name(s.t.schema.PartitionKey) + ")")
	case err != nil:
		return false
	default:
		m, err := s.t.openMap(ctx, s.tenant, raw)
		if err != nil {
			return false
		}
		if held, err := s.claimString(bk, attr, m[attr]); err != nil || held == cs {
			return false // genuinely taken
		}
		oc.add(oc.name(attrcrypt.SignatureAttribute) + " = " + oc.value(raw[attrcrypt.SignatureAttribute]))
	}
	var c expr
	c.add(c.name(attrcrypt.ClaimAttribute) + " = " + c.value(out.Item[attrcrypt.ClaimAttribute]))
	_, err = s.t.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		ClientRequestToken: aws.String(uuid.NewString()),
		TransactItems: []types.TransactWriteItem{
			{Delete: &types.Delete{
				TableName: aws.String(s.t.name), Key: ck, ConditionExpression: c.String(),
				ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values,
			}},
			{ConditionCheck: &types.ConditionCheck{
				TableName: aws.String(s.t.name), Key: owner, ConditionExpression: oc.String(),
				ExpressionAttributeNames: oc.names, ExpressionAttributeValues: oc.values,
			}},
		},
	})
	return err == nil
}
