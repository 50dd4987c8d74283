package table

import (
	"context"
	"fmt"
	"iter"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// plannedQuery is a QueryInput turned into a DynamoDB request.
type plannedQuery struct {
	in      *dynamodb.QueryInput
	binding []byte
	fetch   bool // index items are partial: fetch full items by primary key
	// indexKeys are the index's key attributes (index queries only).
	indexKeys [2]string
	// match, when set (Find), keeps only the opened items it accepts; the
	// others are beacon collisions, dropped and counted.
	match func(map[string]types.AttributeValue) bool
}

func (s Scope[T]) planQuery(in *QueryInput) (plannedQuery, error) {
	if err := s.check(); err != nil {
		return plannedQuery{}, err
	}
	t := s.t
	pkName, skName := t.schema.PartitionKey, t.schema.SortKey
	fetch := false
	var projected []string // attributes of a partial index; nil: every attribute
	if in.Index != "" {
		ix, ok := t.indexes[in.Index]
		if !ok {
			return plannedQuery{}, fmt.Errorf("table: index %q is not declared (use WithIndex)", in.Index)
		}
		pkName, skName = ix.PartitionKey, ix.SortKey
		if ix.Projection != types.ProjectionTypeAll {
			projected = []string{t.schema.PartitionKey, t.schema.SortKey, ix.PartitionKey, ix.SortKey}
			if ix.Projection == types.ProjectionTypeInclude {
				projected = append(projected, ix.Include...)
			}
			if !slices.Contains(projected, t.schema.Tenant) {
				return plannedQuery{}, fmt.Errorf("%w: index %q has a %s projection without the tenant attribute %q; project it (INCLUDE %s) or use projection ALL",
					ErrIndexProjection, ix.Name, ix.Projection, t.schema.Tenant, t.schema.Tenant)
			}
			fetch = true
		}
	}
	part := in.Partition
	if pkName == t.schema.Tenant {
		if isNilValue(part) {
			part = S(s.tenant)
		} else if !scalarEqual(part, S(s.tenant)) {
			return plannedQuery{}, fmt.Errorf("table: query partition is not the scope's tenant: %w", ErrWrongTenant)
		}
	} else if part == nil {
		return plannedQuery{}, fmt.Errorf("table: query needs a partition value (%s is not the tenant attribute)", pkName)
	}
	if !isKeyScalar(part) {
		return plannedQuery{}, fmt.Errorf("table: partition value must be S, N or B")
	}
	var kc expr
	kc.add(kc.name(pkName) + " = " + kc.value(part))
	// A sort key that is the tenant attribute goes into the key condition
	// (DynamoDB refuses filters on key attributes).
	tenantIsSort := skName != "" && skName == t.schema.Tenant
	if tenantIsSort {
		if in.Sort.op != "" {
			return plannedQuery{}, fmt.Errorf("table: sort condition on %s, the tenant attribute: the scope supplies it", skName)
		}
		kc.add(kc.name(skName) + " = " + kc.value(S(s.tenant)))
	} else if in.Sort.op != "" {
		if skName == "" {
			return plannedQuery{}, fmt.Errorf("table: sort condition on a key schema without a sort key")
		}
		sk := kc.name(skName)
		switch in.Sort.op {
		case "between":
			kc.add(sk + " BETWEEN " + kc.value(in.Sort.values[0]) + " AND " + kc.value(in.Sort.values[1]))
		case "begins_with":
			kc.add("begins_with(" + sk + ", " + kc.value(in.Sort.values[0]) + ")")
		default:
			kc.add(sk + " " + in.Sort.op + " " + kc.value(in.Sort.values[0]))
		}
	}
	q := &dynamodb.QueryInput{
		TableName:                 aws.String(t.name),
		KeyConditionExpression:    aws.String(joinAnd(kc.parts)),
		ExpressionAttributeNames:  kc.names,
		ExpressionAttributeValues: kc.values,
		ScanIndexForward:          aws.Bool(!in.Descending),
	}
	if pkName != t.schema.Tenant && !tenantIsSort {
		// The partition spans tenants: let DynamoDB drop other tenants'
		// items; every item is checked again before any key is fetched.
		q.FilterExpression = aws.String(kc.name(t.schema.Tenant) + " = " + kc.value(S(s.tenant)))
	}
	if cond, names, values, ok, err := t.filterExpr(in, projected); err != nil {
		return plannedQuery{}, err
	} else if ok {
		if q.FilterExpression, err = mergeFilter(&kc, q.FilterExpression, cond, names, values); err != nil {
			return plannedQuery{}, err
		}
		q.ExpressionAttributeNames, q.ExpressionAttributeValues = kc.names, kc.values
	}
	if in.Index != "" {
		q.IndexName = aws.String(in.Index)
	}
	if in.PageSize > 0 {
		q.Limit = aws.Int32(in.PageSize)
	}
	if in.ConsistentRead {
		q.ConsistentRead = aws.Bool(true)
	}
	pq := plannedQuery{in: q, binding: queryBinding(in, part), fetch: fetch}
	if in.Index != "" {
		pq.indexKeys = [2]string{pkName, skName}
	}
	return pq, nil
}

func joinAnd(parts []string) string {
	s := ""
	for i, p := range parts {
		if i > 0 {
			s += " AND "
		}
		s += p
	}
	return s
}

// pageResult is one item of a query page, in DynamoDB's order: the opened
// item or its error, and the start key that resumes the query after it.
type pageResult[T any] struct {
	v     *T
	err   *ItemError
	after map[string]types.AttributeValue
}

// page runs one DynamoDB Query call and opens its items, in order. limit
// overrides the planned Limit when positive; withAfter fills each result's
// start key (QueryPage needs them to cut a page).
func (s Scope[T]) page(ctx context.Context, pq plannedQuery, start map[string]types.AttributeValue, limit int32, withAfter bool) (res []pageResult[T], last map[string]types.AttributeValue, err error) {
	in := *pq.in
	in.ExclusiveStartKey = start
	if limit > 0 {
		in.Limit = aws.Int32(limit)
	}
	out, err := s.t.client.Query(ctx, &in)
	if err != nil {
		return nil, nil, fmt.Errorf("table: query: %w", ddbError("Query", err))
	}
	// Tenant check on what the query returned, before any key is fetched.
	// An item of another tenant (DynamoDB's filter lets none through; this
	// is defence in depth) is skipped, not reported: its key would tell the
	// caller that another tenant's item exists.
	keep := out.Items[:0:0]
	for _, it := range out.Items {
		if scalarEqual(it[s.t.schema.Tenant], S(s.tenant)) {
			keep = append(keep, it)
		}
	}
	afters := make([]map[string]types.AttributeValue, len(keep))
	if withAfter {
		for i, it := range keep {
			afters[i] = s.t.startKey(pq, it)
		}
	}
	if pq.fetch && len(keep) > 0 {
		keys := make([]map[string]types.AttributeValue, len(keep))
		for i, it := range keep {
			keys[i] = s.t.keyMapOfItem(it)
		}
		full, unprocessed, berr := s.t.batchGetRaw(ctx, keys, aws.ToBool(pq.in.ConsistentRead))
		if berr != nil {
			return nil, nil, berr
		}
		if len(unprocessed) > 0 {
			return nil, nil, &BatchError{Unprocessed: unprocessed}
		}
		keep = full // aligned with keys; nil where deleted since the index was written
	}
	for i, it := range keep {
		if it == nil || IsClaimItem(it) {
			continue
		}
		v, keepIt, oerr := s.openMatch(ctx, pq, it)
		if !keepIt {
			continue
		}
		r := pageResult[T]{v: v, after: afters[i]}
		if oerr != nil {
			r.v, r.err = nil, &ItemError{Key: s.t.keyOfItem(it), Err: oerr}
		}
		res = append(res, r)
	}
	return res, out.LastEvaluatedKey, nil
}

// openMatch verifies and opens a raw item of a query; with pq.match it
// drops (keep false) a verified item the match refuses, counting a beacon
// collision.
func (s Scope[T]) openMatch(ctx context.Context, pq plannedQuery, it map[string]types.AttributeValue) (v *T, keep bool, err error) {
	if pq.match == nil {
		v, err = s.t.open(ctx, s.tenant, it)
		return v, true, err
	}
	m, err := s.t.openMap(ctx, s.tenant, it)
	if err != nil {
		return nil, true, err
	}
	if !pq.match(m) {
		s.t.obs.collision(ctx)
		return nil, false, nil
	}
	v, err = s.t.decode(m)
	return v, true, err
}

// startKey is the ExclusiveStartKey that resumes pq after the raw item it:
// the table's key attributes, and the index's for an index query.
func (t *Table[T]) startKey(pq plannedQuery, it map[string]types.AttributeValue) map[string]types.AttributeValue {
	m := t.keyMapOfItem(it)
	for _, a := range pq.indexKeys {
		if a != "" {
			m[a] = it[a]
		}
	}
	return m
}

// Query returns the items of one partition (of the table or an index),
// verified and opened, as an iterator over all pages. An error for one item
// (tampered, key errors) is yielded with a nil item as an *ItemError, in
// the item's place, and iteration continues if the caller continues; a
// DynamoDB error is yielded last. in.Cursor starts after a page returned by
// QueryPage. Items of other tenants in a shared partition are never
// yielded, not even as errors.
func (s Scope[T]) Query(ctx context.Context, in QueryInput) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		pq, err := s.planQuery(&in)
		if err != nil {
			yield(nil, err)
			return
		}
		s.runQuery(ctx, pq, &in, yield)
	}
}

