package table

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// Table is a handle on one DynamoDB table holding items of type T. It is
// safe for concurrent use. Every data operation goes through a tenant Scope
// (For, FromContext); only Scan, an admin operation, reads across tenants.
type Table[T any] struct {
	*engine
	codec      Codec[T]
	setVersion func(*T, int64)
	setTenant  func(*T, string) // nil when T is not a struct
}

// engine is the part of a table handle that does not depend on the Go item
// type: the client, the schema, the sealer and the key provider. Table[T]
// embeds it, and Admin (the untyped handle the jobs run on) wraps it, so
// that the typed and the untyped paths share one implementation.
type engine struct {
	client     Client
	name       string
	logical    string
	class      string
	keys       tenantkeys.Provider
	schema     *schema.Schema
	sealer     *attrcrypt.Sealer
	cfg        config
	indexes    map[string]Index
	indexOrder []string // index names in declaration order (searches pick the first that fits)
	derived    []string // beacon and compound attributes, recomputed on every write
	searchers  searcherCache
	pkIsTenant bool
	obs        *observer
}

// New returns a handle on the DynamoDB table name holding items of type T.
// It builds T's schema with schema.For[T] (or takes WithSchema), the
// reflection codec (or WithCodec) and the attrcrypt sealer bound to the
// logical table name (the physical name unless WithLogicalName) and the
// schema's tenant attribute and actions.
func New[T any](client Client, name string, keys tenantkeys.Provider, opts ...Option) (*Table[T], error) {
	if client == nil || keys == nil || name == "" {
		return nil, errors.New("table: New needs a client, a table name and a key provider")
	}
	cfg := newConfig(opts)
	sch := cfg.schema
	if sch == nil {
		s, err := schema.For[T]()
		if err != nil {
			return nil, err
		}
		sch = s
	}
	e, err := newEngine(client, name, keys, sch, cfg)
	if err != nil {
		return nil, err
	}
	t := &Table[T]{engine: e}
	switch c := cfg.codec.(type) {
	case nil:
		t.codec = reflectCodec[T]{}
	case Codec[T]:
		t.codec = c
	default:
		return nil, fmt.Errorf("table: codec %T does not encode the table's item type", cfg.codec)
	}
	if vs, ok := t.codec.(Versioner[T]); ok {
		t.setVersion = vs.SetVersion
	} else {
		sv, err := versionSetter[T](t.schema)
		if err != nil {
			return nil, err
		}
		t.setVersion = sv
	}
	t.setTenant = tenantSetter[T](t.schema)
	return t, nil
}

// newConfig applies opts to the defaults.
func newConfig(opts []Option) config {
	cfg := config{batchAttempts: 8, backoffBase: 25 * time.Millisecond, backoffMax: 2 * time.Second, sleep: sleepCtx}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.batchAttempts < 1 {
		cfg.batchAttempts = 1
	}
	return cfg
}

// newEngine builds the untyped part of a handle on table name for schema
// sch: the attrcrypt sealer bound to the logical table name, the observer
// and the checked index declarations.
func newEngine(client Client, name string, keys tenantkeys.Provider, sch *schema.Schema, cfg config) (*engine, error) {
	if strings.HasPrefix(cfg.keyClass, "__") {
		return nil, fmt.Errorf("table: key class %q: %w: classes starting with \"__\" are reserved (beacon keys live in %s classes)", cfg.keyClass, tenantkeys.ErrInvalidName, tenantkeys.BeaconClassPrefix)
	}
	t := &engine{client: client, name: name, logical: name, class: cfg.keyClass, keys: keys, cfg: cfg, indexes: map[string]Index{}, schema: sch}
	if cfg.logicalName != "" {
		t.logical = cfg.logicalName
	}
	t.pkIsTenant = t.schema.PartitionKey == t.schema.Tenant
	t.derived = t.schema.DerivedAttributes()
	ac := attrcrypt.Config{Table: t.logical, TenantAttribute: t.schema.Tenant, Actions: t.schema.Actions()}
	for _, f := range cfg.sealerConfig {
		f(&ac)
	}
	sealer, err := attrcrypt.NewSealer(ac)
	if err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	t.sealer = sealer
	if t.obs, err = newObserver(&cfg); err != nil {
		return nil, fmt.Errorf("table: meter: %w", err)
	}
	if err := t.addIndexes(cfg.indexes); err != nil {
		return nil, err
	}
	return t, nil
}

// Name returns the physical table name.
func (t *Table[T]) Name() string { return t.name }

// LogicalName returns the table name bound into every signature.
func (t *Table[T]) LogicalName() string { return t.logical }

// Schema returns the table's schema.
func (t *Table[T]) Schema() *schema.Schema { return t.schema }

