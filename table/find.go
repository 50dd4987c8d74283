package table

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// Find returns the scope's items whose attribute attr (an encrypted
// attribute with a beacon, seal:"encrypt,beacon") equals v after the
// beacon's normalisation, as Query returns items. It queries the first
// declared index whose partition key is attr's beacon with the key
// condition beacon = BeaconValue(attr, v), verifies and opens every item,
// and keeps only those whose decrypted attr normalises to the same bytes
// as v: items that share the truncated beacon but hold another value
// (collisions) are dropped, never returned, and counted
// (MetricBeaconCollisions). An item that fails verification is yielded as
// an *ItemError, as Query does.
//
// opts apply as for a generated repository's Query (Descending, Filter).
// An attribute without a beacon, or without an index keyed on its beacon,
// is ErrNoBeaconIndex; a v of another type than the attribute's is
// ErrInvalidSearchValue. A tenant that never had a beacon key has no
// beacons, so Find yields nothing; a tenant whose keys were shredded gets
// one error matching ErrKeyShredded and no items.
func (s Scope[T]) Find(ctx context.Context, attr string, v types.AttributeValue, opts ...QueryOption) iter.Seq2[*T, error] {
	in := ApplyQueryOptions(QueryInput{}, opts...)
	return func(yield func(*T, error) bool) {
		pq, err := s.planFind(ctx, attr, v, &in)
		if err != nil {
			if !noBeaconKey(err) {
				yield(nil, err)
			}
			return
		}
		s.runQuery(ctx, pq, &in, yield)
	}
}

// FindPage returns one page of Find and the cursor of the next page, as
// QueryPage does. in.Index may name the beacon index to use (it must have
// attr's beacon as partition key); in.Partition must be nil (the beacon
// is the partition); in.Sort applies to the index's sort key, if any;
// PageSize, Descending, Filter and Cursor work as for QueryPage. Because
// collisions are dropped after DynamoDB's Limit, a page may hold fewer
// items than PageSize (the call bound of QueryPage still holds), and an
// empty page may come with a cursor.
func (s Scope[T]) FindPage(ctx context.Context, attr string, v types.AttributeValue, in QueryInput) (Page[T], error) {
	pq, err := s.planFind(ctx, attr, v, &in)
	if err != nil {
		if noBeaconKey(err) {
			return Page[T]{}, nil
		}
		return Page[T]{}, err
	}
	return s.queryPage(ctx, pq, &in)
}

// FindCompound returns the scope's items whose compound beacon compound
// (declared with _ struct{} `seal:"compound=NAME,parts=a+b"`) matches
// parts, the values of its leading parts in order. A part with a beacon is
// given as its plaintext value; any other part as its stored string or
// number.
//
// With every part, it queries an index whose partition key is the
// compound (equality), or else one whose sort key is the compound and
// whose partition key is the tenant attribute (sort key equality). With
// fewer parts (at least one) it needs the latter and matches the prefix
// (begins_with on the compound, ending with the separator, so a part
// never matches a longer value). Every returned item is verified, opened
// and compared part by part with parts (beacon parts after their
// normalisation, plaintext parts exactly, numbers canonically); items
// that match only through a truncated beacon are dropped and counted as
// collisions. Errors and options are as for Find; an index that cannot
// serve the given parts is ErrNoBeaconIndex.
func (s Scope[T]) FindCompound(ctx context.Context, compound string, parts []types.AttributeValue, opts ...QueryOption) iter.Seq2[*T, error] {
	in := ApplyQueryOptions(QueryInput{}, opts...)
	return func(yield func(*T, error) bool) {
		pq, err := s.planFindCompound(ctx, compound, parts, &in)
		if err != nil {
			if !noBeaconKey(err) {
				yield(nil, err)
			}
			return
		}
		s.runQuery(ctx, pq, &in, yield)
	}
}

// FindCompoundPage returns one page of FindCompound, as FindPage does for
// Find. in.Index may name the index; with an index whose sort key is the
// compound and whose partition key is not the tenant attribute, in.Partition
// gives the partition value; otherwise in.Partition must be nil. in.Sort
// must be unset (the compound is the condition).
func (s Scope[T]) FindCompoundPage(ctx context.Context, compound string, parts []types.AttributeValue, in QueryInput) (Page[T], error) {
	pq, err := s.planFindCompound(ctx, compound, parts, &in)
	if err != nil {
		if noBeaconKey(err) {
			return Page[T]{}, nil
		}
		return Page[T]{}, err
	}
	return s.queryPage(ctx, pq, &in)
}

// noBeaconKey reports whether err says the tenant never had a beacon key
// (not found, and not shredded): such a tenant has no beacons, so a
// search finds nothing.
func noBeaconKey(err error) bool {
	return errors.Is(err, tenantkeys.ErrKeyNotFound) && !errors.Is(err, tenantkeys.ErrKeyShredded)
}

// searchIndexes lists the table's indexes in declaration order: the
// schema's, then those of WithIndex not in the schema.
func (t *engine) searchIndexes() []Index {
	out := make([]Index, 0, len(t.indexes))
	for _, name := range t.indexOrder {
		out = append(out, t.indexes[name])
	}
	return out
}

