package table

import (
	"context"
	"crypto/subtle"
	"errors"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/uuid"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// Lost responses and resends.
//
// When DynamoDB applies a conditional write but its answer is lost (a
// dropped connection, a 5xx from a proxy), the SDK sends the same request
// again, and the resend fails its condition against our own write. The
// engine tells the cases apart as follows:
//
//   - Put, Create and Update write a sealed item whose signature is unique
//     per write (the header carries a fresh random salt). Every conditional
//     write asks for the stored item on a failed condition
//     (ReturnValuesOnConditionCheckFailure ALL_OLD); when its signature is
//     the one just written, the write is ours and is reported as success.
//   - When the stored item is someone else's but the request was sent more
//     than once, an earlier attempt may have been applied and then
//     overwritten: Put and Update report ErrUnknownOutcome (not ErrConflict,
//     so that no retry loop applies a change twice). Create reports
//     ErrAlreadyExists: the item that exists is not ours, whichever attempt
//     got there first.
//   - A delete leaves nothing to compare, so a Delete whose condition
//     requires the item to exist (MustExist, IfVersion) is sent as a
//     one-item TransactWriteItems with a ClientRequestToken: DynamoDB
//     answers a resend within ten minutes as it answered the first, so a
//     delete that succeeded is never reported as ErrNotFound. Such a delete
//     costs twice the write capacity of a DeleteItem. A Delete without those
//     options is idempotent as it is.
//   - TransactWrite sets a random ClientRequestToken on every call, for the
//     same reason.

// attempts counts the HTTP attempts of one call: as a Finalize middleware
// after the SDK's retry middleware it runs once per attempt. A Client
// wrapper that ignores the option functions leaves it at zero, read as one
// attempt. It is its own middleware, so counting costs few allocations.
type attempts struct{ n atomic.Int32 }

// option returns the per-call option that installs the counter.
func (a *attempts) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, a.install)
}

func (a *attempts) install(st *middleware.Stack) error { return st.Finalize.Add(a, middleware.After) }

// ID names the middleware.
func (a *attempts) ID() string { return "dynasealAttempts" }

// HandleFinalize counts one attempt.
func (a *attempts) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	a.n.Add(1)
	return next.HandleFinalize(ctx, in)
}

// resent reports whether the request was sent more than once.
func (a *attempts) resent() bool { return a.n.Load() > 1 }

// ownWrite reports whether stored is the item written (same signature).
func ownWrite(stored, written map[string]types.AttributeValue) bool {
	a, ok := stored[attrcrypt.SignatureAttribute].(*types.AttributeValueMemberB)
	if !ok {
		return false
	}
	b, ok := written[attrcrypt.SignatureAttribute].(*types.AttributeValueMemberB)
	return ok && len(a.Value) > 0 && subtle.ConstantTimeCompare(a.Value, b.Value) == 1
}

// writeOnce sends one write as a one-item transaction with a fresh
// ClientRequestToken, so that a resend is answered as the first attempt
// was. failed reports a failed condition, with the stored item DynamoDB
// returned (nil when none exists).
func (t *Table[T]) writeOnce(ctx context.Context, w types.TransactWriteItem) (old map[string]types.AttributeValue, failed bool, err error) {
	_, err = t.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		ClientRequestToken: aws.String(uuid.NewString()),
		TransactItems:      []types.TransactWriteItem{w},
	})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) && len(tce.CancellationReasons) == 1 && aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
		return tce.CancellationReasons[0].Item, true, nil
	}
	if err != nil {
		return nil, false, txError(err, nil)
	}
	return nil, false, nil
}
