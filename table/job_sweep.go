package table

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/table/job"
)

// SweepStats are the exact counts of a Sweep. Every item read is in
// exactly one of Current, Stale, Drift, Tampered or Unverifiable.
type SweepStats struct {
	// Scanned is the number of items read.
	Scanned int64
	// Current items verify, are sealed under their tenant's current key
	// and record the schema's actions.
	Current int64
	// Stale items verify but are sealed under an older key version (or
	// another key class) than their tenant's current key: ReEncrypt moves
	// them.
	Stale int64
	// Drift items verify under the current key but record actions that
	// differ from the schema's (a field newly encrypted, added or
	// dropped); see attrcrypt's OpenResult.Drift.
	Drift int64
	// Tampered items fail verification (ErrTampered).
	Tampered int64
	// Unverifiable items name a key that could not be had (shredded,
	// retired, disabled, the key store unavailable), so they could not be
	// checked.
	Unverifiable int64
}

// Sweep verifies every item (of in.Tenant, or of every tenant) without
// writing anything, as a resumable, segmented job, and reports through
// in.OnItem each item that is tampered, unverifiable, stale or drifted,
// with its key and never its values. Nothing is accumulated beyond the
// counts, so a sweep of any size runs in the memory of one page per
// segment. Each item is verified under the key its header names, with the
// actions its header records, then compared with its tenant's current key
// and with the schema. Like ReEncrypt it creates no key for a tenant that
// has none (with WithCreateOnFirstUse, a genuine tenant without a key of
// the table's class gets one). With checkpoints, DynamoDB or the key store
// being unavailable stops the segment (resume it later) rather than
// counting the item Unverifiable.
func (a *Admin) Sweep(ctx context.Context, in JobInput) (SweepStats, error) {
	e := a.e
	c, err := a.run(ctx, &in, "sweep", func() job.Handler {
		return func(ctx context.Context, item map[string]types.AttributeValue, c job.Counts) error {
			if !a.ofTenant(item, in.Tenant) {
				return nil
			}
			c[cScanned]++
			o, err := e.sweepItem(ctx, item, !in.SkipDrift)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil && in.Checkpoints != nil && unavailable(err) {
				return fmt.Errorf("table: sweep: %w", err) // resume later; skip nothing
			}
			switch o {
			case "":
				c[cCurrent]++
				return nil
			case OutcomeStale:
				c[cStale]++
			case OutcomeDrift:
				c[cDrift]++
			default:
				o = classifyFailure(c, err)
				err = fmt.Errorf("table: sweep: %w", err)
			}
			in.report(e, item, o, err)
			return nil
		}
	})
	return SweepStats{Scanned: c[cScanned], Current: c[cCurrent], Stale: c[cStale], Drift: c[cDrift],
		Tampered: c[cTampered], Unverifiable: c[cUnverifiable]}, err
}

// sweepItem verifies item and says whether it is current (""), stale,
// drifted (checked only with drift), or failed (OutcomeUnverifiable, with
// the error).
func (t *engine) sweepItem(ctx context.Context, item map[string]types.AttributeValue, drift bool) (Outcome, error) {
	tenant, ref, key, err := t.verifyStored(ctx, item)
	if err != nil {
		return OutcomeUnverifiable, err
	}
	defer key.Zero()
	cur, err := t.currentKey(ctx, tenant)
	if err != nil {
		return OutcomeUnverifiable, fmt.Errorf("table: tenant key: %w", err)
	}
	curRef := cur.Ref
	cur.Zero()
	if ref.Class != curRef.Class || ref.Version < curRef.Version {
		return OutcomeStale, nil
	}
	if !drift {
		return "", nil
	}
	// The item is authentic; Open under the schema's actions says whether
	// they differ from the recorded ones. Its plaintext is dropped.
	_, res, err := t.sealer.Open(item, key)
	switch {
	case errors.Is(err, ErrSchemaMismatch):
		return OutcomeDrift, nil
	case err != nil:
		return OutcomeUnverifiable, fmt.Errorf("table: open: %w", err)
	case res.NeedsReseal():
		return OutcomeDrift, nil
	}
	return "", nil
}
