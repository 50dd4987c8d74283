package table

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// MigrateStats reports what a Migrate pass did. Every item scanned is
// counted exactly once: as Sealed, AlreadySealed, Gone or Unsealed.
//
// The table is fully sealed, and WithMigration can be removed from every
// handle, when a full pass (every segment of it completed) reports
// Unsealed == 0 and was started after the last writer that bypasses
// dynaseal stopped: dynaseal writers (in migration mode or not) only ever
// write sealed items, so nothing a pass already visited becomes unsealed
// again unless someone writes around dynaseal.
type MigrateStats struct {
	// Scanned is the number of items read.
	Scanned int
	// Sealed items were unsealed and this pass sealed them in place.
	Sealed int
	// AlreadySealed items carried a header or a signature (or were sealed
	// by a concurrent application write before this pass could): they
	// were not written and not verified (verifying is the sweep's job; an
	// item with only one of header and signature is tampered, which the
	// sweep reports).
	AlreadySealed int
	// Gone items were deleted by someone else during the pass.
	Gone int
	// Unsealed items are left unsealed: each was reported with its key
	// through the job's OnItem callback (no tenant attribute, no key for
	// the tenant and no create-on-first-use, values DynamoDB or dynaseal
	// cannot seal, too large once sealed, or changed by other writers on
	// every attempt).
	Unsealed int
}

// Add adds o's counts to st, to sum the segments of one pass.
func (st *MigrateStats) Add(o MigrateStats) {
	st.Scanned += o.Scanned
	st.Sealed += o.Sealed
	st.AlreadySealed += o.AlreadySealed
	st.Gone += o.Gone
	st.Unsealed += o.Unsealed
}

// migrateAttempts bounds how often one item is re-read and sealed again
// when other writers keep changing it.
const migrateAttempts = 3

// migrateItem seals item in place if it is unsealed, and counts it in st
// unless it returns an error (the item is then left unsealed).
func (t *Table[T]) migrateItem(ctx context.Context, item map[string]types.AttributeValue, st *MigrateStats) error {
	for attempt := 1; ; attempt++ {
		if !attrcrypt.IsUnsealed(item) {
			st.AlreadySealed++
			return nil
		}
		now, err := t.sealInPlace(ctx, item)
		switch {
		case err != nil:
			return err
		case now == nil:
			st.Sealed++
			return nil
		case len(now) == 0:
			st.Gone++
			return nil
		case attempt >= migrateAttempts:
			return fmt.Errorf("%w: the item kept changing while it was being sealed", ErrConflict)
		}
		item = now // another writer got in: start over on what it wrote
	}
}

// sealInPlace seals the unsealed stored item under its tenant's current key
// (which a provider with create-on-first-use creates) with the schema's
// actions, and writes it back on condition that the stored item is still
// unsealed and unchanged (unsealedCond). The item's content is kept as it
// is: its version attribute is not bumped, so an application holding the
// unsealed item at version n still writes version n+1 over it. It returns
// nil when written (or when a resend found our own write), an empty map
// when the item was deleted meanwhile, and otherwise the item as it now is.
func (t *Table[T]) sealInPlace(ctx context.Context, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	if err := t.unsealedTenant("", item); err != nil {
		return nil, err
	}
	tenant := item[t.schema.Tenant].(*types.AttributeValueMemberS).Value
	key, err := t.currentKey(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("table: tenant key: %w", err)
	}
	fresh, err := t.sealer.Seal(item, key)
	key.Zero()
	if err != nil {
		return nil, fmt.Errorf("table: seal: %w", err)
	}
	if n := attrcrypt.ItemSize(fresh); n > attrcrypt.MaxItemSize {
		return nil, fmt.Errorf("%w: %d bytes after sealing (limit %d)", ErrItemTooLarge, n, attrcrypt.MaxItemSize)
	}
	var c expr
	if err := t.unsealedCond(&c, item); err != nil {
		return nil, err
	}
	return t.writeChanged(ctx, item, fresh, &c)
}

// writeChanged writes fresh over stored with an UpdateItem under condition
// c that sets only the attributes whose value differs from stored's (the
// encrypted ones, the header and the signature): attributes a concurrent
// SetPlain or AddToCounter may change are left as they are now. It returns
// nil when written (or when a resend found our own write: same signature),
// an empty map when the item does not exist any more, and otherwise the
// item as it now is.
func (t *Table[T]) writeChanged(ctx context.Context, stored, fresh map[string]types.AttributeValue, c *expr) (map[string]types.AttributeValue, error) {
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
	now, failed, err := t.sendUpdate(ctx, t.keyMapOfItem(stored), "SET "+strings.Join(set, ", "), c)
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
		return nil, fmt.Errorf("table: seal write: %w", err)
	}
	return nil, nil
}

// errMigrateFailed is how Migrate classifies a failure to seal an item for
// OnItem reporting: every one also matches ErrNotSealed (the item stays
// unsealed) besides its cause.
type migrateError struct{ err error }

func (e *migrateError) Error() string { return "table: item left unsealed: " + e.err.Error() }

func (e *migrateError) Unwrap() []error {
	if errors.Is(e.err, ErrNotSealed) {
		return []error{e.err}
	}
	return []error{ErrNotSealed, e.err}
}
