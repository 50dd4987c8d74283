package table

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// writeMode says which condition a put carries.
type writeMode int

const (
	modePut    writeMode = iota // versioned put, or tenant-guarded overwrite
	modeCreate                  // must not exist
	modeUpdate                  // read-modify-write of a known stored item
)

// putReq is a sealed item with its condition.
type putReq struct {
	sealed
	cond expr
}

// preparePut seals v and builds the condition of mode. For modeUpdate,
// stored is the item as read (its version or header is the condition).
func (s Scope[T]) preparePut(ctx context.Context, v *T, mode writeMode, stored map[string]types.AttributeValue) (putReq, error) {
	t := s.t
	storedVersion := int64(-1)
	switch {
	case mode == modeCreate:
		storedVersion = 0
	case mode == modeUpdate && t.schema.Version != "":
		sv, err := versionOf(stored, t.schema.Version)
		if err != nil {
			return putReq{}, err
		}
		storedVersion = sv
	}
	sl, err := s.seal(ctx, v, storedVersion)
	if err != nil {
		return putReq{}, err
	}
	if err := t.checkItemKey(sl.item); err != nil {
		return putReq{}, err
	}
	r := putReq{sealed: sl}
	c := &r.cond
	pk := func() string { return c.name(t.schema.PartitionKey) }
	switch {
	case mode == modeCreate || (t.schema.Version != "" && sl.oldVersion == 0 && mode == modePut):
		c.add("attribute_not_exists(" + pk() + ")")
	case mode == modeUpdate:
		if t.schema.Version != "" {
			c.add(c.name(t.schema.Version) + " = " + c.value(N(sl.oldVersion)))
		} else {
			c.add(c.name(attrcrypt.HeaderAttribute) + " = " + c.value(stored[attrcrypt.HeaderAttribute]))
		}
		if !t.pkIsTenant {
			c.add(c.name(t.schema.Tenant) + " = " + c.value(S(s.tenant)))
		}
	case t.schema.Version != "":
		c.add(c.name(t.schema.Version) + " = " + c.value(N(sl.oldVersion)))
		if !t.pkIsTenant {
			c.add(c.name(t.schema.Tenant) + " = " + c.value(S(s.tenant)))
		}
	case !t.pkIsTenant:
		c.add("attribute_not_exists(" + pk() + ") OR " + c.name(t.schema.Tenant) + " = " + c.value(S(s.tenant)))
	}
	return r, nil
}

// conditionError maps a failed condition to the package's sentinels. old is
// the stored item DynamoDB returned with the failure (nil if none exists).
func (s Scope[T]) conditionError(mode writeMode, old map[string]types.AttributeValue, err error) error {
	switch {
	case mode == modeCreate:
		return fmt.Errorf("%w (%s)", ErrAlreadyExists, s.t.schema.TypeName)
	case old != nil && !s.t.pkIsTenant && !scalarEqual(old[s.t.schema.Tenant], S(s.tenant)):
		return fmt.Errorf("table: the stored item with this key belongs to another tenant: %w", ErrWrongTenant)
	default:
		s.t.obs.conflict(context.Background())
		return fmt.Errorf("%w: condition failed: %w", ErrConflict, ddbError("", err))
	}
}

// writeConditionError maps the failed condition of a write of item: a
// resend that failed against our own earlier attempt is success (nil); see
// resend.go for the rest.
func (s Scope[T]) writeConditionError(mode writeMode, item, old map[string]types.AttributeValue, at *attempts, err error) error {
	switch {
	case ownWrite(old, item):
		return nil
	case mode != modeCreate && at.resent() && (old == nil || s.t.pkIsTenant || scalarEqual(old[s.t.schema.Tenant], S(s.tenant))):
		return fmt.Errorf("%w (%s)", ErrUnknownOutcome, s.t.schema.TypeName)
	}
	return s.conditionError(mode, old, err)
}

func ccf(err error) (*types.ConditionalCheckFailedException, bool) {
	var c *types.ConditionalCheckFailedException
	ok := errors.As(err, &c)
	return c, ok
}

