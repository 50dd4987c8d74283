package table

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// ErrNotPlain: a plain-attribute operation (AddToCounter, SetPlain,
// RemovePlain) named an attribute the schema does not mark seal:"plain", or
// a key, tenant, version or reserved attribute. Nothing was sent.
var ErrNotPlain = errors.New("table: attribute is not a plain attribute of the schema")

// Update is a read-modify-write of the item with key k: it reads the item
// (strongly consistent), verifies and opens it, calls fn on it, seals the
// result under the current key and writes it back on condition that it did
// not change in between (its version, or when the schema has none, its
// header, which is unique per write). A lost race is ErrConflict;
// RetryConflicts retries. fn must not be nil, must not change the primary
// key (ErrKeyChanged) or the tenant (ErrWrongTenant); an error from fn
// aborts the update and is returned. The updated item is returned (with its
// new version).
//
// The write is an UpdateItem, not a whole-item put: it sets every signed
// and encrypted attribute, the header and the signature, removes covered
// attributes that are gone, and touches a plain (seal:"plain") attribute
// only when fn changed it. A plain attribute changed outside dynaseal
// between the read and the write (a TTL, a counter: see AddToCounter and
// SetPlain) is therefore never lost. A write whose answer was lost and that
// the SDK resent is recognised by its signature (see ErrUnknownOutcome).
func (s Scope[T]) Update(ctx context.Context, k Key, fn func(*T) error, opts ...UpdateOption) (*T, error) {
	if fn == nil {
		return nil, errors.New("table: Update needs a function (fn is nil)")
	}
	uc := updateConfig{attempts: 1, base: 5 * time.Millisecond, max: 200 * time.Millisecond}
	for _, o := range opts {
		o(&uc)
	}
	for attempt := 1; ; attempt++ {
		v, r, err := s.prepareUpdate(ctx, k, fn)
		if err == nil {
			err = s.updateItem(ctx, r)
			if err == nil {
				s.t.setVersion(v, r.newVersion)
				return v, nil
			}
		}
		if !errors.Is(err, ErrConflict) || attempt >= uc.attempts {
			return nil, err
		}
		s.t.obs.retry(ctx)
		if err := s.t.cfg.sleep(ctx, backoff(uc.base, uc.max, attempt)); err != nil {
			return nil, err
		}
	}
}

// updateReq is a sealed item to write over a stored one with UpdateItem.
type updateReq struct {
	putReq
	key    map[string]types.AttributeValue
	update string    // the UpdateExpression; names and values are in cond
	claims []txBuilt // unique-value claims that move with the write
}

// prepareUpdate reads, opens, applies fn, seals and builds the UpdateItem.
func (s Scope[T]) prepareUpdate(ctx context.Context, k Key, fn func(*T) error) (*T, updateReq, error) {
	if fn == nil {
		return nil, updateReq{}, errors.New("table: Update needs a function (fn is nil)")
	}
	raw, err := s.getRaw(ctx, k, true)
	if err != nil {
		return nil, updateReq{}, err
	}
	v, err := s.t.open(ctx, s.tenant, raw)
	if err != nil {
		return nil, updateReq{}, err
	}
	// The plain attributes as the codec writes the unchanged item: fn
	// changed a plain attribute iff its marshalled form differs from this.
	before, err := s.t.codec.Marshal(v)
	if err != nil {
		return nil, updateReq{}, fmt.Errorf("table: marshal %s: %w", s.t.schema.TypeName, err)
	}
	if err := fn(v); err != nil {
		return nil, updateReq{}, err
	}
	r, err := s.preparePut(ctx, v, modeUpdate, raw)
	if err != nil {
		return nil, updateReq{}, err
	}
	for _, name := range []string{s.t.schema.PartitionKey, s.t.schema.SortKey} {
		if name != "" && !scalarEqual(r.item[name], raw[name]) {
			return nil, updateReq{}, fmt.Errorf("%w (%s)", ErrKeyChanged, name)
		}
	}
	u := s.t.buildUpdate(r, raw, before)
	if s.t.hasUnique() {
		cur, err := s.plainOf(v)
		if err != nil {
			return nil, updateReq{}, err
		}
		if u.claims, err = s.claimOps(ctx, u.key, before, cur); err != nil {
			return nil, updateReq{}, err
		}
	}
	return v, u, nil
}

