package table

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// WithMigration puts the handle in migration mode, for adopting a table
// written without dynaseal while Admin.Migrate seals its rows in place.
//
// An item with neither dynaseal's header nor its signature is "not sealed"
// (ErrNotSealed, which does not match ErrTampered). Anyone with write access
// can strip both from a sealed item, so nothing about an unsealed item is
// ever verified: outside migration mode every read of one fails with
// ErrNotSealed and returns nothing of it. In migration mode:
//
//   - A read returns an unsealed item only when the call opts in
//     (AllowUnsealed for Get and BatchGet, QueryInput.AllowUnsealed or
//     AllowUnsealedItems for Query, QueryPage and Count,
//     ScanInput.AllowUnsealed for Scan), and it calls the caller's mark
//     function with the item's key, on the caller's goroutine, before the
//     item is returned or yielded: that is how the caller learns the item
//     is unverified. Without the opt-in the read fails with ErrNotSealed.
//     The tenant check applies as to sealed items: an unsealed item of
//     another tenant (or without a tenant attribute) is never returned to
//     a scope (ErrNotFound and ErrWrongTenant).
//   - Update (and TxUpdate) of an unsealed item reads it unverified,
//     applies the function and writes the result sealed, on condition that
//     the stored item is still unsealed and unchanged, so it never
//     overwrites the Migrate job's or another writer's write: the loser
//     gets ErrConflict, and RetryConflicts re-reads the item.
//   - TxGet, ReadIn and the re-encryption job do not read unsealed items
//     (ErrNotSealed).
//
// Without WithMigration, AllowUnsealed and the other opt-ins have no
// effect: removing it (after a full Migrate pass reported no unsealed item
// left) makes every remaining or re-planted unsealed row fail again,
// whatever the calling code asks.
func WithMigration() Option { return func(o *config) { o.migration = true } }

// AllowUnsealed makes Get or BatchGet on a handle built WithMigration return
// an unsealed item (ErrNotSealed otherwise) after calling mark with its key:
// its data was not verified, since anyone with write access to the table
// can forge or strip an item into that shape. mark runs on the caller's
// goroutine before the call returns; a nil mark allows nothing. Without
// WithMigration it has no effect.
func AllowUnsealed(mark func(Key)) ReadOption {
	return func(r *readConfig) { r.unsealed = mark }
}

// AllowUnsealedItems is AllowUnsealed for Query, QueryPage and Count
// (QueryInput.AllowUnsealed): mark is called with the key of each unsealed
// item returned, before it is yielded or the page returned.
func AllowUnsealedItems(mark func(Key)) QueryOption {
	return func(in *QueryInput) { in.AllowUnsealed = mark }
}

// allowUnsealed returns mark when the handle is in migration mode, nil
// (no opt-in) otherwise.
func (t *Table[T]) allowUnsealed(mark func(Key)) func(Key) {
	if !t.cfg.migration {
		return nil
	}
	return mark
}

// openRead opens a stored item like open; when allow is set (migration mode
// and an opt-in) and the item is unsealed, it decodes it unverified instead
// and reports unsealed. The caller calls allow with its key.
func (t *Table[T]) openRead(ctx context.Context, tenant string, item map[string]types.AttributeValue, allow func(Key)) (v *T, unsealed bool, err error) {
	if allow != nil && attrcrypt.IsUnsealed(item) {
		v, err = t.decodeUnsealed(tenant, item)
		return v, err == nil, err
	}
	v, err = t.open(ctx, tenant, item)
	return v, false, err
}

// decodeUnsealed checks the tenant of the unsealed item (against tenant,
// unless "" for Scan) and decodes it without verification.
func (t *Table[T]) decodeUnsealed(tenant string, item map[string]types.AttributeValue) (*T, error) {
	if err := t.unsealedTenant(tenant, item); err != nil {
		return nil, err
	}
	m := maps.Clone(item)
	maps.DeleteFunc(m, func(n string, _ types.AttributeValue) bool { return attrcrypt.IsReserved(n) })
	v := new(T)
	if err := t.codec.Unmarshal(m, v); err != nil {
		return nil, fmt.Errorf("table: unmarshal unsealed %s: %w", t.schema.TypeName, err)
	}
	return v, nil
}

// unsealedTenant applies the tenant check to an unsealed item: its tenant
// attribute must be a non-empty S, equal to tenant unless tenant is "".
func (t *engine) unsealedTenant(tenant string, item map[string]types.AttributeValue) error {
	tv, ok := item[t.schema.Tenant].(*types.AttributeValueMemberS)
	switch {
	case tenant != "" && (!ok || tv.Value != tenant):
		return errWrongTenantRead
	case !ok || tv.Value == "":
		return fmt.Errorf("table: %w: the tenant attribute %q is missing, empty or not a string", ErrNotSealed, t.schema.Tenant)
	}
	return nil
}

// Limits of one condition: DynamoDB refuses expressions over 4 KB and more
// than 300 operators; unsealedCond stays well inside both.
const (
	maxCondLen   = 4000
	maxCondTerms = 140
)

// unsealedCond adds to c the condition that the stored item is still
// unsealed and unchanged since it was read as stored: no header, no
// signature, every attribute that is not plain in the schema equal to its
// value in stored, and every such schema attribute absent from stored
// still absent. Plain attributes are left out: they are outside the
// signature, and a concurrent SetPlain or AddToCounter may change them
// without conflicting (the sealing write never sets them). An attribute
// outside the schema added by a writer that bypasses dynaseal is not
// detected by the condition; the sealing write never removes it, so it
// survives and the item then fails verification (ReasonAttributeSet) rather
// than losing data.
func (t *engine) unsealedCond(c *expr, stored map[string]types.AttributeValue) error {
	c.add("attribute_not_exists(" + c.name(attrcrypt.HeaderAttribute) + ")")
	c.add("attribute_not_exists(" + c.name(attrcrypt.SignatureAttribute) + ")")
	actions := t.schema.Actions()
	names := slices.Sorted(maps.Keys(stored))
	for _, n := range names {
		if n == t.schema.PartitionKey || n == t.schema.SortKey || attrcrypt.IsReserved(n) || actions[n] == attrcrypt.ActionPlain {
			continue
		}
		c.add(c.name(n) + " = " + c.value(stored[n]))
	}
	for _, n := range slices.Sorted(maps.Keys(actions)) {
		if _, ok := stored[n]; !ok && actions[n] != attrcrypt.ActionPlain {
			c.add("attribute_not_exists(" + c.name(n) + ")")
		}
	}
	if s := c.String(); len(c.parts) > maxCondTerms || len(*s) > maxCondLen {
		return fmt.Errorf("table: %w: the item has too many attributes for a condition that it is unchanged (%d terms)", ErrNotSealed, len(c.parts))
	}
	return nil
}
