package table

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
)

// maxTxOps is DynamoDB's limit of operations per transaction.
const maxTxOps = 100

type txBuilt struct {
	item      types.TransactWriteItem
	create    bool
	onSuccess func()
}

type txFunc func(ctx context.Context) (txBuilt, error)

func (f txFunc) buildTx(ctx context.Context) (txBuilt, error) { return f(ctx) }

func (s Scope[T]) txPut(v *T, mode writeMode) TxOp {
	return txFunc(func(ctx context.Context) (txBuilt, error) {
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
		item: types.TransactWriteItem{Put: &types.Put{
			TableName:                           aws.String(s.t.name),
			Item:                                r.item,
			ConditionExpression:                 r.cond.String(),
			ExpressionAttributeNames:            r.cond.names,
			ExpressionAttributeValues:           r.cond.values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		create:    mode == modeCreate,
		onSuccess: func() { s.t.setVersion(v, nv) },
	}
}

// TxPut is Put as one write of a transaction (see TransactWrite), with the
// same version and tenant conditions; v's version is set on success.
func (s Scope[T]) TxPut(v *T) TxOp { return s.txPut(v, modePut) }

// TxCreate is Create as one write of a transaction; a failure of its
// condition cancels the transaction with ErrAlreadyExists.
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
			item:      txUpdate(s.t.name, r.key, r.update, &r.cond),
			onSuccess: func() { s.t.setVersion(v, nv) },
		}, nil
	})
}

// TxDelete is Delete as one write of a transaction, with the same options
// and tenant condition.
func (s Scope[T]) TxDelete(k Key, opts ...WriteOption) TxOp {
	return s.txKeyed(k, opts, false, func(name *string, km map[string]types.AttributeValue, c expr) types.TransactWriteItem {
		return types.TransactWriteItem{Delete: &types.Delete{
			TableName: name, Key: km, ConditionExpression: c.String(),
			ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values,
		}}
	})
}

// TxConditionCheck requires, for the transaction to succeed, that the item
// with key k exists, belongs to the scope's tenant and (with IfVersion) has
// the given version.
func (s Scope[T]) TxConditionCheck(k Key, opts ...WriteOption) TxOp {
	return s.txKeyed(k, opts, true, func(name *string, km map[string]types.AttributeValue, c expr) types.TransactWriteItem {
		return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: name, Key: km, ConditionExpression: c.String(),
			ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values,
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
		return txBuilt{item: build(aws.String(s.t.name), km, s.deleteCond(wc, mustExist))}, nil
	})
}

// TransactWrite runs ops, of one or several tables of this library, as one
// DynamoDB transaction (at most 100 ops; ErrTooManyOps). Every item is
// sealed before the call. A cancelled transaction is a *TxError wrapping
// ErrAlreadyExists (a TxCreate's item exists) or ErrConflict (a version,
// tenant or existence condition failed, or a concurrent transaction).
func TransactWrite(ctx context.Context, client Client, ops ...TxOp) error {
	if len(ops) > maxTxOps {
		return fmt.Errorf("%w: %d > %d", ErrTooManyOps, len(ops), maxTxOps)
	}
	if len(ops) == 0 {
		return nil
	}
	built := make([]txBuilt, len(ops))
	items := make([]types.TransactWriteItem, len(ops))
	for i, op := range ops {
		b, err := op.buildTx(ctx)
		if err != nil {
			return fmt.Errorf("table: transaction op %d: %w", i, err)
		}
		built[i], items[i] = b, b.item
	}
	// A fresh token per call: DynamoDB answers a resend of the same request
	// (after a lost answer) as it answered the first, for ten minutes.
	_, err := client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items, ClientRequestToken: aws.String(uuid.NewString())})
	if err != nil {
		return txError(err, built)
	}
	for _, b := range built {
		if b.onSuccess != nil {
			b.onSuccess()
		}
	}
	return nil
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
	te := &TxError{Reasons: make([]string, len(tce.CancellationReasons))}
	sentinel := error(nil)
	for i, r := range tce.CancellationReasons {
		code := aws.ToString(r.Code)
		if code == "None" {
			code = ""
		} else if code != "" && !safeCode(code) {
			code = "Unrecognized" // only DynamoDB's codes are printed, never other text
		}
		te.Reasons[i] = code
		switch code {
		case "ConditionalCheckFailed":
			if i < len(built) && built[i].create {
				sentinel = ErrAlreadyExists
			} else if sentinel == nil {
				sentinel = ErrConflict
			}
		case "TransactionConflict":
			if sentinel == nil {
				sentinel = ErrConflict
			}
		}
	}
	if sentinel == nil {
		te.err = ddbError("", err)
	} else {
		te.err = fmt.Errorf("%w (%v)", sentinel, te.Reasons)
	}
	return te
}

// TxError reports a cancelled transaction: Reasons[i] is DynamoDB's
// cancellation code for ops[i] ("" when that op was fine).
type TxError struct {
	Reasons []string
	err     error
}

// Error names the cancellation codes, never item values.
func (e *TxError) Error() string { return "table: transaction cancelled: " + e.err.Error() }

// Unwrap returns ErrConflict, ErrAlreadyExists or the underlying error.
func (e *TxError) Unwrap() error { return e.err }

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
	if item == nil {
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