// buildUpdate turns the sealed item r, replacing stored, into an UpdateItem:
// SET every covered attribute, the header and the signature, and each plain
// attribute whose value differs from before (the unchanged item as
// marshalled); REMOVE every other stored attribute that the sealed item no
// longer has, except plain ones fn left alone. r.cond's names and values are
// shared with the update expression.
func (t *Table[T]) buildUpdate(r putReq, stored, before map[string]types.AttributeValue) updateReq {
	actions := t.schema.Actions()
	isKey := func(n string) bool { return n == t.schema.PartitionKey || (n != "" && n == t.schema.SortKey) }
	names := make([]string, 0, len(r.item))
	for n := range r.item {
		names = append(names, n)
	}
	slices.Sort(names) // a deterministic expression
	c := &r.cond
	var set, remove []string
	for _, n := range names {
		if isKey(n) {
			continue
		}
		if a, ok := actions[n]; ok && a == attrcrypt.ActionPlain && !attrcrypt.IsReserved(n) && reflect.DeepEqual(r.item[n], before[n]) {
			continue // fn did not change it: leave whatever is stored
		}
		set = append(set, c.name(n)+" = "+c.value(r.item[n]))
	}
	gone := make([]string, 0)
	for n := range stored {
		if _, ok := r.item[n]; ok || isKey(n) {
			continue
		}
		if a, ok := actions[n]; ok && a == attrcrypt.ActionPlain {
			if _, had := before[n]; !had {
				continue // absent in the item fn got, so fn did not remove it
			}
		}
		gone = append(gone, n)
	}
	slices.Sort(gone)
	for _, n := range gone {
		remove = append(remove, c.name(n))
	}
	var b strings.Builder
	b.WriteString("SET ")
	b.WriteString(strings.Join(set, ", "))
	if len(remove) > 0 {
		b.WriteString(" REMOVE ")
		b.WriteString(strings.Join(remove, ", "))
	}
	return updateReq{putReq: r, key: t.keyMapOfItem(r.item), update: b.String()}
}

func (s Scope[T]) updateItem(ctx context.Context, r updateReq) error {
	if len(r.claims) > 0 {
		return s.sendOwn(ctx, txBuilt{
			item:  txUpdate(s.t.name, r.key, r.update, &r.cond),
			extra: r.claims,
			failed: func(old map[string]types.AttributeValue) error {
				return s.conditionError(modeUpdate, old, errConditionFailed)
			},
		}, r.item)
	}
	var at attempts
	old, failed, err := s.t.sendUpdate(ctx, r.key, r.update, &r.cond, at.option)
	switch {
	case failed:
		return s.writeConditionError(modeUpdate, r.item, old, &at, err)
	case err != nil:
		return fmt.Errorf("table: update: %w", err)
	}
	return nil
}

// sendUpdate sends an UpdateItem of key with condition c. On a failed
// condition it reports failed, with the stored item DynamoDB returned (nil
// when none exists) and the error.
func (t *Table[T]) sendUpdate(ctx context.Context, key map[string]types.AttributeValue, update string, c *expr, optFns ...func(*dynamodb.Options)) (map[string]types.AttributeValue, bool, error) {
	_, err := t.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(t.name),
		Key:                                 key,
		UpdateExpression:                    aws.String(update),
		ConditionExpression:                 c.String(),
		ExpressionAttributeNames:            c.names,
		ExpressionAttributeValues:           c.values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}, optFns...)
	if cf, ok := ccf(err); ok {
		return cf.Item, true, err
	}
	return nil, false, ddbError("UpdateItem", err)
}

// txUpdate is an UpdateItem of key as a transaction write on table name.
func txUpdate(name string, key map[string]types.AttributeValue, update string, c *expr) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                           aws.String(name),
		Key:                                 key,
		UpdateExpression:                    aws.String(update),
		ConditionExpression:                 c.String(),
		ExpressionAttributeNames:            c.names,
		ExpressionAttributeValues:           c.values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}
}

// plainAttr checks that attr is a plain attribute of the schema.
func (s Scope[T]) plainAttr(attr string) error {
	sch := s.t.schema
	switch {
	case attr == "" || attrcrypt.IsReserved(attr) || attr == sch.PartitionKey || attr == sch.SortKey || attr == sch.Tenant || attr == sch.Version:
		return fmt.Errorf("%w: %q is a key, tenant, version or reserved attribute", ErrNotPlain, attr)
	}
	a, ok := sch.Actions()[attr]
	if !ok {
		return fmt.Errorf("%w: %q is not in the schema of %s", ErrNotPlain, attr, sch.TypeName)
	}
	if slices.Contains(sch.Unique, attr) {
		return fmt.Errorf("%w: %q is unique; change it with Update, which keeps its claim", ErrNotPlain, attr)
	}
	if a != attrcrypt.ActionPlain {
		return fmt.Errorf("%w: %q is %s", ErrNotPlain, attr, a)
	}
	return nil
}

