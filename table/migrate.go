package table

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/table/job"
)

// MigrateStats are the exact counts of a Migrate pass (of the segments it
// ran, earlier runs resumed from checkpoints included). Every item read is
// counted exactly once: Sealed, AlreadySealed, Gone or Unsealed.
//
// The table is fully sealed, and WithMigration can be removed from every
// handle, when a full pass (every segment completed, its stats summed)
// started after the last writer that bypasses dynaseal stopped reports
// Unsealed == 0 (FullySealed). Dynaseal writers, in migration mode or not,
// only ever write sealed items, so nothing a pass visited becomes unsealed
// again unless someone writes around dynaseal (or strips an item, which
// the sweep and every read then report as ErrNotSealed).
type MigrateStats struct {
	// Scanned is the number of items read.
	Scanned int64
	// Sealed items were unsealed and this pass sealed them in place.
	Sealed int64
	// AlreadySealed items carried a header or a signature when the job
	// looked (or an application write sealed them first): they were not
	// written and not verified; verifying is Sweep's job, which reports
	// an item with only one of the two as tampered.
	AlreadySealed int64
	// Gone items were deleted by someone else during the pass.
	Gone int64
	// Unsealed items are left unsealed; each was reported with its key
	// through JobInput.OnItem (OutcomeUnsealed) with the reason: no tenant
	// attribute (ErrNotSealed), no key for the tenant and no
	// create-on-first-use (ErrKeyMissing), values dynaseal cannot seal
	// (attrcrypt.ErrMalformed), an attribute the schema encrypts holding a
	// binary value its Go type never stores, the mark of a sealed item
	// stripped of its header and signature (ErrTampered), too large once
	// sealed (ErrItemTooLarge),
	// changed by other writers on every attempt (ErrConflict), or a
	// DynamoDB or key store failure. Run the pass again after fixing them.
	Unsealed int64
}

// FullySealed reports whether the pass left no item unsealed. It means the
// table is fully sealed only for stats summed over every segment of a
// complete pass (Add).
func (st MigrateStats) FullySealed() bool { return st.Unsealed == 0 }

// Add adds o's counts to st, to sum the segments of one pass run by
// several workers.
func (st *MigrateStats) Add(o MigrateStats) {
	st.Scanned += o.Scanned
	st.Sealed += o.Sealed
	st.AlreadySealed += o.AlreadySealed
	st.Gone += o.Gone
	st.Unsealed += o.Unsealed
}

// Outcomes of Migrate reported through JobInput.OnItem (with OutcomeGone).
const (
	// OutcomeSealed: Migrate sealed the unsealed item in place.
	OutcomeSealed Outcome = "sealed"
	// OutcomeUnsealed: Migrate could not seal the item (Err says why); it
	// is still unsealed.
	OutcomeUnsealed Outcome = "unsealed"
)

// Counter names of Migrate's checkpointed counts.
const (
	cSealed        = "sealed"
	cAlreadySealed = "already-sealed"
	cUnsealed      = "unsealed"
)

// Migrate adopts a table written without dynaseal, in place, as a
// resumable, segmented job (see JobInput): it seals every unsealed item
// (neither header nor signature; ErrNotSealed) under its tenant's current
// key with the schema's actions, and skips (counts) items already sealed.
//
// Each item is written with an UpdateItem conditioned on the stored item
// being still unsealed and unchanged since it was read (no header, no
// signature, every non-plain attribute equal, every schema attribute it
// lacked still absent), so a concurrent application write, which seals
// the item, is never overwritten: the job re-reads what is stored and
// starts over (an item now sealed counts as AlreadySealed; after three
// lost races it is reported as ErrConflict). A write whose answer was lost
// and that the SDK resent is recognised by its signature. The item's
// content is kept: encrypted attributes are replaced by their ciphertext,
// the header and signature added, plain attributes left as they are now,
// and the version attribute is not bumped. The application can keep
// running on handles built WithMigration during the pass.
//
// Each item is processed at least once per pass and sealed at most once:
// after a restart, an item of the interrupted page that was already sealed
// counts as AlreadySealed. Items that cannot be sealed are reported through
// in.OnItem (OutcomeUnsealed) and counted in Unsealed; OnItem also receives
// OutcomeSealed and OutcomeGone items. The error is what stopped a
// segment: a cancelled context, a failed read, a checkpoint failure, or,
// with checkpoints, DynamoDB or the key store being unavailable on one
// item, so that a resume seals it instead of skipping it (without
// checkpoints such an item is counted Unsealed and the pass goes on).
//
// The job trusts what is stored when it seals it: run it on a table whose
// writers are known (an attacker who can write to the table before or
// during the migration can plant rows that the job will sign, or strip a
// sealed row and edit it). It refuses a row whose encrypted attribute
// holds a binary value the Go type never stores (a stripped row's
// ciphertext), which a schema built from a Go type can tell. After the
// migration (WithMigration removed), an item stripped of its header and
// signature reads as ErrNotSealed, never as verified.
func (a *Admin) Migrate(ctx context.Context, in JobInput) (MigrateStats, error) {
	c, err := a.run(ctx, &in, "migrate", func() job.Handler {
		return func(ctx context.Context, item map[string]types.AttributeValue, c job.Counts) error {
			if !a.ofTenant(item, in.Tenant) {
				return nil
			}
			c[cScanned]++
			o, err := a.e.migrateItem(ctx, item, c)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if in.Checkpoints != nil && unavailable(err) {
					return fmt.Errorf("table: migrate: %w", err) // resume later; skip nothing
				}
				c[cUnsealed]++
				o, err = OutcomeUnsealed, fmt.Errorf("table: migrate: %w", err)
			}
			if o != "" {
				in.report(a.e, item, o, err)
			}
			return nil
		}
	})
	return MigrateStats{Scanned: c[cScanned], Sealed: c[cSealed], AlreadySealed: c[cAlreadySealed],
		Gone: c[cGone], Unsealed: c[cUnsealed]}, err
}