func (s Scope[T]) putItem(ctx context.Context, r putReq, mode writeMode) error {
	var at attempts
	_, err := s.t.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.t.name),
		Item:                                r.item,
		ConditionExpression:                 r.cond.String(),
		ExpressionAttributeNames:            r.cond.names,
		ExpressionAttributeValues:           r.cond.values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}, at.option)
	if c, ok := ccf(err); ok {
		return s.writeConditionError(mode, r.item, c.Item, &at, err)
	}
	if err != nil {
		return fmt.Errorf("table: put: %w", ddbError("PutItem", err))
	}
	return nil
}

// Get reads the item with key k. A missing item is ErrNotFound; an item of
// another tenant is ErrWrongTenant (and no key of that tenant is fetched);
// an item that fails verification is ErrTampered.
func (s Scope[T]) Get(ctx context.Context, k Key, opts ...ReadOption) (*T, error) {
	var rc readConfig
	for _, o := range opts {
		o(&rc)
	}
	raw, err := s.getRaw(ctx, k, rc.consistent)
	if err != nil {
		return nil, err
	}
	return s.t.open(ctx, s.tenant, raw)
}

func (s Scope[T]) getRaw(ctx context.Context, k Key, consistent bool) (map[string]types.AttributeValue, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	km, err := s.keyMap(k)
	if err != nil {
		return nil, err
	}
	out, err := s.t.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.t.name), Key: km, ConsistentRead: aws.Bool(consistent),
	})
	if err != nil {
		return nil, fmt.Errorf("table: get: %w", ddbError("GetItem", err))
	}
	if out.Item == nil || IsClaimItem(out.Item) {
		return nil, fmt.Errorf("%w (%s)", ErrNotFound, s.t.schema.TypeName)
	}
	return out.Item, nil
}

// Create writes v, which must not exist yet (ErrAlreadyExists otherwise).
// With a version attribute, v is written with version 1 and v's version
// field is set to 1 on success. For a type with unique attributes the item
// and the claims of its values are written in one transaction; a value
// another item of the tenant holds is ErrUniqueTaken (see GetUnique).
func (s Scope[T]) Create(ctx context.Context, v *T) error {
	if s.t != nil && s.t.hasUnique() {
		return s.createUnique(ctx, v)
	}
	r, err := s.preparePut(ctx, v, modeCreate, nil)
	if err != nil {
		return err
	}
	if err := s.putItem(ctx, r, modeCreate); err != nil {
		return err
	}
	s.t.setVersion(v, r.newVersion)
	return nil
}

// Put writes v. Without a version attribute it overwrites any item of the
// scope's tenant with the same key. With one, it is an optimistic-locking
// write: v's version 0 means "new item" (condition: none exists), version n
// means "replace version n" (condition: stored version = n); the item is
// written with version n+1, v's field is set to n+1 on success, and a lost
// race is ErrConflict. An item whose tenant field is not the scope's tenant
// is ErrWrongTenant; over 400 KB after sealing, ErrItemTooLarge (before any
// call). When the partition key is not the tenant attribute, Put never
// overwrites another tenant's item (ErrWrongTenant). A write whose answer
// was lost and that the SDK resent is recognised by its signature and
// reported as success; ErrUnknownOutcome means the resend found another
// writer's item, so whether the first attempt applied is unknown.
//
// For a type with unique attributes, Put first reads the stored item
// (strongly consistent) and writes in one transaction the item, on
// condition that the stored one is still the one read, and the claims of
// the values that change (ErrUniqueTaken for a taken value); without a
// version attribute a lost race is retried on a fresh read.
func (s Scope[T]) Put(ctx context.Context, v *T) error {
	if s.t != nil && s.t.hasUnique() {
		return s.putUnique(ctx, v)
	}
	r, err := s.preparePut(ctx, v, modePut, nil)
	if err != nil {
		return err
	}
	if err := s.putItem(ctx, r, modePut); err != nil {
		return err
	}
	s.t.setVersion(v, r.newVersion)
	return nil
}

