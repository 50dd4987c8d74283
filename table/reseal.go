package table

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// MaxResealFailures bounds ResealStats.Failed: a pass over a large table
// with many bad items keeps at most this many in memory (FailedCount counts
// them all; OnResealFailure streams every one).
const MaxResealFailures = 1000

// ResealStats reports what a Reseal pass did. Every item scanned is counted
// exactly once: as Current, Resealed, Gone, or failed (FailedCount).
type ResealStats struct {
	// Scanned is the number of items read.
	Scanned int
	// Current items verified and were already sealed under their tenant's
	// current key version and the table's class; they were not written.
	Current int
	// Resealed items verified and were written back under the current key.
	Resealed int
	// Gone items were deleted by someone else during the pass.
	Gone int
	// FailedCount is the number of items that could not be resealed.
	FailedCount int
	// Tampered is how many of them failed verification (ErrTampered).
	Tampered int
	// Unverifiable is how many of them could not be verified because the
	// key they name could not be had (missing, shredded, retired, disabled,
	// the key store unavailable).
	Unverifiable int
	// Failed lists the first MaxResealFailures failed items with their
	// keys (never their values); errors.Is on each gives the reason.
	Failed []*ItemError
	// SafeFloor tells when old key versions may be retired: for each tenant
	// with items in the pass, the lowest version of the table's key class
	// that any of its items still names after the pass (an item left behind
	// by a failure other than tampering keeps its version; a tampered item
	// does not hold the floor down, since retiring cannot hurt it).
	// Admin.Retire(ctx, tenant, class, SafeFloor[tenant]) then makes no item
	// seen by the pass unreadable. It covers only the items the pass read:
	// run the pass after every process's key cache has picked up the
	// rotation (one cache TTL), so that no write under an old version can
	// follow it. One entry per tenant seen.
	SafeFloor map[string]uint32
}

// lowest records that an item of tenant still names version v.
func (st *ResealStats) lowest(tenant string, v uint32) {
	if st.SafeFloor == nil {
		st.SafeFloor = make(map[string]uint32)
	}
	if old, ok := st.SafeFloor[tenant]; !ok || v < old {
		st.SafeFloor[tenant] = v
	}
}

// ResealOption configures Reseal.
type ResealOption func(*resealConfig)

type resealConfig struct {
	onFailure func(ItemError)
}

// OnResealFailure streams every failed item to f as it is found, in
// addition to the bounded ResealStats.Failed. f runs on Reseal's goroutine.
func OnResealFailure(f func(ItemError)) ResealOption {
	return func(c *resealConfig) { c.onFailure = f }
}

// resealAttempts bounds how often one item is re-read and resealed when an
// application write keeps beating the reseal.
const resealAttempts = 3