// runQuery yields the items of the planned query pq over all pages,
// starting after in.Cursor (see Query).
func (s Scope[T]) runQuery(ctx context.Context, pq plannedQuery, in *QueryInput, yield func(*T, error) bool) {
	var start map[string]types.AttributeValue
	if in.Cursor != "" {
		var err error
		if start, err = s.decodeCursor(ctx, in.Cursor, pq.binding); err != nil {
			yield(nil, err)
			return
		}
	}
	for {
		res, last, err := s.page(ctx, pq, start, 0, false)
		if err != nil {
			yield(nil, err)
			return
		}
		for _, r := range res {
			var ok bool
			if r.err != nil {
				ok = yield(nil, r.err)
			} else {
				ok = yield(r.v, nil)
			}
			if !ok {
				return
			}
		}
		if len(last) == 0 {
			return
		}
		start = last
	}
}

// maxPageCalls bounds the DynamoDB calls of one QueryPage. A call's Limit
// is PageSize, doubled on each further call (at most maxPageLimit), and
// DynamoDB reads at most 1 MB per call.
const (
	maxPageCalls = 8
	maxPageLimit = 1000
)

// QueryPage returns one page of a query and the cursor of the next page.
// Any item that fails verification fails the page (as *ItemError).
//
// DynamoDB applies Limit before the tenant filter of a shared partition,
// so a call can come back with fewer of the scope's items than PageSize,
// or none, and a cursor: that would let a tenant count other tenants'
// items. QueryPage therefore keeps reading (Limit doubling from PageSize)
// until the page holds PageSize items (PageSize 0: at least one) or the
// query is exhausted, and returns at most PageSize items with a cursor
// after the last one. The bound is maxPageCalls (8) calls: only when 8
// calls evaluated PageSize×255 items (at most 1000 per call, and at most
// 8 MB) without filling the page does it return a short (possibly empty)
// page with a cursor, which tells the caller no more than that other
// items fill that much of the partition.
func (s Scope[T]) QueryPage(ctx context.Context, in QueryInput) (Page[T], error) {
	pq, err := s.planQuery(&in)
	if err != nil {
		return Page[T]{}, err
	}
	return s.queryPage(ctx, pq, &in)
}