// deleteCond builds the condition of a delete or condition check.
func (s Scope[T]) deleteCond(wc writeConfig, mustExist bool) expr {
	var c expr
	t := s.t
	pk := func() string { return c.name(t.schema.PartitionKey) }
	if mustExist || wc.mustExist || wc.ifVersion != nil {
		c.add("attribute_exists(" + pk() + ")")
		if !t.pkIsTenant {
			c.add(c.name(t.schema.Tenant) + " = " + c.value(S(s.tenant)))
		}
	} else if !t.pkIsTenant {
		c.add("attribute_not_exists(" + pk() + ") OR " + c.name(t.schema.Tenant) + " = " + c.value(S(s.tenant)))
	}
	if wc.ifVersion != nil && t.schema.Version != "" {
		c.add(c.name(t.schema.Version) + " = " + c.value(N(*wc.ifVersion)))
	}
	return c
}

// Delete deletes the item with key k. It is a no-op for a missing item
// unless MustExist (then ErrNotFound); IfVersion makes it conditional
// (ErrConflict when the stored version differs, ErrNotFound when no item
// exists). When the partition key is not the tenant attribute, the delete
// carries a condition on the tenant, so it never removes another tenant's
// item (ErrWrongTenant). With MustExist or IfVersion the delete is sent as a
// one-item transaction with an idempotency token (twice the write capacity
// of DeleteItem), so a resend after a lost answer is answered as the first
// attempt was and a delete that succeeded is never reported as ErrNotFound.
// For a type with unique attributes, Delete reads the item (strongly
// consistent) and deletes it, on condition that it is unchanged, with the
// claims of its values in one transaction.
func (s Scope[T]) Delete(ctx context.Context, k Key, opts ...WriteOption) error {
	if err := s.check(); err != nil {
		return err
	}
	var wc writeConfig
	for _, o := range opts {
		o(&wc)
	}
	if s.t.hasUnique() {
		return s.deleteUnique(ctx, k, wc)
	}
	if wc.ifVersion != nil && s.t.schema.Version == "" {
		return fmt.Errorf("table: IfVersion on %s, which has no version attribute", s.t.schema.TypeName)
	}
	km, err := s.keyMap(k)
	if err != nil {
		return err
	}
	c := s.deleteCond(wc, false)
	if wc.mustExist || wc.ifVersion != nil {
		return s.deleteOnce(ctx, km, c)
	}
	_, err = s.t.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                           aws.String(s.t.name),
		Key:                                 km,
		ConditionExpression:                 c.String(),
		ExpressionAttributeNames:            c.names,
		ExpressionAttributeValues:           c.values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if cf, ok := ccf(err); ok {
		if cf.Item == nil {
			return fmt.Errorf("%w (%s)", ErrNotFound, s.t.schema.TypeName)
		}
		return s.conditionError(modePut, cf.Item, err)
	}
	if err != nil {
		return fmt.Errorf("table: delete: %w", ddbError("DeleteItem", err))
	}
	return nil
}

// deleteOnce sends a delete whose condition requires the item to exist as a
// one-item transaction with a fresh ClientRequestToken, so that a resend
// after a lost answer is answered as the first attempt was (see resend.go).
func (s Scope[T]) deleteOnce(ctx context.Context, km map[string]types.AttributeValue, c expr) error {
	return s.keyedWriteOnce(ctx, "delete", types.TransactWriteItem{Delete: &types.Delete{
		TableName:                           aws.String(s.t.name),
		Key:                                 km,
		ConditionExpression:                 c.String(),
		ExpressionAttributeNames:            c.names,
		ExpressionAttributeValues:           c.values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}})
}

// keyedWriteOnce sends w, a write addressed by key, with writeOnce and maps
// a failed condition with keyedConditionError.
func (s Scope[T]) keyedWriteOnce(ctx context.Context, what string, w types.TransactWriteItem) error {
	old, failed, err := s.t.writeOnce(ctx, w)
	switch {
	case err != nil:
		return fmt.Errorf("table: %s: %w", what, err)
	case failed:
		return s.keyedConditionError(old)
	}
	return nil
}
