package table

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
)

// maxTxOps is DynamoDB's limit of operations per transaction.
const maxTxOps = 100

type txBuilt struct {
	item      types.TransactWriteItem
	onSuccess func()
	// failed maps this op's failed condition to its sentinel error, given
	// the stored item DynamoDB returned with the cancellation (nil when no
	// item exists).
	failed func(old map[string]types.AttributeValue) error
	// key is the primary key of the item the op writes (ReadModifyWrite
	// matches it with the items it read).
	key map[string]types.AttributeValue
	// extra are the unique-value claim writes that go with the op, in the
	// same transaction (see unique.go).
	extra []txBuilt
	// obs counts a transaction conflict on the op's table (nil: none).
	obs *observer
}

type txFunc func(ctx context.Context) (txBuilt, error)

func (f txFunc) buildTx(ctx context.Context) (txBuilt, error) { return f(ctx) }

func (s Scope[T]) txPut(v *T, mode writeMode) TxOp {
	return txFunc(func(ctx context.Context) (txBuilt, error) {
		if s.t.hasUnique() {
			if mode == modeCreate {
				return s.txCreateUnique(ctx, v)
			}
			return s.txPutUnique(ctx, v)
		}
		r, err := s.preparePut(ctx, v, mode, nil)
		if err != nil {
			return txBuilt{}, err
		}
		return s.txBuiltPut(r, v, mode), nil
	})
}

func (s Scope[T]) txBuiltPut(r putReq, v *T, mode writeMode) txBuilt {
	nv := r.newVersion
	return txBuilt{
		obs: s.t.obs,
		item: types.TransactWriteItem{Put: &types.Put{
			TableName:                           aws.String(s.t.name),
			Item:                                r.item,
			ConditionExpression:                 r.cond.String(),
			ExpressionAttributeNames:            r.cond.names,
			ExpressionAttributeValues:           r.cond.values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		onSuccess: func() { s.t.setVersion(v, nv) },
		key:       s.t.keyMapOfItem(r.item),
		failed: func(old map[string]types.AttributeValue) error {
			if mode == modeCreate {
				return ErrAlreadyExists
			}
			return s.txCause(old, ErrConflict)
		},
	}
}

// txCause tells why a transaction op's condition on the scope's tenant
// failed, from the stored item old: another tenant's item is
// ErrWrongTenant, no item is absent, anything else (a version or header
// that moved) ErrConflict.
func (s Scope[T]) txCause(old map[string]types.AttributeValue, absent error) error {
	switch {
	case old == nil:
		return absent
	case !s.t.pkIsTenant && !scalarEqual(old[s.t.schema.Tenant], S(s.tenant)):
		return ErrWrongTenant
	default:
		s.t.obs.conflict(context.Background())
		return ErrConflict
	}
}

// TxPut is Put as one write of a transaction (see TransactWrite), with the
// same version and tenant conditions; v's version is set on success.
func (s Scope[T]) TxPut(v *T) TxOp { return s.txPut(v, modePut) }

// TxCreate is Create as one write of a transaction; a failure of its
// condition cancels the transaction with ErrAlreadyExists. For a type with
// unique attributes the claims of its values join the transaction (a taken
// value: ErrUniqueTaken, reported on this op). Likewise TxPut and TxDelete
// of such a type read the stored item when TransactWrite builds them and
// carry the claim writes as Put and Delete do, and TxUpdate moves the
// claims of the values fn changes. The claim writes count towards the 100
// writes of a transaction (ErrTooManyOps).
func (s Scope[T]) TxCreate(v *T) TxOp { return s.txPut(v, modeCreate) }

// TxUpdate is Update as one write of a transaction: when TransactWrite runs,
// the item is read (strongly consistent) and opened, fn changes it, and it
// is written back on condition that its version (or header) is unchanged,
// as Update writes it (plain attributes fn did not change are left alone).
func (s Scope[T]) TxUpdate(k Key, fn func(*T) error) TxOp {
	return txFunc(func(ctx context.Context) (txBuilt, error) {
		v, r, err := s.prepareUpdate(ctx, k, fn)
		if err != nil {
			return txBuilt{}, err
		}
		nv := r.newVersion
		return txBuilt{
			obs:       s.t.obs,
			item:      txUpdate(s.t.name, r.key, r.update, &r.cond),
			onSuccess: func() { s.t.setVersion(v, nv) },
			key:       r.key,
			failed:    func(old map[string]types.AttributeValue) error { return s.txCause(old, ErrNotFound) },
			extra:     r.claims,
		}, nil
	})
}

// TxDelete is Delete as one write of a transaction, with the same options
// and tenant condition. Its failure in a *TxError is ErrNotFound (MustExist
// or IfVersion, no item), ErrWrongTenant or ErrConflict (IfVersion).
func (s Scope[T]) TxDelete(k Key, opts ...WriteOption) TxOp {
	if s.t != nil && s.t.hasUnique() {
		return txFunc(func(ctx context.Context) (txBuilt, error) {
			var wc writeConfig
			for _, o := range opts {
				o(&wc)
			}
			b, _, err := s.txDeleteUnique(ctx, k, wc)
			return b, err
		})
	}
	return s.txKeyed(k, opts, false, func(name *string, km map[string]types.AttributeValue, c expr) types.TransactWriteItem {
		return types.TransactWriteItem{Delete: &types.Delete{
			TableName: name, Key: km, ConditionExpression: c.String(),
			ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}}
	})
}

// TxConditionCheck requires, for the transaction to succeed, that the item
// with key k exists, belongs to the scope's tenant and (with IfVersion) has
// the given version. Its failure in a *TxError matches ErrConditionFailed
// and, with it, the cause: ErrNotFound (no item), ErrWrongTenant (another
// tenant's item) or ErrConflict (another version).
func (s Scope[T]) TxConditionCheck(k Key, opts ...WriteOption) TxOp {
	return s.txKeyed(k, opts, true, func(name *string, km map[string]types.AttributeValue, c expr) types.TransactWriteItem {
		return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: name, Key: km, ConditionExpression: c.String(),
			ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}}
	})
}