// plainUpdate builds an UpdateItem of one plain attribute of an existing
// item of the scope's tenant.
func (s Scope[T]) plainUpdate(k Key, attr string, update func(c *expr, name string) string) (*expr, map[string]types.AttributeValue, string, error) {
	if err := s.check(); err != nil {
		return nil, nil, "", err
	}
	if err := s.plainAttr(attr); err != nil {
		return nil, nil, "", err
	}
	km, err := s.keyMap(k)
	if err != nil {
		return nil, nil, "", err
	}
	c := &expr{}
	c.add("attribute_exists(" + c.name(s.t.schema.PartitionKey) + ")")
	if !s.t.pkIsTenant {
		c.add(c.name(s.t.schema.Tenant) + " = " + c.value(S(s.tenant)))
	}
	return c, km, update(c, c.name(attr)), nil
}

// keyedConditionError maps the failed condition of a write addressed by key
// (a delete, a plain-attribute update): no stored item is ErrNotFound.
func (s Scope[T]) keyedConditionError(old map[string]types.AttributeValue) error {
	if old == nil {
		return fmt.Errorf("%w (%s)", ErrNotFound, s.t.schema.TypeName)
	}
	return s.conditionError(modePut, old, errConditionFailed)
}

var errConditionFailed = errors.New("the conditional request failed")

// SetPlain sets the plain (seal:"plain") attribute attr of the existing
// item with key k to v with one UpdateItem, without reading the item or
// touching its signature, for example a TTL or a status maintained outside
// the signed content. The attribute must be plain in the schema
// (ErrNotPlain); a missing item is ErrNotFound (no item is created), an
// item of another tenant ErrWrongTenant. It is idempotent.
func (s Scope[T]) SetPlain(ctx context.Context, k Key, attr string, v types.AttributeValue) error {
	if v == nil {
		return errors.New("table: SetPlain needs a value (use RemovePlain to remove)")
	}
	c, km, upd, err := s.plainUpdate(k, attr, func(c *expr, n string) string { return "SET " + n + " = " + c.value(v) })
	if err != nil {
		return err
	}
	return s.plainUpdateItem(ctx, km, upd, c)
}

// SetExpiry sets the plain attribute attr (a DynamoDB TTL attribute) to at,
// in epoch seconds. See SetPlain.
func (s Scope[T]) SetExpiry(ctx context.Context, k Key, attr string, at time.Time) error {
	return s.SetPlain(ctx, k, attr, N(at.Unix()))
}

// RemovePlain removes the plain attribute attr of the existing item with
// key k, without touching its signature. See SetPlain.
func (s Scope[T]) RemovePlain(ctx context.Context, k Key, attr string) error {
	c, km, upd, err := s.plainUpdate(k, attr, func(_ *expr, n string) string { return "REMOVE " + n })
	if err != nil {
		return err
	}
	return s.plainUpdateItem(ctx, km, upd, c)
}

func (s Scope[T]) plainUpdateItem(ctx context.Context, km map[string]types.AttributeValue, upd string, c *expr) error {
	old, failed, err := s.t.sendUpdate(ctx, km, upd, c)
	switch {
	case failed:
		return s.keyedConditionError(old)
	case err != nil:
		return fmt.Errorf("table: update: %w", err)
	}
	return nil
}

// AddToCounter atomically adds delta to the plain (seal:"plain") number
// attribute attr of the existing item with key k (a missing attribute
// counts as 0), without reading the item or touching its signature. It is
// applied exactly once even when the SDK resends after a lost answer: it is
// sent as a one-item transaction with an idempotency token, which costs
// twice the write capacity of an UpdateItem. The attribute must be plain in
// the schema (ErrNotPlain); a missing item is ErrNotFound (no item is
// created), an item of another tenant ErrWrongTenant.
func (s Scope[T]) AddToCounter(ctx context.Context, k Key, attr string, delta int64) error {
	c, km, upd, err := s.plainUpdate(k, attr, func(c *expr, n string) string { return "ADD " + n + " " + c.value(N(delta)) })
	if err != nil {
		return err
	}
	return s.keyedWriteOnce(ctx, "add to counter", txUpdate(s.t.name, km, upd, c))
}
