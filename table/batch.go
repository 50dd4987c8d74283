package table

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// DynamoDB's batch limits.
const (
	maxBatchGet   = 100
	maxBatchWrite = 25
)

// batchGetRaw reads keys (deduplicated) in chunks of 100, retrying
// unprocessed keys with backoff. The result is aligned with keys (nil: no
// item). Keys still unprocessed after the last attempt, or never sent
// because a call failed, are returned; err is the call error if any.
func (t *Table[T]) batchGetRaw(ctx context.Context, keys []map[string]types.AttributeValue, consistent bool) ([]map[string]types.AttributeValue, []Key, error) {
	result := make([]map[string]types.AttributeValue, len(keys))
	index := make(map[string][]int, len(keys))
	var uniq []map[string]types.AttributeValue
	for i, k := range keys {
		ks := t.keyString(k)
		if _, dup := index[ks]; !dup {
			uniq = append(uniq, k)
		}
		index[ks] = append(index[ks], i)
	}
	var unprocessed []Key
	var callErr error
	for off := 0; off < len(uniq); off += maxBatchGet {
		chunk := uniq[off:min(off+maxBatchGet, len(uniq))]
		if callErr != nil {
			for _, k := range chunk {
				unprocessed = append(unprocessed, t.keyOfItem(k))
			}
			continue
		}
		pending := chunk
		for attempt := 1; len(pending) > 0; attempt++ {
			out, err := t.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
				RequestItems: map[string]types.KeysAndAttributes{t.name: {Keys: pending, ConsistentRead: aws.Bool(consistent)}},
			})
			if err != nil {
				callErr = fmt.Errorf("table: batch get: %w", ddbError("BatchGetItem", err))
				break
			}
			for _, it := range out.Responses[t.name] {
				for _, i := range index[t.keyString(it)] {
					result[i] = it
				}
			}
			pending = out.UnprocessedKeys[t.name].Keys
			if len(pending) == 0 || attempt >= t.cfg.batchAttempts {
				break
			}
			if err := t.cfg.sleep(ctx, backoff(t.cfg.backoffBase, t.cfg.backoffMax, attempt)); err != nil {
				callErr = err
				break
			}
		}
		for _, k := range pending {
			unprocessed = append(unprocessed, t.keyOfItem(k))
		}
	}
	return result, unprocessed, callErr
}

// BatchGet reads the items with keys, any number of them, in chunks of 100,
// retrying unprocessed keys with exponential backoff and jitter (see
// WithBatchRetry). The result is aligned with keys: result[i] is nil when
// keys[i] has no item. Keys still unprocessed after the last attempt, and
// items that fail on their own (tampered, wrong tenant: no key of another
// tenant is fetched), are reported in a *BatchError; the items that did
// open are still returned.
func (s Scope[T]) BatchGet(ctx context.Context, keys []Key, opts ...ReadOption) ([]*T, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	var rc readConfig
	for _, o := range opts {
		o(&rc)
	}
	kms := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		km, err := s.keyMap(k)
		if err != nil {
			return nil, fmt.Errorf("table: key %d: %w", i, err)
		}
		kms[i] = km
	}
	raws, unprocessed, err := s.t.batchGetRaw(ctx, kms, rc.consistent)
	out := make([]*T, len(keys))
	be := &BatchError{Unprocessed: unprocessed, Err: err}
	opened := map[string]*T{}
	for i, raw := range raws {
		if raw == nil || IsClaimItem(raw) {
			continue
		}
		ks := s.t.keyString(raw)
		if v, ok := opened[ks]; ok {
			out[i] = v
			continue
		}
		v, oerr := s.t.open(ctx, s.tenant, raw)
		if oerr != nil {
			be.Failed = append(be.Failed, ItemError{Key: keys[i], Err: oerr})
			continue
		}
		opened[ks] = v
		out[i] = v
	}
	if be.Err != nil || len(be.Unprocessed) > 0 || len(be.Failed) > 0 {
		return out, be
	}
	return out, nil
}