// Scope is a Table restricted to one tenant. The tenant comes from the
// caller (an authenticated request), never from a stored item: every read
// checks the item's tenant attribute against it before any key is fetched,
// and every write of an item naming another tenant fails with
// ErrWrongTenant (it is never rewritten). A write of an item whose tenant
// field is empty fills it with the scope's tenant, in the item written and
// in the caller's struct, so the tenant need not be given twice. A Scope is
// a small value; make one per request.
type Scope[T any] struct {
	t      *Table[T]
	tenant string
}

// For returns the scope of tenant. An empty tenant gives a scope whose every
// call fails with ErrNoTenant.
func (t *Table[T]) For(tenant string) Scope[T] { return Scope[T]{t: t, tenant: tenant} }

type tenantCtxKey struct{}

// WithTenant returns a context carrying tenant, for middleware that knows
// the tenant from the authenticated request (for example a JWT claim).
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantCtxKey{}, tenant)
}

// TenantFromContext returns the tenant WithTenant stored in ctx.
func TenantFromContext(ctx context.Context) (string, bool) {
	s, ok := ctx.Value(tenantCtxKey{}).(string)
	return s, ok && s != ""
}

// FromContext returns the scope of the tenant stored in ctx by WithTenant,
// or ErrNoTenant.
func (t *Table[T]) FromContext(ctx context.Context) (Scope[T], error) {
	tenant, ok := TenantFromContext(ctx)
	if !ok {
		return Scope[T]{}, ErrNoTenant
	}
	return t.For(tenant), nil
}

// Tenant returns the scope's tenant.
func (s Scope[T]) Tenant() string { return s.tenant }

// Table returns the scope's table.
func (s Scope[T]) Table() *Table[T] { return s.t }

func (s Scope[T]) check() error {
	if s.t == nil || s.tenant == "" {
		return ErrNoTenant
	}
	return nil
}

// sealed is an item ready to write.
type sealed struct {
	item       map[string]types.AttributeValue
	oldVersion int64 // version the item had (0: new)
	newVersion int64
}

// seal marshals v, checks its tenant, sets its next version and seals it.
// bump is the version the stored item must have; -1 takes it from v.
func (s Scope[T]) seal(ctx context.Context, v *T, stored int64) (sealed, error) {
	if err := s.check(); err != nil {
		return sealed{}, err
	}
	if v == nil {
		return sealed{}, errors.New("table: nil item")
	}
	m, err := s.t.codec.Marshal(v)
	if err != nil {
		return sealed{}, fmt.Errorf("table: marshal %s: %w", s.t.schema.TypeName, err)
	}
	if s.fillTenant(m) && s.t.setTenant != nil {
		s.t.setTenant(v, s.tenant)
	}
	return s.sealMap(ctx, m, stored)
}

// fillTenant sets the tenant attribute of the marshalled item m to the
// scope's tenant when the item leaves it empty (absent, NULL or ""), so
// that an item need not repeat the tenant its scope already names, and
// reports whether it did. Another tenant is left for sealMap to refuse.
func (s Scope[T]) fillTenant(m map[string]types.AttributeValue) bool {
	switch tv := m[s.t.schema.Tenant].(type) {
	case nil, *types.AttributeValueMemberNULL:
	case *types.AttributeValueMemberS:
		if tv.Value != "" {
			return false
		}
	default:
		return false
	}
	m[s.t.schema.Tenant] = S(s.tenant)
	return true
}

func (s Scope[T]) sealMap(ctx context.Context, m map[string]types.AttributeValue, stored int64) (sealed, error) {
	t := s.t
	tv, ok := m[t.schema.Tenant].(*types.AttributeValueMemberS)
	if !ok || tv.Value != s.tenant {
		return sealed{}, fmt.Errorf("table: item's %s field is not the scope's tenant: %w", t.schema.Tenant, ErrWrongTenant)
	}
	out := sealed{}
	if t.schema.Version != "" {
		if stored >= 0 {
			out.oldVersion = stored
		} else {
			v, err := versionOf(m, t.schema.Version)
			if err != nil {
				return sealed{}, err
			}
			out.oldVersion = v
		}
		out.newVersion = out.oldVersion + 1
		m[t.schema.Version] = N(out.newVersion)
	}
	if t.hasSearch() {
		if err := t.addBeacons(ctx, s.tenant, m); err != nil {
			return sealed{}, err
		}
	}
	key, err := t.currentKey(ctx, s.tenant)
	if err != nil {
		return sealed{}, fmt.Errorf("table: tenant key: %w", err)
	}
	item, err := t.sealer.Seal(m, key)
	key.Zero()
	if err != nil {
		return sealed{}, fmt.Errorf("table: seal: %w", err)
	}
	if n := attrcrypt.ItemSize(item); n > attrcrypt.MaxItemSize {
		return sealed{}, fmt.Errorf("%w: %d bytes after sealing (limit %d)", ErrItemTooLarge, n, attrcrypt.MaxItemSize)
	}
	out.item = item
	return out, nil
}