// Reseal is the re-encryption pass that follows a key rotation: it scans the
// whole table and rewrites every item sealed under an older key version (or
// another key class) than its tenant's current key for this table, so old
// versions can be retired. Like Scan it is an admin operation that reads
// across tenants.
//
// Reseal never decodes into T: each item is verified under the key its
// header names with the actions its header records (attrcrypt's Verify),
// and a stale item is re-sealed attribute for attribute (attrcrypt's
// Reseal). Every attribute survives, including ones the running program's
// struct does not know (written by a newer version of it) and plain ones.
// Every item is verified before it is counted, current or stale; an item
// that fails is reported (Tampered or Unverifiable, with its key, never its
// values) and never rewritten.
//
// The rewrite is conditioned on the stored signature being unchanged, so a
// concurrent application write is never lost: a lost condition re-reads the
// item and starts over (at most three times, then it is reported as failed
// with ErrConflict). The visible version attribute is left alone: the item's
// content does not change, so an application that read version n before the
// reseal and writes version n+1 after it writes the same content under the
// current key, and loses nothing; a reader's optimistic lock still protects
// every content change. A type without a version attribute conditions its
// updates on the header, which a reseal changes: such an Update loses the
// race and retries.
//
// Reseal creates no key for a tenant that does not exist: it fetches only
// the key an item names (which never creates), and asks for a tenant's
// current key only after an item verified under one of that tenant's
// existing keys. (With WithCreateOnFirstUse, a genuine tenant that lacks a
// key of the table's class gets one, as its next write would.) A planted
// row naming a made-up tenant fails with ErrTampered and creates nothing.
//
// Run it again after it reports failures: it is idempotent. in.Segments is
// ignored (the pass is serial); in.PageSize and in.ConsistentRead apply to
// the scan.
func (t *Table[T]) Reseal(ctx context.Context, in ScanInput, opts ...ResealOption) (ResealStats, error) {
	var rc resealConfig
	for _, o := range opts {
		o(&rc)
	}
	var st ResealStats
	si := &dynamodb.ScanInput{TableName: aws.String(t.name)}
	if in.PageSize > 0 {
		si.Limit = aws.Int32(in.PageSize)
	}
	if in.ConsistentRead {
		si.ConsistentRead = aws.Bool(true)
	}
	for {
		out, err := t.client.Scan(ctx, si)
		if err != nil {
			return st, fmt.Errorf("table: reseal scan: %w", ddbError("Scan", err))
		}
		for _, item := range out.Items {
			if IsClaimItem(item) {
				continue // a unique-value claim, not a sealed item: nothing to reseal
			}
			st.Scanned++
			if err := t.resealItem(ctx, item, &st); err != nil {
				if ctx.Err() != nil {
					return st, ctx.Err()
				}
				st.fail(&rc, ItemError{Key: t.keyOfItem(item), Err: err})
				if ref, rerr := t.sealer.KeyRef(item); rerr == nil && !errors.Is(err, ErrTampered) && ref.Class == t.class {
					st.lowest(ref.Tenant, ref.Version) // unverified, so only ever lowers the floor
				}
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return st, nil
		}
		si.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func (st *ResealStats) fail(rc *resealConfig, ie ItemError) {
	st.FailedCount++
	if errors.Is(ie.Err, ErrTampered) {
		st.Tampered++
	} else if !errors.Is(ie.Err, ErrConflict) {
		st.Unverifiable++
	}
	if len(st.Failed) < MaxResealFailures {
		st.Failed = append(st.Failed, &ie)
	}
	if rc.onFailure != nil {
		rc.onFailure(ie)
	}
}

// resealItem verifies item and, when stale, rewrites it under the current
// key; it counts the item in st unless it returns an error.
func (t *Table[T]) resealItem(ctx context.Context, item map[string]types.AttributeValue, st *ResealStats) error {
	for attempt := 1; ; attempt++ {
		tenant, ref, oldKey, err := t.verifyStored(ctx, item)
		if err != nil {
			return err
		}
		cur, err := t.currentKey(ctx, tenant)
		if err != nil {
			oldKey.Zero()
			return fmt.Errorf("table: tenant key: %w", err)
		}
		if ref.Class == cur.Ref.Class && ref.Version >= cur.Ref.Version {
			oldKey.Zero()
			cur.Zero()
			st.Current++
			st.lowest(tenant, cur.Ref.Version)
			return nil
		}
		curVersion := cur.Ref.Version
		fresh, err := t.sealer.Reseal(item, oldKey, cur)
		oldKey.Zero()
		cur.Zero()
		if err != nil {
			return fmt.Errorf("table: reseal: %w", err)
		}
		now, err := t.putIfUnchanged(ctx, item, fresh)
		switch {
		case err != nil:
			return err
		case now == nil:
			st.Resealed++
			st.lowest(tenant, curVersion)
			return nil
		case len(now) == 0:
			st.Gone++
			return nil
		case attempt >= resealAttempts:
			return fmt.Errorf("%w: the item kept changing during the reseal", ErrConflict)
		}
		item = now // an application write got in: start over on what it wrote
	}
}

// verifyStored checks the tenant attribute and the header of a stored item
// and verifies it under the key it names, which it returns (the caller
// zeroes it). It never asks for a current key, so it creates none.
func (t *Table[T]) verifyStored(ctx context.Context, item map[string]types.AttributeValue) (string, attrcrypt.KeyRef, attrcrypt.Key, error) {
	ref, key, err := t.itemKey(ctx, "", item)
	if err != nil {
		return "", ref, attrcrypt.Key{}, err
	}
	if err := t.sealer.Verify(item, key); err != nil {
		key.Zero()
		return "", ref, attrcrypt.Key{}, fmt.Errorf("table: verify: %w", err)
	}
	return ref.Tenant, ref, key, nil
}

// putIfUnchanged writes fresh over stored on condition that the stored
// signature is still stored's. It is an UpdateItem that sets only the
// attributes whose value changed (the encrypted ones, the header and the
// signature): plain attributes, which a concurrent AddToCounter or SetPlain
// may change without touching the signature, are left as they are now, and
// signed ones cannot differ while the condition holds. It returns nil when
// written (or when a resend found our own write), an empty map when the
// item was deleted in between, and otherwise the item as it now is.
func (t *Table[T]) putIfUnchanged(ctx context.Context, stored, fresh map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	var c expr
	c.add(c.name(attrcrypt.SignatureAttribute) + " = " + c.value(stored[attrcrypt.SignatureAttribute]))
	names := make([]string, 0, len(fresh))
	for n, v := range fresh {
		if !reflect.DeepEqual(v, stored[n]) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	set := make([]string, len(names))
	for i, n := range names {
		set[i] = c.name(n) + " = " + c.value(fresh[n])
	}
	now, failed, err := t.sendUpdate(ctx, t.keyMapOfItem(stored), "SET "+strings.Join(set, ", "), &c)
	if failed {
		switch {
		case ownWrite(now, fresh):
			return nil, nil
		case now == nil:
			return map[string]types.AttributeValue{}, nil
		}
		return now, nil
	}
	if err != nil {
		return nil, fmt.Errorf("table: reseal write: %w", ddbError("UpdateItem", err))
	}
	return nil, nil
}