// migrateAttempts bounds how often one item is re-read and sealed again
// when other writers keep changing it.
const migrateAttempts = 3

// migrateItem seals item in place if it is unsealed, and counts it in c
// unless it returns an error (the item is then left unsealed).
func (t *engine) migrateItem(ctx context.Context, item map[string]types.AttributeValue, c job.Counts) (Outcome, error) {
	for attempt := 1; ; attempt++ {
		if !attrcrypt.IsUnsealed(item) {
			c[cAlreadySealed]++
			return "", nil
		}
		now, err := t.sealInPlace(ctx, item)
		switch {
		case err != nil:
			return "", err
		case now == nil:
			c[cSealed]++
			return OutcomeSealed, nil
		case len(now) == 0:
			c[cGone]++
			return OutcomeGone, nil
		case attempt >= migrateAttempts:
			return "", fmt.Errorf("%w: the item kept changing while it was being sealed", ErrConflict)
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
func (t *engine) sealInPlace(ctx context.Context, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	if err := t.unsealedTenant("", item); err != nil {
		return nil, err
	}
	if name := t.strippedCiphertext(item); name != "" {
		return nil, fmt.Errorf("table: the item looks like a sealed item stripped of its header and signature: %w",
			&attrcrypt.TamperError{Reason: attrcrypt.ReasonAttribute, Attribute: name})
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
	return t.writeChanged(ctx, "seal", item, fresh, &c)
}

// strippedCiphertext returns the name of an attribute the schema encrypts
// that holds a binary value although its Go type (a string, number, bool
// or time) is never stored as one: what a sealed item's ciphertext looks
// like once its header and signature are stripped. Sealing such an item
// would adopt an attacker's edit as genuine, so the job refuses it. A
// schema without Go types (schema.FromSpec) cannot tell, and returns "".
func (t *engine) strippedCiphertext(item map[string]types.AttributeValue) string {
	for _, a := range t.schema.Attributes {
		if a.Action != attrcrypt.ActionEncrypt || a.Type == nil {
			continue
		}
		if _, isB := item[a.Name].(*types.AttributeValueMemberB); !isB {
			continue
		}
		switch a.Type.Kind() {
		case schema.KindString, schema.KindInt, schema.KindUint, schema.KindFloat, schema.KindBool:
			return a.Name
		case schema.KindStruct:
			if a.Type.IsTime() {
				return a.Name
			}
		}
	}
	return ""
}

// writeChanged writes fresh over stored with an UpdateItem under condition
// c that sets only the attributes whose value differs from stored's (the
// encrypted ones, the header and the signature): attributes a concurrent
// SetPlain or AddToCounter may change are left as they are now. It returns
// nil when written (or when a resend found our own write: same signature),
// an empty map when the item does not exist any more, and otherwise the
// item as it now is.
func (t *engine) writeChanged(ctx context.Context, what string, stored, fresh map[string]types.AttributeValue, c *expr) (map[string]types.AttributeValue, error) {
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
		return nil, fmt.Errorf("table: %s write: %w", what, err)
	}
	return nil, nil
}
