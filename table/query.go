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
}

func (s Scope[T]) planQuery(in *QueryInput) (plannedQuery, error) {
	if err := s.check(); err != nil {
		return plannedQuery{}, err
	}
	t := s.t
	pkName, skName := t.schema.PartitionKey, t.schema.SortKey
	fetch := false
	if in.Index != "" {
		ix, ok := t.indexes[in.Index]
		if !ok {
			return plannedQuery{}, fmt.Errorf("table: index %q is not declared (use WithIndex)", in.Index)
		}
		pkName, skName = ix.PartitionKey, ix.SortKey
		if ix.Projection != types.ProjectionTypeAll {
			projected := []string{t.schema.PartitionKey, t.schema.SortKey, ix.PartitionKey, ix.SortKey}
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
	if in.Index != "" {
		q.IndexName = aws.String(in.Index)
	}
	if in.PageSize > 0 {
		q.Limit = aws.Int32(in.PageSize)
	}
	if in.ConsistentRead {
		q.ConsistentRead = aws.Bool(true)
	}
	return plannedQuery{in: q, binding: queryBinding(in, part), fetch: fetch}, nil
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

// page runs one query page and opens its items. Per-item failures are
// returned in errs aligned with nothing in items (items holds the good ones
// in order).
func (s Scope[T]) page(ctx context.Context, pq plannedQuery, start map[string]types.AttributeValue) (items []*T, errs []*ItemError, last map[string]types.AttributeValue, err error) {
	in := *pq.in
	in.ExclusiveStartKey = start
	out, err := s.t.client.Query(ctx, &in)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("table: query: %w", err)
	}
	raws := out.Items
	// Tenant check on what the query returned, before any key is fetched.
	keep := raws[:0:0]
	for _, it := range raws {
		if !scalarEqual(it[s.t.schema.Tenant], S(s.tenant)) {
			errs = append(errs, &ItemError{Key: s.t.keyOfItem(it), Err: ErrWrongTenant})
			continue
		}
		keep = append(keep, it)
	}
	if pq.fetch && len(keep) > 0 {
		keys := make([]map[string]types.AttributeValue, len(keep))
		for i, it := range keep {
			keys[i] = s.t.keyMapOfItem(it)
		}
		full, unprocessed, berr := s.t.batchGetRaw(ctx, keys, aws.ToBool(pq.in.ConsistentRead))
		if berr != nil {
			return nil, nil, nil, berr
		}
		if len(unprocessed) > 0 {
			return nil, nil, nil, &BatchError{Unprocessed: unprocessed}
		}
		keep = keep[:0]
		for _, it := range full {
			if it != nil { // deleted since the index was written
				keep = append(keep, it)
			}
		}
	}
	for _, it := range keep {
		v, oerr := s.t.open(ctx, s.tenant, it)
		if oerr != nil {
			errs = append(errs, &ItemError{Key: s.t.keyOfItem(it), Err: oerr})
			continue
		}
		items = append(items, v)
	}
	return items, errs, out.LastEvaluatedKey, nil
}

// Query returns the items of one partition (of the table or an index),
// verified and opened, as an iterator over all pages. An error for one item
// (tampered, wrong tenant) is yielded with a nil item as an *ItemError and
// iteration continues if the caller continues; a DynamoDB error is yielded
// last. in.Cursor starts after a page returned by QueryPage.
func (s Scope[T]) Query(ctx context.Context, in QueryInput) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		pq, err := s.planQuery(&in)
		if err != nil {
			yield(nil, err)
			return
		}
		var start map[string]types.AttributeValue
		if in.Cursor != "" {
			if start, err = s.decodeCursor(ctx, in.Cursor, pq.binding); err != nil {
				yield(nil, err)
				return
			}
		}
		for {
			items, errs, last, err := s.page(ctx, pq, start)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, e := range errs {
				if !yield(nil, e) {
					return
				}
			}
			for _, v := range items {
				if !yield(v, nil) {
					return
				}
			}
			if len(last) == 0 {
				return
			}
			start = last
		}
	}
}

// QueryPage returns one page of a query and the cursor of the next page.
// Any item that fails verification fails the page (as *ItemError).
func (s Scope[T]) QueryPage(ctx context.Context, in QueryInput) (Page[T], error) {
	pq, err := s.planQuery(&in)
	if err != nil {
		return Page[T]{}, err
	}
	var start map[string]types.AttributeValue
	if in.Cursor != "" {
		if start, err = s.decodeCursor(ctx, in.Cursor, pq.binding); err != nil {
			return Page[T]{}, err
		}
	}
	items, errs, last, err := s.page(ctx, pq, start)
	if err != nil {
		return Page[T]{}, err
	}
	if len(errs) > 0 {
		return Page[T]{}, errs[0]
	}
	c, err := s.encodeCursor(ctx, last, pq.binding)
	if err != nil {
		return Page[T]{}, err
	}
	return Page[T]{Items: items, Cursor: c}, nil
}