// txKeyed builds a transaction write addressed by key alone (a delete or a
// condition check): the scope and key checks and the tenant/version
// condition are shared, build only picks the kind of write.
func (s Scope[T]) txKeyed(k Key, opts []WriteOption, mustExist bool, build func(*string, map[string]types.AttributeValue, expr) types.TransactWriteItem) TxOp {
	return txFunc(func(ctx context.Context) (txBuilt, error) {
		if err := s.check(); err != nil {
			return txBuilt{}, err
		}
		var wc writeConfig
		for _, o := range opts {
			o(&wc)
		}
		km, err := s.keyMap(k)
		if err != nil {
			return txBuilt{}, err
		}
		failed := func(old map[string]types.AttributeValue) error { return s.txCause(old, ErrNotFound) }
		if mustExist { // a condition check
			failed = func(old map[string]types.AttributeValue) error {
				return fmt.Errorf("%w: %w", ErrConditionFailed, s.txCause(old, ErrNotFound))
			}
		}
		return txBuilt{item: build(aws.String(s.t.name), km, s.deleteCond(wc, mustExist)), failed: failed, key: km, obs: s.t.obs}, nil
	})
}

// TransactWrite runs ops, of one or several tables of this library, as one
// DynamoDB transaction (at most 100 ops; ErrTooManyOps). Every item is
// sealed before the call. A cancelled transaction is a *TxError whose Ops
// give each failed op's cause, usable with errors.Is (see TxError).
func TransactWrite(ctx context.Context, client Client, ops ...TxOp) error {
	if len(ops) > maxTxOps {
		return fmt.Errorf("%w: %d > %d", ErrTooManyOps, len(ops), maxTxOps)
	}
	if len(ops) == 0 {
		return nil
	}
	built := make([]txBuilt, len(ops))
	for i, op := range ops {
		b, err := op.buildTx(ctx)
		if err != nil {
			return fmt.Errorf("table: transaction op %d: %w", i, err)
		}
		built[i] = b
	}
	return sendTx(ctx, client, built)
}

