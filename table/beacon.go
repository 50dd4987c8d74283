package table

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// ErrNoBeaconIndex: a search (Find, FindPage, FindCompound,
// FindCompoundPage, BeaconValue, CompoundValue) named an attribute without
// a beacon, a compound beacon the schema does not declare, or one that no
// declared index can serve as asked. Nothing was sent.
var ErrNoBeaconIndex = errors.New("table: no beacon or beacon index for the search")

// ErrBeaconKey: the tenant's beacon key is not one the engine can use (a
// beacon key is version 1 of class tenantkeys.BeaconClass(class), never
// rotated). Nothing was written.
var ErrBeaconKey = errors.New("table: unusable beacon key")

// ErrInvalidSearchValue: a searched value does not have the stored type of
// its attribute, or a compound beacon part cannot be joined unambiguously
// (a string part other than the last holding U+001F, the separator). The
// value itself is never quoted.
var ErrInvalidSearchValue = errors.New("table: value cannot be searched or indexed")

// beaconVersion is the version a beacon key has: beacon keys are not
// rotated, so that beacons and claims stay valid across data key
// rotations. The one exception is a tenant shredded and reopened
// (tenantkeys ReopenAfterShred): version 1 is shredded with everything it
// indexed, and the key created after the reopen (a later version) indexes
// what is written from then on.
const beaconVersion = 1

// beaconKeyForWrite returns the tenant's beacon key for a write: its
// current key of the beacon class, created on first use when the provider
// does that. It must be version 1, or, for a reopened tenant, a later one
// with version 1 shredded; anything else (a rotated beacon key) would
// orphan the beacons already written and is refused with ErrBeaconKey.
// The caller zeroes the key.
func (t *engine) beaconKeyForWrite(ctx context.Context, tenant string) (attrcrypt.Key, error) {
	class := tenantkeys.BeaconClass(t.class)
	sctx, end := t.obs.keySpan(ctx, class, 0)
	k, err := t.keys.CurrentKey(sctx, tenant, class)
	end(err)
	if err != nil {
		return attrcrypt.Key{}, fmt.Errorf("table: beacon key: %w", err)
	}
	if k.Ref.Tenant != tenant || k.Ref.Class != class {
		k.Zero()
		return attrcrypt.Key{}, fmt.Errorf("%w: the provider answered for another tenant or class", ErrBeaconKey)
	}
	if k.Ref.Version != beaconVersion && !t.beaconReopened(ctx, tenant) {
		v := k.Ref.Version
		k.Zero()
		return attrcrypt.Key{}, fmt.Errorf("%w: the beacon key of class %q is at version %d while version %d is live; beacon keys are never rotated (the beacons written under version %d would no longer be found)", ErrBeaconKey, class, v, beaconVersion, beaconVersion)
	}
	return k, nil
}

// beaconReopened reports whether version 1 of the tenant's beacon key is
// shredded: the tenant was shredded and reopened, so its current beacon
// key is the one made after the reopen.
func (t *engine) beaconReopened(ctx context.Context, tenant string) bool {
	k, err := t.keyByRef(ctx, attrcrypt.KeyRef{Tenant: tenant, Class: tenantkeys.BeaconClass(t.class), Version: beaconVersion})
	k.Zero()
	return errors.Is(err, tenantkeys.ErrKeyShredded)
}

// beaconKeyForRead returns the tenant's beacon key for a search: version 1
// by reference, so that a search of a tenant without one creates no key
// (the error then matches tenantkeys.ErrKeyNotFound). When version 1 is
// shredded it asks for the current key, which for a tenant shredded and
// not reopened is refused with an error matching ErrKeyShredded, and for a
// reopened tenant is its new beacon key. The caller zeroes it.
func (t *engine) beaconKeyForRead(ctx context.Context, tenant string) (attrcrypt.Key, error) {
	class := tenantkeys.BeaconClass(t.class)
	k, err := t.keyByRef(ctx, attrcrypt.KeyRef{Tenant: tenant, Class: class, Version: beaconVersion})
	if errors.Is(err, tenantkeys.ErrKeyShredded) {
		sctx, end := t.obs.keySpan(ctx, class, 0)
		cur, cerr := t.keys.CurrentKey(sctx, tenant, class)
		end(cerr)
		if cerr == nil && cur.Ref.Tenant == tenant && cur.Ref.Class == class && cur.Ref.Version > beaconVersion {
			return cur, nil
		}
		cur.Zero()
	}
	if err != nil {
		return attrcrypt.Key{}, fmt.Errorf("table: beacon key: %w", err)
	}
	return k, nil
}

// hasSearch reports whether the schema stores beacons or compound beacons.
func (t *engine) hasSearch() bool {
	return len(t.schema.Beacons) > 0 || len(t.schema.Compounds) > 0
}

// present reports whether v is a stored value (not absent, not NULL).
func present(v types.AttributeValue) bool {
	switch v.(type) {
	case nil, *types.AttributeValueMemberNULL:
		return false
	}
	return true
}