func versionOf(m map[string]types.AttributeValue, name string) (int64, error) {
	switch v := m[name].(type) {
	case nil, *types.AttributeValueMemberNULL:
		return 0, nil
	case *types.AttributeValueMemberN:
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("table: version attribute %s is not a non-negative integer", name)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("table: version attribute %s is not a number", name)
	}
}

// open verifies and decodes a stored item. tenant is the caller's tenant;
// "" (Scan only) takes the tenant from the item. The tenant check happens
// before any key is fetched.
func (t *Table[T]) open(ctx context.Context, tenant string, item map[string]types.AttributeValue) (*T, error) {
	m, err := t.openMap(ctx, tenant, item)
	if err != nil {
		return nil, err
	}
	return t.decode(m)
}

// decode unmarshals an opened item into a new T.
func (t *Table[T]) decode(m map[string]types.AttributeValue) (*T, error) {
	v := new(T)
	if err := t.codec.Unmarshal(m, v); err != nil {
		return nil, fmt.Errorf("table: unmarshal %s: %w", t.schema.TypeName, err)
	}
	return v, nil
}

func (t *Table[T]) openMap(ctx context.Context, tenant string, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	_, key, err := t.itemKey(ctx, tenant, item)
	if err != nil {
		if errors.Is(err, ErrTampered) {
			t.obs.tampered(ctx)
		}
		return nil, err
	}
	m, res, err := t.sealer.Open(item, key)
	key.Zero()
	if err != nil {
		if errors.Is(err, ErrTampered) {
			t.obs.tampered(ctx)
		}
		return nil, fmt.Errorf("table: open: %w", err)
	}
	if t.cfg.onDrift != nil && res.NeedsReseal() {
		t.cfg.onDrift(ctx, t.keyOfItem(item), res)
	}
	return m, nil
}

// itemKey checks a stored item's tenant attribute (against tenant, unless
// tenant is "") before any key is fetched, then fetches the key its header
// names, classifying a failure with keyError. The caller zeroes the key.
func (t *engine) itemKey(ctx context.Context, tenant string, item map[string]types.AttributeValue) (attrcrypt.KeyRef, attrcrypt.Key, error) {
	tv, ok := item[t.schema.Tenant].(*types.AttributeValueMemberS)
	if !ok || tv.Value == "" {
		return attrcrypt.KeyRef{}, attrcrypt.Key{}, fmt.Errorf("table: %w", &attrcrypt.TamperError{Reason: attrcrypt.ReasonAttributeSet, Attribute: t.schema.Tenant})
	}
	if tenant != "" && tv.Value != tenant {
		return attrcrypt.KeyRef{}, attrcrypt.Key{}, errWrongTenantRead
	}
	ref, err := t.sealer.KeyRef(item)
	if err != nil {
		return ref, attrcrypt.Key{}, fmt.Errorf("table: %w", err)
	}
	if ref.Tenant != tv.Value { // KeyRef takes the tenant from the same attribute
		return ref, attrcrypt.Key{}, fmt.Errorf("table: %w", &attrcrypt.TamperError{Reason: attrcrypt.ReasonCommitment, Attribute: t.schema.Tenant})
	}
	key, err := t.keyByRef(ctx, ref)
	if err != nil {
		return ref, attrcrypt.Key{}, t.keyError(ctx, item, ref, err)
	}
	return ref, key, nil
}

// keyError classifies a failure to fetch the key an item names, so that
// whatever the item's own bytes cause is ErrTampered and a key-lifecycle
// sentinel means the key a genuine item would name really is in that
// state (the decision table is in the package doc):
//
//   - ErrKeyNotFound or ErrInvalidName: key versions are never lost (Shred
//     answers ErrKeyShredded), and names are validated when a key is made,
//     so an item naming a key its tenant never had was edited (version,
//     class or tenant attribute changed), or moved into the partition of a
//     tenant without keys. Tampered. (So is every item read through a key
//     store that lacks the tenant's keys, a misconfiguration.)
//   - ErrKeyShredded, ErrKeyRetired, ErrKeyDisabled, or any failure for a
//     class other than the table's: tampered if the item's header commits
//     to a live key of the tenant in the table's class (its key reference
//     was edited), otherwise that error.
//
// It only asks the provider for keys by reference, never CurrentKey, so a
// read never creates a key.
func (t *engine) keyError(ctx context.Context, item map[string]types.AttributeValue, ref attrcrypt.KeyRef, err error) error {
	switch {
	case errors.Is(err, tenantkeys.ErrInvalidName),
		errors.Is(err, tenantkeys.ErrKeyNotFound) && !errors.Is(err, tenantkeys.ErrKeyShredded):
		return &attrcrypt.TamperError{Reason: attrcrypt.ReasonCommitment, Attribute: attrcrypt.HeaderAttribute}
	case ref.Class != t.class,
		errors.Is(err, tenantkeys.ErrKeyShredded),
		errors.Is(err, tenantkeys.ErrKeyRetired),
		errors.Is(err, tenantkeys.ErrKeyDisabled):
		if t.commitsToLiveKey(ctx, item, ref.Tenant) {
			return &attrcrypt.TamperError{Reason: attrcrypt.ReasonCommitment, Attribute: attrcrypt.HeaderAttribute}
		}
	}
	return fmt.Errorf("table: tenant key: %w", err)
}