// sendTx sends built as one TransactWriteItems call and, on success, runs
// each op's onSuccess.
func sendTx(ctx context.Context, client Client, built []txBuilt) error {
	flat, owner := built, []int(nil)
	for _, b := range built {
		if len(b.extra) > 0 {
			flat, owner = flattenTx(built)
			break
		}
	}
	if len(flat) > maxTxOps {
		return fmt.Errorf("%w: %d writes with unique-value claims > %d", ErrTooManyOps, len(flat), maxTxOps)
	}
	items := make([]types.TransactWriteItem, len(flat))
	for i, b := range flat {
		items[i] = b.item
	}
	// A fresh token per call: DynamoDB answers a resend of the same request
	// (after a lost answer) as it answered the first, for ten minutes.
	_, err := client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items, ClientRequestToken: aws.String(uuid.NewString())})
	if err != nil {
		err = txError(err, flat)
		countTxConflicts(ctx, err, flat)
		if te, ok := err.(*TxError); ok && owner != nil {
			collapseTxError(te, owner, len(built))
		}
		return err
	}
	for _, b := range built {
		if b.onSuccess != nil {
			b.onSuccess()
		}
	}
	return nil
}

// countTxConflicts counts, once on each table of the transaction, a
// transaction that another transaction cancelled (TransactionConflict, for
// one op or for the whole call). Failed conditions are counted where their
// cause is told (txCause).
func countTxConflicts(ctx context.Context, err error, built []txBuilt) {
	te, ok := err.(*TxError)
	if !ok {
		return
	}
	var de *DynamoDBError
	conflict := errors.As(te.err, &de) && de.Code == "TransactionConflictException"
	for _, code := range te.Reasons {
		conflict = conflict || code == "TransactionConflict"
	}
	if !conflict {
		return
	}
	seen := map[*observer]bool{}
	for _, b := range built {
		if b.obs != nil && !seen[b.obs] {
			seen[b.obs] = true
			b.obs.conflict(ctx)
		}
	}
}

func txError(err error, built []txBuilt) error {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		var tcf *types.TransactionConflictException
		if errors.As(err, &tcf) {
			return &TxError{err: ddbError("", err)}
		}
		return fmt.Errorf("table: transaction: %w", ddbError("", err))
	}
	te := &TxError{Reasons: make([]string, len(tce.CancellationReasons)), Ops: make([]error, len(tce.CancellationReasons))}
	failed := false
	for i, r := range tce.CancellationReasons {
		code := aws.ToString(r.Code)
		if code == "None" {
			code = ""
		} else if code != "" && !safeCode(code) {
			code = "Unrecognized" // only DynamoDB's codes are printed, never other text
		}
		te.Reasons[i] = code
		if code == "" {
			continue
		}
		var cause error
		switch code {
		case "ConditionalCheckFailed":
			cause = ErrConflict
			if i < len(built) && built[i].failed != nil {
				cause = built[i].failed(r.Item)
			}
		case "TransactionConflict":
			cause = ErrConflict
		case "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
			cause = ErrUnavailable
		default: // ValidationError, ItemCollectionSizeLimitExceeded...

			cause = ErrRequestFailed
		}
		te.Ops[i] = &TxOpError{Index: i, Code: code, Err: cause}
		failed = true
	}
	if !failed {
		te.Ops = nil
		te.err = ddbError("", err)
	}
	return te
}

// TxError reports a cancelled transaction. Reasons[i] is DynamoDB's
// cancellation code for ops[i] ("" when that op was fine) and Ops[i] its
// error (a *TxOpError, nil when that op was fine). errors.Is on a TxError
// matches the sentinel of every failed op: ErrAlreadyExists (a TxCreate's
// item exists), ErrConditionFailed (a TxConditionCheck failed, with its
// cause), ErrConflict (a version changed, or a concurrent transaction),
// ErrWrongTenant (the stored item is another tenant's), ErrNotFound (a
// TxUpdate's item, or a TxDelete's with MustExist or IfVersion, is gone).
type TxError struct {
	Reasons []string
	Ops     []error
	err     error
}