// addBeacons sets the beacon and compound beacon attributes of the
// marshalled item m of tenant before it is sealed. Whatever m held under
// those names (a caller's value, a value read back from the table) is
// discarded: they are always recomputed from the item. A beacon whose
// source is absent, and a compound with an absent part, are left out, so
// the item drops out of their (sparse) indexes.
func (t *engine) addBeacons(ctx context.Context, tenant string, m map[string]types.AttributeValue) error {
	sch := t.schema
	for _, name := range t.derived {
		delete(m, name)
	}
	key, err := t.beaconKeyForWrite(ctx, tenant)
	if err != nil {
		return err
	}
	defer key.Zero()
	var hexBuf [4]string
	hexes := hexBuf[:0:len(hexBuf)] // beacon hex per entry of sch.Beacons; "" when absent
	for _, b := range sch.Beacons {
		v := m[b.Source]
		if !present(v) {
			hexes = append(hexes, "")
			continue
		}
		h, err := t.beacon(&key, b, v)
		if err != nil {
			return err
		}
		hexes = append(hexes, h)
		m[b.Attribute] = S(tenant + attrcrypt.IndexSeparator + h)
	}
	for _, c := range sch.Compounds {
		v, ok, err := t.compoundValue(tenant, c, func(i int, part string) (string, bool, error) {
			for j, b := range sch.Beacons {
				if b.Source == part {
					return hexes[j], hexes[j] != "", nil
				}
			}
			if !present(m[part]) {
				return "", false, nil
			}
			s, err := plainPart(m[part], i == len(c.Parts)-1)
			if err != nil {
				return "", false, fmt.Errorf("table: compound %s, part %s: %w", c.Attribute, part, err)
			}
			return s, true, nil
		})
		if err != nil {
			return err
		}
		if ok {
			m[c.Attribute] = S(v)
		}
	}
	return nil
}

// beacon computes the beacon hex of v for b under the tenant's beacon key,
// with the table's cached Searcher of (key, b.Source).
func (t *engine) beacon(key *attrcrypt.Key, b schema.Beacon, v types.AttributeValue) (string, error) {
	sr, err := t.searchers.get(key, t.logical, b.Source)
	if err == nil {
		var h string
		if h, err = sr.Beacon(v, b.Normalize, b.Bits); err == nil {
			return h, nil
		}
	}
	return "", fmt.Errorf("table: beacon of %s: %w", b.Source, scrubBeaconError(err))
}

// compoundValue joins the tenant and the parts of c that part returns, in
// order, with IndexSeparator. It stops at the first part that is missing
// and reports whether every part was there.
func (t *engine) compoundValue(tenant string, c schema.Compound, part func(i int, attr string) (string, bool, error)) (string, bool, error) {
	var b strings.Builder
	b.WriteString(tenant)
	for i, p := range c.Parts {
		s, ok, err := part(i, p)
		if err != nil || !ok {
			return b.String(), false, err
		}
		b.WriteString(attrcrypt.IndexSeparator)
		b.WriteString(s)
	}
	return b.String(), true, nil
}

// plainPart is the text of a signed plaintext compound part: a string as
// is, a number in canonical form. A string that is not the last part must
// not hold IndexSeparator, which would make the value ambiguous.
func plainPart(v types.AttributeValue, last bool) (string, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		if !last && strings.Contains(v.Value, attrcrypt.IndexSeparator) {
			return "", fmt.Errorf("%w: a compound part other than the last may not contain the separator U+001F", ErrInvalidSearchValue)
		}
		return v.Value, nil
	case *types.AttributeValueMemberN:
		c, err := attrcrypt.CanonicalNumber(v.Value)
		if err != nil {
			return "", fmt.Errorf("%w: compound part is not a valid number", ErrInvalidSearchValue)
		}
		return c, nil
	default:
		return "", fmt.Errorf("%w: a plaintext compound part is a string or a number (S or N), not %s", ErrInvalidSearchValue, typeName(v))
	}
}

// scrubBeaconError keeps an attrcrypt error's sentinel but not its text,
// which could one day quote a value.
func scrubBeaconError(err error) error {
	for _, s := range []error{attrcrypt.ErrMalformed, attrcrypt.ErrInvalidConfig, attrcrypt.ErrInvalidKey} {
		if errors.Is(err, s) {
			return fmt.Errorf("%w: value cannot be indexed", s)
		}
	}
	return errors.New("beacon computation failed")
}

// typeName names the scalar DynamoDB type of v (S, N or B) for checks
// and error messages, never its value.
func typeName(v types.AttributeValue) string {
	switch v.(type) {
	case *types.AttributeValueMemberS:
		return "S"
	case *types.AttributeValueMemberN:
		return "N"
	case *types.AttributeValueMemberB:
		return "B"
	case nil:
		return "nothing"
	}
	return "not a scalar"
}