// queryPage returns one page of the planned query pq (see QueryPage).
func (s Scope[T]) queryPage(ctx context.Context, pq plannedQuery, in *QueryInput) (Page[T], error) {
	var start map[string]types.AttributeValue
	if in.Cursor != "" {
		var err error
		if start, err = s.decodeCursor(ctx, in.Cursor, pq.binding); err != nil {
			return Page[T]{}, err
		}
	}
	want := int(in.PageSize)
	var items []*T
	var after map[string]types.AttributeValue
	limit := in.PageSize
	for call := 1; ; call++ {
		res, last, err := s.page(ctx, pq, start, limit, true)
		if err != nil {
			return Page[T]{}, err
		}
		full := false
		for i, r := range res {
			if r.err != nil {
				return Page[T]{}, r.err
			}
			items = append(items, r.v)
			if want > 0 && len(items) == want {
				full = true
				// Resume after this item, unless it ends the query. (after
				// may hold an earlier call's LastEvaluatedKey: reset it, or
				// the next page would repeat this call's items.)
				after = nil
				if i < len(res)-1 || len(last) > 0 {
					after = r.after
				}
				break
			}
		}
		if full {
			break
		}
		after = last
		if len(last) == 0 || (want == 0 && len(items) > 0) || call >= maxPageCalls {
			break
		}
		start = last
		if limit > 0 {
			limit = min(limit*2, maxPageLimit)
		}
	}
	c, err := s.encodeCursor(ctx, after, pq.binding)
	if err != nil {
		return Page[T]{}, err
	}
	return Page[T]{Items: items, Cursor: c}, nil
}