// maxLiveProbe bounds how many live key versions commitsToLiveKey tries,
// newest first, after locating the newest version.
const maxLiveProbe = 16

// keyState is what the provider says about one key version.
type keyState int

const (
	keyAbsent   keyState = iota // not found (above the newest version)
	keyLive                     // usable
	keyFloor                    // shredded or retired: this and older versions are unusable
	keyDisabled                 // disabled
	keyFailed                   // any other failure: stop probing
)

// commitsToLiveKey reports whether item's header commits to a live key of
// tenant in the table's class. Versions are numbered from 1 without gaps;
// shredded and retired ones lie below a floor, and not-found ones above
// the newest. It finds the newest version with an exponential then binary
// search on not-found, then tries up to maxLiveProbe live versions from
// the newest down, stopping at a shredded or retired one. A tenant whose
// every version answers as dead (shredded, not reopened) costs one probe.
func (t *engine) commitsToLiveKey(ctx context.Context, item map[string]types.AttributeValue, tenant string) bool {
	found := false
	probe := func(v uint32) keyState {
		k, err := t.keyByRef(ctx, attrcrypt.KeyRef{Tenant: tenant, Class: t.class, Version: v})
		switch {
		case err == nil:
			if !found && t.sealer.CommitsTo(item, k) {
				found = true
			}
			k.Zero()
			return keyLive
		case errors.Is(err, tenantkeys.ErrKeyShredded), errors.Is(err, tenantkeys.ErrKeyRetired):
			return keyFloor
		case errors.Is(err, tenantkeys.ErrKeyDisabled):
			return keyDisabled
		case errors.Is(err, tenantkeys.ErrKeyNotFound):
			return keyAbsent
		}
		return keyFailed
	}
	if st := probe(math.MaxUint32); st != keyAbsent {
		return found // everything dead (or failing): no live key to commit to
	}
	// lo answers present (live or dead), hi answers absent.
	lo, hi := uint32(0), uint32(1)
	for {
		st := probe(hi)
		if found {
			return true
		}
		if st == keyFailed {
			return false
		}
		if st == keyAbsent {
			break
		}
		lo = hi
		if hi >= math.MaxUint32/2 {
			hi = math.MaxUint32
			break
		}
		hi *= 2
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		switch probe(mid) {
		case keyAbsent:
			hi = mid
		case keyFailed:
			return false
		default:
			lo = mid
		}
		if found {
			return true
		}
	}
	tried := 0
	for v := lo; v >= 1 && tried < maxLiveProbe; v-- {
		st := probe(v)
		if found {
			return true
		}
		switch st {
		case keyLive:
			tried++
		case keyDisabled:
		default:
			return false // a shred or retire floor: nothing live further down
		}
	}
	return false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// backoff returns the full-jitter delay before retry attempt (1-based).
func backoff(base, max time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// expr accumulates a condition or filter expression.
type expr struct {
	parts  []string
	names  map[string]string
	values map[string]types.AttributeValue
}

func (e *expr) name(attr string) string {
	if e.names == nil {
		e.names = map[string]string{}
	}
	for k, v := range e.names {
		if v == attr {
			return k
		}
	}
	k := "#n" + strconv.Itoa(len(e.names))
	e.names[k] = attr
	return k
}

func (e *expr) value(v types.AttributeValue) string {
	if e.values == nil {
		e.values = map[string]types.AttributeValue{}
	}
	k := ":v" + strconv.Itoa(len(e.values))
	e.values[k] = v
	return k
}

func (e *expr) add(part string) { e.parts = append(e.parts, part) }

func (e *expr) String() *string {
	if len(e.parts) == 0 {
		return nil
	}
	s := ""
	for i, p := range e.parts {
		if i > 0 {
			s += " AND "
		}
		s += "(" + p + ")"
	}
	return &s
}
