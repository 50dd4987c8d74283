package table

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// TxBuilder collects, for one attempt of ReadModifyWrite, the items read
// (with the version or header each had) and the writes queued. It is not
// safe for concurrent use and is valid only inside the fn it was given to.
type TxBuilder struct {
	reads  map[string]*rmwRead
	order  []string
	writes []TxOp
	done   bool
}

// rmwRead is one item read through a TxBuilder and the condition that it
// is unchanged at commit: attr (the version attribute, or the header for a
// table without one) still equals val, or, when val is nil, no item exists.
type rmwRead struct {
	table  string
	key    map[string]types.AttributeValue
	pkAttr string
	attr   string
	val    types.AttributeValue
	raw    map[string]types.AttributeValue
	obs    *observer
}

// Write queues ops (TxPut, TxCreate, TxUpdate, TxDelete, TxConditionCheck of
// any scope) for the commit. A write of an item read through tx is also
// conditioned on that item being unchanged since the read.
func (tx *TxBuilder) Write(ops ...TxOp) { tx.writes = append(tx.writes, ops...) }

// rmwRef names one item: its table and primary key.
func rmwRef(table string, key map[string]types.AttributeValue) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(len(table)))
	b.WriteString(":")
	b.WriteString(table)
	for _, n := range slices.Sorted(maps.Keys(key)) {
		b.WriteString(strconv.Itoa(len(n)))
		b.WriteString(":")
		b.WriteString(n)
		writeScalar(&b, key[n])
	}
	return b.String()
}