// pickIndex returns in.Index when it satisfies ok, or else the first
// declared index that does.
func (t *engine) pickIndex(in *QueryInput, ok func(Index) bool, what string) (Index, error) {
	if in.Index != "" {
		ix, found := t.indexes[in.Index]
		if !found || !ok(ix) {
			return Index{}, fmt.Errorf("%w: index %q cannot serve a search of %s", ErrNoBeaconIndex, in.Index, what)
		}
		return ix, nil
	}
	for _, ix := range t.searchIndexes() {
		if ok(ix) {
			return ix, nil
		}
	}
	return Index{}, fmt.Errorf("%w: no declared index serves a search of %s (declare one with index=NAME on the field, or a blank field _ struct{} `seal:\"index=NAME,pk=...\"`)", ErrNoBeaconIndex, what)
}

// planFind plans the index query of Find: index, beacon partition, and
// the exactness check.
func (s Scope[T]) planFind(ctx context.Context, attr string, v types.AttributeValue, in *QueryInput) (plannedQuery, error) {
	if err := s.check(); err != nil {
		return plannedQuery{}, err
	}
	t := s.t
	b, ok := t.schema.BeaconOf(attr)
	if !ok {
		return plannedQuery{}, fmt.Errorf("%w: attribute %q has no beacon (seal:\"encrypt,beacon\")", ErrNoBeaconIndex, attr)
	}
	if in.Partition != nil {
		return plannedQuery{}, fmt.Errorf("table: Find supplies the partition (the beacon); leave QueryInput.Partition nil")
	}
	ix, err := t.pickIndex(in, func(ix Index) bool { return ix.PartitionKey == b.Attribute }, "attribute "+attr)
	if err != nil {
		return plannedQuery{}, err
	}
	want, err := t.searchValue(attr, v, b.Normalize)
	if err != nil {
		return plannedQuery{}, err
	}
	part, err := s.BeaconValue(ctx, attr, v)
	if err != nil {
		return plannedQuery{}, err
	}
	in.Index, in.Partition = ix.Name, part
	pq, err := s.planQuery(in)
	if err != nil {
		return plannedQuery{}, err
	}
	pq.binding = lp(lp(pq.binding, "find "+attr), string(want))
	pq.match = func(m map[string]types.AttributeValue) bool {
		return normalizedEqual(m[b.Source], b.Normalize, want)
	}
	return pq, nil
}

// planFindCompound plans the index query of FindCompound.
func (s Scope[T]) planFindCompound(ctx context.Context, compound string, parts []types.AttributeValue, in *QueryInput) (plannedQuery, error) {
	if err := s.check(); err != nil {
		return plannedQuery{}, err
	}
	t := s.t
	c, err := t.compoundNamed(compound, len(parts))
	if err != nil {
		return plannedQuery{}, err
	}
	if in.Sort.op != "" {
		return plannedQuery{}, fmt.Errorf("table: FindCompound supplies the key condition on %s; leave QueryInput.Sort unset", compound)
	}
	all := len(parts) == len(c.Parts)
	asPartition := func(ix Index) bool { return all && ix.PartitionKey == compound }
	asSort := func(ix Index) bool {
		return ix.SortKey == compound && (ix.PartitionKey == t.schema.Tenant) == (in.Partition == nil)
	}
	what := fmt.Sprintf("compound %s with %d of its %d parts", compound, len(parts), len(c.Parts))
	either := func(ix Index) bool { return asPartition(ix) || asSort(ix) }
	ix, err := t.pickIndex(in, either, what)
	if in.Index == "" && err == nil && !asPartition(ix) {
		if pix, perr := t.pickIndex(in, asPartition, what); perr == nil {
			ix = pix // an index keyed by the compound comes first
		}
	}
	if err != nil {
		return plannedQuery{}, err
	}
	value, want, err := s.compoundSearch(ctx, c, parts)
	if err != nil {
		return plannedQuery{}, err
	}
	in.Index = ix.Name
	switch {
	case asPartition(ix):
		if in.Partition != nil {
			return plannedQuery{}, fmt.Errorf("table: FindCompound supplies the partition (the compound); leave QueryInput.Partition nil")
		}
		in.Partition = S(value)
	case all:
		in.Sort = Equal(S(value))
	default:
		in.Sort = BeginsWith(S(value))
	}
	pq, err := s.planQuery(in)
	if err != nil {
		return plannedQuery{}, err
	}
	pq.binding = lp(pq.binding, "find compound "+compound)
	for _, w := range want {
		pq.binding = lp(pq.binding, string(w))
	}
	pq.match = func(m map[string]types.AttributeValue) bool {
		for i, w := range want {
			var norm attrcrypt.Normalization
			if b, ok := t.schema.BeaconOf(c.Parts[i]); ok {
				norm = b.Normalize
			}
			if !normalizedEqual(m[c.Parts[i]], norm, w) {
				return false
			}
		}
		return true
	}
	return pq, nil
}

// normalizedEqual reports whether the opened value v normalises to want.
func normalizedEqual(v types.AttributeValue, norm attrcrypt.Normalization, want []byte) bool {
	if !present(v) {
		return false
	}
	got, err := attrcrypt.NormalizedValue(v, norm)
	return err == nil && bytes.Equal(got, want)
}

// derivedKey reports whether name is one of the schema's beacons or
// compound beacons, which may key a declared index.
func derivedKey(s *schema.Schema, name string) bool {
	if _, ok := s.BeaconStored(name); ok {
		return true
	}
	_, ok := s.CompoundNamed(name)
	return ok
}