// searchValue checks a searched value against the stored type of attribute
// attr and returns its normalised bytes under norm.
func (t *engine) searchValue(attr string, v types.AttributeValue, norm attrcrypt.Normalization) ([]byte, error) {
	want := attrKeyType(t.schema, attr)
	if got := typeName(v); want != "" && got != string(want) {
		return nil, fmt.Errorf("%w: attribute %s is stored as %s; the searched value is %s", ErrInvalidSearchValue, attr, want, got)
	}
	nv, err := attrcrypt.NormalizedValue(v, norm)
	if err != nil {
		return nil, fmt.Errorf("%w: attribute %s: %w", ErrInvalidSearchValue, attr, scrubBeaconError(err))
	}
	return nv, nil
}

// BeaconValue returns the stored value of attribute attr's beacon for the
// value v in the scope's tenant: the S value "tenant" U+001F "hex" that
// the beacon attribute (attr + schema.BeaconSuffix) holds on every item
// whose attr normalises to the same bytes (and, truncation being what it
// is, on some others). Use it to build your own queries on a beacon
// index; the items such a query returns still need verifying (Query does
// it) and comparing with v (Find does both). An attribute without a
// beacon is ErrNoBeaconIndex. It fetches the beacon key by reference and
// never creates one: a tenant without a beacon key gets an error matching
// tenantkeys.ErrKeyNotFound.
func (s Scope[T]) BeaconValue(ctx context.Context, attr string, v types.AttributeValue) (types.AttributeValue, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	b, ok := s.t.schema.BeaconOf(attr)
	if !ok {
		return nil, fmt.Errorf("%w: attribute %q has no beacon (seal:\"encrypt,beacon\")", ErrNoBeaconIndex, attr)
	}
	if _, err := s.t.searchValue(attr, v, b.Normalize); err != nil {
		return nil, err
	}
	key, err := s.t.beaconKeyForRead(ctx, s.tenant)
	if err != nil {
		return nil, err
	}
	defer key.Zero()
	h, err := s.t.beacon(&key, b, v)
	if err != nil {
		return nil, err
	}
	return S(s.tenant + attrcrypt.IndexSeparator + h), nil
}

// CompoundValue returns the stored value of compound beacon compound for
// the given leading parts in the scope's tenant. With every part it is the
// exact value (for an equality key condition); with fewer (at least one)
// it is the prefix that every item whose leading parts equal them starts
// with, ending with the separator, for a begins_with condition on a
// compound sort key. A part with a beacon is given as the plaintext value
// (it is beaconed here), any other as the stored string or number. An
// undeclared compound, no part or too many is ErrNoBeaconIndex; a part of
// the wrong type, or a string holding U+001F that is not the last part,
// is ErrInvalidSearchValue. Like BeaconValue it never creates a key.
func (s Scope[T]) CompoundValue(ctx context.Context, compound string, parts []types.AttributeValue) (types.AttributeValue, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	c, err := s.t.compoundNamed(compound, len(parts))
	if err != nil {
		return nil, err
	}
	v, _, err := s.compoundSearch(ctx, c, parts)
	if err != nil {
		return nil, err
	}
	return S(v), nil
}

// compoundNamed returns the compound beacon called name and checks that
// nparts parts can search it.
func (t *engine) compoundNamed(name string, nparts int) (schema.Compound, error) {
	c, ok := t.schema.CompoundNamed(name)
	if !ok {
		return c, fmt.Errorf("%w: %q is not a compound beacon of %s", ErrNoBeaconIndex, name, t.schema.TypeName)
	}
	if nparts < 1 || nparts > len(c.Parts) {
		return c, fmt.Errorf("%w: compound %q has %d parts; a search gives 1 to %d of them, %d given", ErrNoBeaconIndex, name, len(c.Parts), len(c.Parts), nparts)
	}
	return c, nil
}

// compoundSearch builds the compound value (or prefix, ending with the
// separator, when parts are fewer than c's) and the normalised bytes of
// each given part that a found item must match.
func (s Scope[T]) compoundSearch(ctx context.Context, c schema.Compound, parts []types.AttributeValue) (string, [][]byte, error) {
	t := s.t
	want := make([][]byte, len(parts))
	var key attrcrypt.Key
	defer func() { key.Zero() }()
	v, _, err := t.compoundValue(s.tenant, c, func(i int, attr string) (string, bool, error) {
		if i >= len(parts) {
			return "", false, nil
		}
		p := parts[i]
		b, isBeacon := t.schema.BeaconOf(attr)
		var norm attrcrypt.Normalization
		if isBeacon {
			norm = b.Normalize
		}
		nv, err := t.searchValue(attr, p, norm)
		if err != nil {
			return "", false, err
		}
		want[i] = nv
		if !isBeacon {
			str, err := plainPart(p, i == len(c.Parts)-1)
			return str, err == nil, err
		}
		if key.IsZero() {
			if key, err = t.beaconKeyForRead(ctx, s.tenant); err != nil {
				return "", false, err
			}
		}
		h, err := t.beacon(&key, b, p)
		return h, err == nil, err
	})
	if err != nil {
		return "", nil, err
	}
	if len(parts) < len(c.Parts) {
		v += attrcrypt.IndexSeparator
	}
	return v, want, nil
}