// BatchWrite puts and deletes any number of items, in chunks of 25,
// retrying unprocessed writes with exponential backoff and jitter (see
// WithBatchRetry). BatchWriteItem takes no conditions: puts are
// unconditional (no optimistic locking; the version written is the item's
// version + 1 and is set on the item after success); use Put or
// TransactWrite when that matters. A key may appear once per call. Items
// that cannot be sealed (wrong tenant, too large) are reported in Failed and
// the rest is written; writes still unprocessed after the last attempt are
// returned with their keys in a *BatchError, never dropped. On a table whose
// partition key is not the tenant attribute, BatchWrite needs
// WithUnguardedBatchWrite. A type with unique attributes is refused with
// ErrUniqueUnsupported, since unconditional writes cannot keep its claims.
func (s Scope[T]) BatchWrite(ctx context.Context, puts []*T, deletes []Key) error {
	if err := s.check(); err != nil {
		return err
	}
	t := s.t
	if t.hasUnique() && len(puts)+len(deletes) > 0 {
		return fmt.Errorf("%w: BatchWrite of %s, which has unique attributes (BatchWriteItem takes no conditions); use Create, Put, Delete or TransactWrite", ErrUniqueUnsupported, t.schema.TypeName)
	}
	if !t.pkIsTenant && !t.cfg.unguarded {
		return fmt.Errorf("table: BatchWrite on %s cannot guard the tenant (the partition key is not the tenant attribute); see WithUnguardedBatchWrite", t.name)
	}
	type req struct {
		wr      types.WriteRequest
		key     Key
		onWrite func()
	}
	be := &BatchError{}
	var reqs []req
	for _, v := range puts {
		sl, err := s.seal(ctx, v, -1)
		if err == nil {
			err = t.checkItemKey(sl.item)
		}
		if err != nil {
			var k Key
			if m, merr := marshalKey(t, v); merr == nil {
				k = t.keyOfItem(m)
			}
			be.Failed = append(be.Failed, ItemError{Key: k, Err: err})
			continue
		}
		v, nv := v, sl.newVersion
		reqs = append(reqs, req{
			wr:      types.WriteRequest{PutRequest: &types.PutRequest{Item: sl.item}},
			key:     t.keyOfItem(sl.item),
			onWrite: func() { t.setVersion(v, nv) },
		})
	}
	for _, k := range deletes {
		km, err := s.keyMap(k)
		if err != nil {
			be.Failed = append(be.Failed, ItemError{Key: k, Err: err})
			continue
		}
		reqs = append(reqs, req{wr: types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: km}}, key: t.keyOfItem(km)})
	}
	seen := make(map[string]bool, len(reqs))
	for _, r := range reqs {
		ks := t.keyString(writeKey(r.wr))
		if seen[ks] {
			return fmt.Errorf("table: BatchWrite names one key twice (DynamoDB refuses duplicate keys in a batch); nothing was written")
		}
		seen[ks] = true
	}
	for off := 0; off < len(reqs); off += maxBatchWrite {
		chunk := reqs[off:min(off+maxBatchWrite, len(reqs))]
		if be.Err != nil {
			for _, r := range chunk {
				be.Unprocessed = append(be.Unprocessed, r.key)
			}
			continue
		}
		byKey := make(map[string]req, len(chunk))
		pending := make([]types.WriteRequest, len(chunk))
		for i, r := range chunk {
			pending[i] = r.wr
			byKey[t.keyString(writeKey(r.wr))] = r
		}
		for attempt := 1; len(pending) > 0; attempt++ {
			out, err := t.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{t.name: pending},
			})
			if err != nil && apiCode(err) == "ValidationException" {
				// One write DynamoDB finds invalid refuses the whole call:
				// send this chunk's writes one by one, so every valid one
				// lands and only the invalid one is reported.
				for _, wr := range pending {
					r := byKey[t.keyString(writeKey(wr))]
					if werr := t.writeOne(ctx, wr); werr != nil {
						be.Failed = append(be.Failed, ItemError{Key: r.key, Err: werr})
					} else if r.onWrite != nil {
						r.onWrite()
					}
				}
				pending = nil
				break
			}
			if err != nil {
				be.Err = fmt.Errorf("table: batch write: %w", ddbError("BatchWriteItem", err))
				break
			}
			left := out.UnprocessedItems[t.name]
			leftKeys := make(map[string]bool, len(left))
			for _, wr := range left {
				leftKeys[t.keyString(writeKey(wr))] = true
			}
			for _, wr := range pending {
				ks := t.keyString(writeKey(wr))
				if !leftKeys[ks] {
					if r := byKey[ks]; r.onWrite != nil {
						r.onWrite()
					}
				}
			}
			pending = left
			if len(pending) == 0 || attempt >= t.cfg.batchAttempts {
				break
			}
			if err := t.cfg.sleep(ctx, backoff(t.cfg.backoffBase, t.cfg.backoffMax, attempt)); err != nil {
				be.Err = err
				break
			}
		}
		for _, wr := range pending {
			be.Unprocessed = append(be.Unprocessed, byKey[t.keyString(writeKey(wr))].key)
		}
	}
	if be.Err != nil || len(be.Unprocessed) > 0 || len(be.Failed) > 0 {
		return be
	}
	return nil
}

func writeKey(wr types.WriteRequest) map[string]types.AttributeValue {
	if wr.PutRequest != nil {
		return wr.PutRequest.Item
	}
	return wr.DeleteRequest.Key
}

// writeOne sends one write of a batch on its own, unconditional as in the
// batch. A refusal is ErrInvalidItem with DynamoDB's error code only (its
// message may quote values).
func (t *Table[T]) writeOne(ctx context.Context, wr types.WriteRequest) error {
	var err error
	if wr.PutRequest != nil {
		_, err = t.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.name), Item: wr.PutRequest.Item})
	} else {
		_, err = t.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(t.name), Key: wr.DeleteRequest.Key})
	}
	switch code := apiCode(err); {
	case err == nil:
		return nil
	case code == "ValidationException":
		return fmt.Errorf("%w: %w", ErrInvalidItem, ddbError("", err))
	}
	return fmt.Errorf("table: batch write item: %w", ddbError("", err))
}

// apiCode is the error code of an AWS API error in err's chain, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// marshalKey marshals v to find its key for a failure report (nil: none).
func marshalKey[T any](t *Table[T], v *T) (map[string]types.AttributeValue, error) {
	if v == nil {
		return nil, errors.New("table: nil item")
	}
	return t.codec.Marshal(v)
}
