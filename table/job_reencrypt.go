package table

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/table/job"
)

// ReEncryptStats are the exact counts of a ReEncrypt pass (of the segments
// it ran, earlier runs resumed from checkpoints included). Every item read
// is counted once: Current, Resealed, Gone or Failed.
type ReEncryptStats struct {
	// Scanned is the number of items read.
	Scanned int64
	// Current items verified and were already under their tenant's current
	// key version and the table's class; they were not written.
	Current int64
	// Resealed items verified and were rewritten under the current key.
	Resealed int64
	// Gone items were deleted by someone else during the pass.
	Gone int64
	// Failed items could not be resealed: Tampered + Unverifiable +
	// Conflicts. Each was reported through JobInput.OnItem.
	Failed int64
	// Tampered items failed verification (ErrTampered).
	Tampered int64
	// Unverifiable items name a key that could not be had (missing,
	// shredded, retired, disabled, the key store unavailable).
	Unverifiable int64
	// Conflicts are items that application writes changed three times
	// during their reseal (ErrConflict); run the pass again.
	Conflicts int64
	// SafeFloor is, per tenant seen, the lowest key version of the
	// table's class that any of its items still names after the pass (see
	// ResealStats.SafeFloor): tenantkeys' Retire(ctx, tenant, class,
	// SafeFloor[tenant]) then makes none of them unreadable. For a
	// segmented pass it covers the segments this call ran: take the
	// minimum over all workers.
	SafeFloor map[string]uint32
	// SafeFloorTruncated reports that a checkpointed pass saw more than
	// 1000 tenants, too many to keep in a checkpoint: SafeFloor is nil.
	// Run one-tenant passes to learn a tenant's floor.
	SafeFloorTruncated bool
}

// ReEncrypt is the re-encryption pass that follows key rotations, as a
// resumable, segmented job: it rewrites every item (of in.Tenant, or of
// every tenant) sealed under an older key version, or another key class,
// than its tenant's current key for the table, so that old versions can be
// retired. It is the one implementation behind Table.Reseal, with the same
// guarantees: each item is verified (under the actions its header records,
// never decoded into a Go type) before it is rewritten attribute for
// attribute; the write is conditioned on the stored signature, so a
// concurrent application write is never lost; the visible version
// attribute is left alone (the content does not change); a tampered or
// unverifiable item is reported, never rewritten; no key is created for a
// tenant that has none.
//
// One tenant is read through its partition or a tenant index, not a table
// scan (ErrNeedsTenantIndex without one, unless in.ScanTenant). Each item
// is processed at least once per pass and written at most once in effect:
// after a restart, an item of the interrupted page that was already
// resealed verifies as current and is not written again.
//
// OnItem receives every item resealed, gone or failed (current items are
// only counted). The error is what stopped a segment: a failed read, a
// checkpoint failure, or, with checkpoints, DynamoDB or the key store
// being unavailable (ErrUnavailable, tenantkeys.ErrKeyStoreUnavailable...)
// on one item, so that a resume reseals it instead of skipping it; without
// checkpoints such an item is counted Unverifiable and the pass goes on.
// The stats count what was done up to the error.
func (a *Admin) ReEncrypt(ctx context.Context, in JobInput) (ReEncryptStats, error) {
	bounded := in.Checkpoints != nil
	c, err := a.run(ctx, &in, "reencrypt", func() job.Handler {
		return func(ctx context.Context, item map[string]types.AttributeValue, c job.Counts) error {
			if !a.ofTenant(item, in.Tenant) {
				return nil
			}
			c[cScanned]++
			o, err := a.e.resealItem(ctx, item, c, bounded)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if bounded && unavailable(err) {
					return fmt.Errorf("table: reencrypt: %w", err) // resume later; skip nothing
				}
				o = classifyFailure(c, err)
				if ref, rerr := a.e.sealer.KeyRef(item); rerr == nil && !errors.Is(err, ErrTampered) && ref.Class == a.e.class {
					lowerFloor(c, ref.Tenant, int64(ref.Version), bounded) // unverified, so only ever lowers the floor
				}
				err = fmt.Errorf("table: reencrypt: %w", err)
			}
			if o != "" {
				in.report(a.e, item, o, err)
			}
			return nil
		}
	})
	st := ReEncryptStats{
		Scanned: c[cScanned], Current: c[cCurrent], Resealed: c[cResealed], Gone: c[cGone],
		Failed: c[cFailed], Tampered: c[cTampered], Unverifiable: c[cUnverifiable], Conflicts: c[cConflict],
	}
	st.SafeFloor, st.SafeFloorTruncated = floors(c)
	return st, err
}