// ReadIn reads the item with key k (strongly consistent) as part of tx,
// verifies and opens it like Get, and records its version (or header) so
// that the commit of tx requires it to be unchanged; a missing item is
// ErrNotFound and is recorded as absent, so the commit requires it to be
// still absent. Reading the same key again in the same attempt returns the
// item as first read.
func (s Scope[T]) ReadIn(ctx context.Context, tx *TxBuilder, k Key) (*T, error) {
	if tx == nil || tx.done {
		return nil, errors.New("table: ReadIn needs the TxBuilder of a running ReadModifyWrite")
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	km, err := s.keyMap(k)
	if err != nil {
		return nil, err
	}
	ref := rmwRef(s.t.name, km)
	r, ok := tx.reads[ref]
	if !ok {
		raw, err := s.getRaw(ctx, k, true)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		r = &rmwRead{table: s.t.name, key: km, pkAttr: s.t.schema.PartitionKey, raw: raw, obs: s.t.obs}
		if raw != nil {
			r.attr = attrcrypt.HeaderAttribute
			if s.t.schema.Version != "" {
				r.attr = s.t.schema.Version
			}
			r.val = raw[r.attr]
			if r.val == nil { // no version stored yet: the header is unique per write
				r.attr = attrcrypt.HeaderAttribute
				r.val = raw[r.attr]
			}
		}
		tx.reads[ref] = r
		tx.order = append(tx.order, ref)
	}
	if r.raw == nil {
		return nil, fmt.Errorf("%w (%s)", ErrNotFound, s.t.schema.TypeName)
	}
	return s.t.open(ctx, s.tenant, r.raw)
}

// cond is the condition that the read item is unchanged, with its own
// placeholders (#rmw, :rmw), which never clash with an op's #nN and :vN.
func (r *rmwRead) cond() (string, map[string]string, map[string]types.AttributeValue) {
	if r.val == nil {
		return "attribute_not_exists(#rmw)", map[string]string{"#rmw": r.pkAttr}, nil
	}
	return "#rmw = :rmw", map[string]string{"#rmw": r.attr}, map[string]types.AttributeValue{":rmw": r.val}
}

// unchanged reports whether old, the stored item DynamoDB returned with a
// failed condition, is still the item r read.
func (r *rmwRead) unchanged(old map[string]types.AttributeValue) bool {
	if r.val == nil || old == nil {
		return r.val == nil && old == nil
	}
	return scalarEqual(old[r.attr], r.val)
}

// ReadModifyWrite runs fn, which reads items through tx (Scope.ReadIn) and
// queues writes (tx.Write), then commits the writes as one transaction
// conditioned on every item read being unchanged: a write of a read item
// carries the condition itself, an item only read gets a condition check
// (an item read as missing must still be missing). When another writer
// changed a read item in between, or the transaction lost a race
// (ErrConflict), fn runs again on fresh reads, up to attempts times in all
// (at least once), with jittered backoff; fn must therefore have no effect
// other than its reads and queued writes. An error from fn aborts and is
// returned as is; a final conflict is returned as a *TxError matching
// ErrConflict. fn queuing no write commits nothing (the reads are still
// verified). At most 100 writes and checks fit in one commit (ErrTooManyOps).
//
// Example: moving money between two accounts reads both through tx,
// then queues TxPut of each with the new balances; a concurrent change of
// either makes the commit fail and fn rerun. (Unique values need no such
// code: the writes of a type with seal:"unique" fields keep their claims.)
func ReadModifyWrite(ctx context.Context, client Client, attempts int, fn func(ctx context.Context, tx *TxBuilder) error) error {
	if fn == nil || client == nil {
		return errors.New("table: ReadModifyWrite needs a client and a function")
	}
	for attempt := 1; ; attempt++ {
		tx, err := rmwOnce(ctx, client, fn)
		if err == nil || !errors.Is(err, ErrConflict) || attempt >= attempts {
			return err
		}
		tx.retried(ctx)
		if err := sleepCtx(ctx, backoff(5*time.Millisecond, 200*time.Millisecond, attempt)); err != nil {
			return err
		}
	}
}

// retried counts a retry once on each table read in the attempt.
func (tx *TxBuilder) retried(ctx context.Context) {
	seen := map[*observer]bool{}
	for _, ref := range tx.order {
		if o := tx.reads[ref].obs; !seen[o] {
			seen[o] = true
			o.retry(ctx)
		}
	}
}

func rmwOnce(ctx context.Context, client Client, fn func(context.Context, *TxBuilder) error) (*TxBuilder, error) {
	tx := &TxBuilder{reads: map[string]*rmwRead{}}
	err := fn(ctx, tx)
	tx.done = true
	if err != nil || len(tx.writes) == 0 {
		return tx, err
	}
	built := make([]txBuilt, 0, len(tx.writes)+len(tx.reads))
	written := map[string]bool{}
	for i, op := range tx.writes {
		b, err := op.buildTx(ctx)
		if err != nil {
			return tx, fmt.Errorf("table: transaction op %d: %w", i, err)
		}
		if r, ok := tx.reads[rmwRef(txTable(b.item), b.key)]; ok {
			ref := rmwRef(r.table, r.key)
			if written[ref] {
				return tx, fmt.Errorf("table: transaction op %d writes an item already written", i)
			}
			written[ref] = true
			b = r.guard(b)
		}
		built = append(built, b)
	}
	for _, ref := range tx.order {
		if !written[ref] {
			built = append(built, tx.reads[ref].check())
		}
	}
	if len(built) > maxTxOps {
		return tx, fmt.Errorf("%w: %d writes and checks > %d", ErrTooManyOps, len(built), maxTxOps)
	}
	return tx, sendTx(ctx, client, built)
}

// guard adds to b's condition that the read item is unchanged; a failure
// where it changed is ErrConflict, otherwise the op's own cause.
func (r *rmwRead) guard(b txBuilt) txBuilt {
	ce, names, values := txCondition(&b.item)
	part, n, v := r.cond()
	part = "(" + part + ")"
	if *ce != nil { // the op's expr.String: "(a) AND (b)"; more parentheses are refused as redundant
		part = **ce + " AND " + part
	}
	nn, vv := maps.Clone(*names), maps.Clone(*values)
	if nn == nil {
		nn = map[string]string{}
	}
	maps.Copy(nn, n)
	if v != nil {
		if vv == nil {
			vv = map[string]types.AttributeValue{}
		}
		maps.Copy(vv, v)
	}
	*ce, *names, *values = &part, nn, vv
	failed := b.failed
	b.failed = func(old map[string]types.AttributeValue) error {
		if !r.unchanged(old) || failed == nil {
			r.obs.conflict(context.Background())
			return fmt.Errorf("%w: an item read changed before the commit", ErrConflict)
		}
		return failed(old)
	}
	return b
}

// check is a condition check that the read item is unchanged.
func (r *rmwRead) check() txBuilt {
	c, names, values := r.cond()
	return txBuilt{
		key: r.key,
		obs: r.obs,
		item: types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: &r.table, Key: r.key, ConditionExpression: &c,
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		failed: func(map[string]types.AttributeValue) error {
			r.obs.conflict(context.Background())
			return fmt.Errorf("%w: an item read changed before the commit", ErrConflict)
		},
	}
}

// txTable is the table name of a transaction write.
func txTable(w types.TransactWriteItem) string {
	switch {
	case w.Put != nil:
		return *w.Put.TableName
	case w.Update != nil:
		return *w.Update.TableName
	case w.Delete != nil:
		return *w.Delete.TableName
	case w.ConditionCheck != nil:
		return *w.ConditionCheck.TableName
	}
	return ""
}

// txCondition points at the condition expression, names and values of a
// transaction write.
func txCondition(w *types.TransactWriteItem) (**string, *map[string]string, *map[string]types.AttributeValue) {
	switch {
	case w.Put != nil:
		return &w.Put.ConditionExpression, &w.Put.ExpressionAttributeNames, &w.Put.ExpressionAttributeValues
	case w.Update != nil:
		return &w.Update.ConditionExpression, &w.Update.ExpressionAttributeNames, &w.Update.ExpressionAttributeValues
	case w.Delete != nil:
		return &w.Delete.ConditionExpression, &w.Delete.ExpressionAttributeNames, &w.Delete.ExpressionAttributeValues
	default:
		return &w.ConditionCheck.ConditionExpression, &w.ConditionCheck.ExpressionAttributeNames, &w.ConditionCheck.ExpressionAttributeValues
	}
}