// Error names the failed ops and their causes, never item values.
func (e *TxError) Error() string {
	if e.err != nil {
		return "table: transaction cancelled: " + e.err.Error()
	}
	var b strings.Builder
	b.WriteString("table: transaction cancelled")
	sep := ": "
	for _, op := range e.Ops {
		if op != nil {
			b.WriteString(sep)
			b.WriteString(op.Error())
			sep = "; "
		}
	}
	return b.String()
}

// Unwrap returns the error of every failed op, or the underlying error of a
// transaction that failed as a whole.
func (e *TxError) Unwrap() []error {
	if e.err != nil {
		return []error{e.err}
	}
	var errs []error
	for _, op := range e.Ops {
		if op != nil {
			errs = append(errs, op)
		}
	}
	return errs
}

// TxOpError is the failure of one op of a cancelled transaction.
type TxOpError struct {
	// Index is the op's position in the TransactWrite call.
	Index int
	// Code is DynamoDB's cancellation code ("ConditionalCheckFailed"...).
	Code string
	// Err is the sentinel cause (see TxError).
	Err error
}

// Error names the op, its code and cause.
func (e *TxOpError) Error() string {
	return "op " + strconv.Itoa(e.Index) + " (" + e.Code + "): " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *TxOpError) Unwrap() error { return e.Err }

// TxGet reads the item with key k as part of TransactGet; after TransactGet
// returns, the result holds the opened item (or nil if none exists).
func (s Scope[T]) TxGet(k Key) *TxRead[T] { return &TxRead[T]{s: s, key: k} }

// TxRead is one read of a TransactGet and, after it, its result.
type TxRead[T any] struct {
	s   Scope[T]
	key Key
	// Item is the opened item, or nil when none exists.
	Item *T
}

func (r *TxRead[T]) txGetItem() (types.TransactGetItem, error) {
	if err := r.s.check(); err != nil {
		return types.TransactGetItem{}, err
	}
	km, err := r.s.keyMap(r.key)
	if err != nil {
		return types.TransactGetItem{}, err
	}
	return types.TransactGetItem{Get: &types.Get{TableName: aws.String(r.s.t.name), Key: km}}, nil
}

func (r *TxRead[T]) txOpen(ctx context.Context, item map[string]types.AttributeValue) error {
	r.Item = nil
	if item == nil || IsClaimItem(item) {
		return nil
	}
	v, err := r.s.t.open(ctx, r.s.tenant, item)
	if err != nil {
		return err
	}
	r.Item = v
	return nil
}

// TransactGet reads the items of reads, of one or several tables, as one
// DynamoDB transaction (at most 100), and verifies and opens each into its
// TxRead (Item nil when none exists). Items that fail verification or
// belong to another tenant are reported, joined, with their position.
func TransactGet(ctx context.Context, client Client, reads ...TxGetOp) error {
	if len(reads) > maxTxOps {
		return fmt.Errorf("%w: %d > %d", ErrTooManyOps, len(reads), maxTxOps)
	}
	if len(reads) == 0 {
		return nil
	}
	items := make([]types.TransactGetItem, len(reads))
	for i, r := range reads {
		it, err := r.txGetItem()
		if err != nil {
			return fmt.Errorf("table: transaction read %d: %w", i, err)
		}
		items[i] = it
	}
	out, err := client.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: items})
	if err != nil {
		return txError(err, nil)
	}
	var errs []error
	for i, r := range reads {
		var item map[string]types.AttributeValue
		if i < len(out.Responses) {
			item = out.Responses[i].Item
		}
		if err := r.txOpen(ctx, item); err != nil {
			errs = append(errs, fmt.Errorf("table: transaction read %d: %w", i, err))
		}
	}
	return errors.Join(errs...)
}
