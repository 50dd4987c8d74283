package table

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/table/job"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// PurgeStats are the exact counts of a Purge. Every item read is in
// exactly one of Deleted, Kept, Gone or Failed.
type PurgeStats struct {
	// Scanned is the number of items of the tenant read.
	Scanned int64
	// Deleted items were deleted.
	Deleted int64
	// Kept items verify under a live key of the tenant: they were written
	// after ReopenAfterShred, and are not the shredded tenant's data.
	Kept int64
	// Gone items were deleted by someone else (or changed and then
	// deleted) during the purge.
	Gone int64
	// Failed items could not be decided about (a disabled or retired key,
	// an item that kept changing) and were left; each was reported.
	Failed int64
}

// purgeAttempts bounds how often one item is re-read when it changes
// between its read and its delete.
const purgeAttempts = 3

// Purge deletes the items of a shredded tenant (in.Tenant, required),
// including their signed plaintext, as a resumable job: every item of the
// table, of any type, whose tenant attribute is the tenant (beacon and
// claim items carry it too), read through the tenant's partition or a
// tenant index (or a filtered scan with in.ScanTenant).
//
// Safety, decided per item and enforced by a conditional delete:
//
//   - Purge refuses, with ErrTenantNotShredded, unless the tenant was
//     shredded: its key version 1 in the table's class answers
//     ErrKeyShredded. A typo in a tenant id, or a wrongly configured key
//     store, cannot purge a live tenant.
//   - An item is deleted only when it cannot be verified because its key
//     was shredded (ErrKeyShredded) or because it does not verify at all
//     (ErrTampered: edited, planted, or an item without a dynaseal header
//     such as a claim item). An item that verifies under a live key of the
//     tenant, written after ReopenAfterShred, is kept; so is one whose key
//     is only disabled or retired (Failed, reported). An unavailable key
//     store stops the job (resume it later) rather than deleting blind.
//   - The delete is conditioned on the item being the one that was judged
//     (its signature unchanged, or still no signature and the same header), so
//     an item re-created under a reopened tenant between the read and the
//     delete is never deleted: the item is read again and judged again.
//
// Deleting is idempotent, so a restart that sees the interrupted page
// again only finds its items gone. OnItem receives every item deleted,
// kept or failed.
func (a *Admin) Purge(ctx context.Context, in JobInput) (PurgeStats, error) {
	e := a.e
	if in.Tenant == "" {
		return PurgeStats{}, fmt.Errorf("table: purge: %w", ErrNoTenant)
	}
	k, err := e.keyByRef(ctx, attrcrypt.KeyRef{Tenant: in.Tenant, Class: e.class, Version: 1})
	switch {
	case err == nil:
		k.Zero()
		return PurgeStats{}, fmt.Errorf("table: purge: %w", ErrTenantNotShredded)
	case !errors.Is(err, tenantkeys.ErrKeyShredded):
		return PurgeStats{}, fmt.Errorf("table: purge: %w (tenant key: %w)", ErrTenantNotShredded, err)
	}
	c, err := a.run(ctx, &in, "purge", func() job.Handler {
		return func(ctx context.Context, item map[string]types.AttributeValue, c job.Counts) error {
			if !a.ofTenant(item, in.Tenant) {
				return nil
			}
			c[cScanned]++
			o, err := e.purgeItem(ctx, item)
			if err != nil && (ctx.Err() != nil || unavailable(err)) {
				return fmt.Errorf("table: purge: %w", err)
			}
			switch o {
			case OutcomeDeleted:
				c[cDeleted]++
			case OutcomeKept:
				c[cKept]++
			case OutcomeGone:
				c[cGone]++
			default:
				c[cFailed]++
				o, err = OutcomeFailed, fmt.Errorf("table: purge: %w", err)
			}
			in.report(e, item, o, err)
			return nil
		}
	})
	return PurgeStats{Scanned: c[cScanned], Deleted: c[cDeleted], Kept: c[cKept], Gone: c[cGone], Failed: c[cFailed]}, err
}

// unavailable reports whether err means a service could not answer (so
// nothing may be concluded about the item).
func unavailable(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, tenantkeys.ErrKeyStoreUnavailable) ||
		errors.Is(err, tenantkeys.ErrKMSUnavailable) || errors.Is(err, tenantkeys.ErrAccessDenied) ||
		errors.Is(err, ErrAccessDenied)
}

// purgeItem judges item and deletes it when it is the shredded tenant's.
func (t *engine) purgeItem(ctx context.Context, item map[string]types.AttributeValue) (Outcome, error) {
	for attempt := 1; ; attempt++ {
		_, _, key, err := t.verifyStored(ctx, item)
		switch {
		case err == nil:
			key.Zero()
			return OutcomeKept, nil
		case !errors.Is(err, ErrKeyShredded) && !errors.Is(err, ErrTampered) && !errors.Is(err, ErrNotSealed):
			return "", err // unsealed: a claim item, or a plaintext row
		}
		now, err := t.deleteIfUnchanged(ctx, item)
		switch {
		case err != nil:
			return "", err
		case now == nil:
			return OutcomeDeleted, nil
		case len(now) == 0:
			return OutcomeGone, nil
		case attempt >= purgeAttempts:
			return "", fmt.Errorf("%w: the item kept changing during the purge", ErrConflict)
		}
		item = now
	}
}

// deleteIfUnchanged deletes stored on condition that it is unchanged: the
// same signature, or, for an item without one, still no signature and the
// same header or none. It returns nil when deleted, an empty map when the item was gone,
// and otherwise the item as it now is.
func (t *engine) deleteIfUnchanged(ctx context.Context, stored map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	var c expr
	if sig, ok := stored[attrcrypt.SignatureAttribute]; ok {
		c.add(c.name(attrcrypt.SignatureAttribute) + " = " + c.value(sig))
	} else {
		c.add("attribute_not_exists(" + c.name(attrcrypt.SignatureAttribute) + ")")
		if h, ok := stored[attrcrypt.HeaderAttribute]; ok {
			c.add(c.name(attrcrypt.HeaderAttribute) + " = " + c.value(h))
		} else {
			c.add("attribute_not_exists(" + c.name(attrcrypt.HeaderAttribute) + ")")
		}
		c.add("attribute_exists(" + c.name(t.schema.PartitionKey) + ")")
	}
	_, err := t.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                           aws.String(t.name),
		Key:                                 t.keyMapOfItem(stored),
		ConditionExpression:                 c.String(),
		ExpressionAttributeNames:            c.names,
		ExpressionAttributeValues:           c.values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if cf, ok := ccf(err); ok {
		if cf.Item == nil {
			return map[string]types.AttributeValue{}, nil
		}
		return cf.Item, nil
	}
	if err != nil {
		return nil, fmt.Errorf("table: purge delete: %w", ddbError("DeleteItem", err))
	}
	return nil, nil
}
