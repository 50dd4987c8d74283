package table

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// ErrInvalidFilter: a query filter names an attribute DynamoDB cannot
// filter on meaningfully: an encrypted attribute (DynamoDB only sees its
// ciphertext), an attribute the schema does not declare (including nested
// paths and the engine's own attributes), or an attribute a KEYS_ONLY or
// INCLUDE index does not project.
var ErrInvalidFilter = errors.New("table: invalid query filter")

// filterExpr turns in.Filter into a filter expression on names and values
// of its own, checked against the schema; ok is false when no filter is set.
func (t *Table[T]) filterExpr(in *QueryInput, projected []string) (cond string, names map[string]string, values map[string]types.AttributeValue, ok bool, err error) {
	if !in.Filter.IsSet() {
		return "", nil, nil, false, nil
	}
	b, err := expression.NewBuilder().WithFilter(in.Filter).Build()
	if err != nil {
		// The builder's message can quote operand values; keep it out.
		return "", nil, nil, false, fmt.Errorf("%w: the filter does not build", ErrInvalidFilter)
	}
	names = b.Names()
	attrs := make([]string, 0, len(names))
	for _, a := range names {
		attrs = append(attrs, a)
	}
	sort.Strings(attrs)
	for _, a := range attrs {
		s, known := t.schema.Attribute(a)
		switch {
		case !known:
			return "", nil, nil, false, fmt.Errorf("%w: %q is not a top-level attribute of %s", ErrInvalidFilter, a, t.schema.TypeName)
		case s.Action == attrcrypt.ActionEncrypt:
			return "", nil, nil, false, fmt.Errorf("%w: %q is encrypted (seal:\"encrypt\"): DynamoDB only sees its ciphertext; filter on signed or plain attributes", ErrInvalidFilter, a)
		case projected != nil && !slices.Contains(projected, a):
			return "", nil, nil, false, fmt.Errorf("%w: %q is not projected by index %q", ErrInvalidFilter, a, in.Index)
		}
	}
	return *b.Filter(), names, b.Values(), true, nil
}

// mergeFilter ANDs the caller's filter (its own placeholders) into the
// engine's expression state and the planned query.
func mergeFilter(kc *expr, engine *string, cond string, names map[string]string, values map[string]types.AttributeValue) (*string, error) {
	if kc.names == nil {
		kc.names = map[string]string{}
	}
	if kc.values == nil {
		kc.values = map[string]types.AttributeValue{}
	}
	for k, v := range names {
		if _, dup := kc.names[k]; dup {
			return nil, fmt.Errorf("%w: placeholder %s collides with the engine's", ErrInvalidFilter, k)
		}
		kc.names[k] = v
	}
	for k, v := range values {
		if _, dup := kc.values[k]; dup {
			return nil, fmt.Errorf("%w: placeholder %s collides with the engine's", ErrInvalidFilter, k)
		}
		kc.values[k] = v
	}
	if engine == nil {
		return &cond, nil
	}
	s := "(" + *engine + ") AND (" + cond + ")"
	return &s, nil
}

// Count returns the number of items a query yields: items of the scope's
// tenant, matching in.Filter, each verified and opened. It does not use
// DynamoDB's Select=COUNT, which would count unverified items (tampered
// ones, and ones whose filtered attributes were altered) and, in a shared
// partition, items DynamoDB filtered on unverified data; Count reads and
// verifies every item instead, so it costs as much as the query. An item
// that fails verification fails the count (as *ItemError). in.Cursor
// starts the count after a page returned by QueryPage; PageSize only sets
// the DynamoDB Limit per call.
func (s Scope[T]) Count(ctx context.Context, in QueryInput) (int, error) {
	n := 0
	for _, err := range s.Query(ctx, in) {
		if err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// QueryOption adjusts a QueryInput built by a generated repository's
// Query, QueryPage or Count.
type QueryOption func(*QueryInput)

// Descending returns items in descending sort key order.
func Descending() QueryOption { return func(in *QueryInput) { in.Descending = true } }

// Filter sets the query's filter (QueryInput.Filter: signed or plain
// attributes only, ANDed with any filter set before and with the engine's
// tenant filter).
func Filter(cond expression.ConditionBuilder) QueryOption {
	return func(in *QueryInput) {
		if in.Filter.IsSet() {
			in.Filter = in.Filter.And(cond)
			return
		}
		in.Filter = cond
	}
}

// ApplyQueryOptions applies opts to in, in order, and returns it; the
// generated repositories call it.
func ApplyQueryOptions(in QueryInput, opts ...QueryOption) QueryInput {
	for _, o := range opts {
		o(&in)
	}
	return in
}
