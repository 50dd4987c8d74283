package tenantkeys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// Admin manages tenant keys: the operations an application role does not
// need. Give it to a key administration tool or role; give the application
// a Provider. Store implements both.
//
// Rights an Admin needs on the key store table: dynamodb:GetItem, Query,
// PutItem, UpdateItem, BatchWriteItem and ConditionCheckItem; on KMS:
// kms:GenerateDataKey (Create, Rotate) and kms:Decrypt (Rotate, Disable,
// Enable, Retire, Rewrap: each record's authentication tag is made with the
// tenant key it carries), plus kms:Encrypt on the new key for Rewrap.
// Versions, Shred and ReopenAfterShred need no KMS right.
type Admin interface {
	// Create makes version 1 of (tenant, class). It fails with ErrConflict
	// if the key exists and with ErrKeyShredded if the tenant was shredded
	// and not reopened. For a data class it also creates the class's
	// beacon key (BeaconClass) if missing, and keeps it if present;
	// Create(tenant, BeaconClass(class)) creates only the beacon key (for
	// tenants made by releases before searchable encryption).
	Create(ctx context.Context, tenant, class string) (VersionInfo, error)
	// Rotate adds version N+1 and makes it current. Two concurrent rotations
	// yield two distinct versions or one ErrConflict; none is overwritten.
	// A beacon class is refused with ErrBeaconKeyRotation.
	Rotate(ctx context.Context, tenant, class string) (VersionInfo, error)
	// Disable makes every version of (tenant, class) refuse to serve
	// (ErrKeyDisabled) until Enable. Caches notice after their TTL.
	Disable(ctx context.Context, tenant, class string) error
	// Enable reverses Disable.
	Enable(ctx context.Context, tenant, class string) error
	// Retire makes every version of (tenant, class) below the floor
	// unusable: Key answers ErrKeyRetired for them and their wrapped keys
	// are deleted. The floor never moves down (a lower one is a no-op) and
	// cannot pass the current version. Re-encrypt (Reseal) the items sealed
	// under those versions first. Caches in other processes stop serving
	// a retired version within their TTL.
	Retire(ctx context.Context, tenant, class string, below uint32) error
	// Rewrap moves every live version of (tenant, class) under the
	// wrapping key the Store's Wrapper now selects (a new KMS key, or the
	// newest master key of a Keyring) without changing the tenant keys, and
	// adds authentication tags to records written by older releases. from
	// unwraps the current records (nil: the Store's Wrapper); it is needed
	// when the old wrapping key is no longer allowed by the Store's
	// configuration. Idempotent and resumable: records already under the
	// new key are left alone, so after a failure run it again. It returns
	// how many records it rewrote.
	Rewrap(ctx context.Context, tenant, class string, from Wrapper) (int, error)
	// Versions lists the versions of (tenant, class), oldest first.
	Versions(ctx context.Context, tenant, class string) ([]VersionInfo, error)
	// Shred destroys every key of the tenant, in every class, and leaves a
	// tombstone: later reads fail with ErrKeyShredded. Irreversible.
	Shred(ctx context.Context, tenant string) error
	// ReopenAfterShred allows new keys for a shredded tenant (by Create or
	// first use). Keys destroyed by the shred stay destroyed; new versions
	// are numbered above them, so old items still fail with ErrKeyShredded.
	ReopenAfterShred(ctx context.Context, tenant string) error
}

// VersionInfo describes one stored version of a tenant key. It holds the
// wrapped key, never the key material.
type VersionInfo struct {
	Ref attrcrypt.KeyRef
	// Wrapped is the stored wrapped key; Wrapped.KeyID is the wrapping key.
	Wrapped Wrapped
	// Created is when the version was written.
	Created time.Time
	// Current reports whether sealing uses this version.
	Current bool
	// Disabled reports whether (tenant, class) is disabled.
	Disabled bool
}

// Store keeps per-tenant data keys, wrapped by a Wrapper, in a key store:
// a DynamoDB table (NewDynamoDBStore) or process memory (NewMemoryStore).
// It implements Provider and Admin and is safe for concurrent use. It does
// not cache: every CurrentKey and Key call reads the store and unwraps (one
// KMS Decrypt with KMSWrapper). Put a Cache in front of it.
//
// Every record it reads is authenticated before its key is returned (see
// the package documentation), and it remembers, per (tenant, class), the
// highest current version and retirement floor it has verified (a few
// dozen bytes per tenant key class, kept for the Store's life): a current
// version that moves backwards fails with ErrKeyRecordTampered.
type Store struct {
	b    backend
	w    Wrapper
	opts options
	name string
	hw   highWater
}

var (
	_ Provider = (*Store)(nil)
	_ Admin    = (*Store)(nil)
)

func newStore(b backend, w Wrapper, defaultName string, opts []Option) *Store {
	o := buildOptions(opts)
	name := o.storeName
	if name == "" {
		name = defaultName
	}
	return &Store{b: b, w: w, opts: o, name: name}
}

// NewMemoryStore returns a Store that keeps wrapped keys in process memory.
// It behaves like the DynamoDB store (versions, conditional creation and
// rotation, disable, shred) but forgets everything when the process ends:
// for tests, examples and single-process development only.
func NewMemoryStore(w Wrapper, opts ...Option) *Store {
	return newStore(newMemBackend(), w, "memory", opts)
}

// record types shared by the backends.
type tombstone struct {
	epoch    int64
	shredded time.Time
	complete bool
	reopened bool
	floor    map[string]uint32
}

// pointer names the current version of (tenant, class) and carries its
// wrapped key, so CurrentKey needs one unwrap; floor is the retirement
// floor; tag authenticates it (nil: written by an older release).
type pointer struct {
	version  uint32
	disabled bool
	floor    uint32
	wrapped  Wrapped
	tag      []byte
}

type versionRec struct {
	class    string
	version  uint32
	wrapped  Wrapped
	created  time.Time
	disabled bool
	tag      []byte
}

type snapshot struct {
	tomb *tombstone
	ptr  *pointer
	ver  *versionRec
}

type listing struct {
	tomb     *tombstone
	pointers map[string]pointer
	versions []versionRec // sorted by class, then version
}

// backend is the storage a Store runs on. Conditional semantics: advance
// fails with ErrConflict when the pointer is not as from says (nil: must
// not exist) or the version exists, and with ErrKeyShredded when the
// tombstone differs from tomb (nil: must not exist). replacePointer and
// replaceVersion fail with ErrConflict unless the stored record still has
// old's version, wrapped blob and tag.
type backend interface {
	read(ctx context.Context, tenant, class string, version uint32) (snapshot, error)
	advance(ctx context.Context, tenant, class string, from *pointer, rec versionRec, ptr pointer, tomb *tombstone) error
	replacePointer(ctx context.Context, tenant, class string, old, new pointer) error
	replaceVersion(ctx context.Context, tenant string, old, new versionRec) error
	deleteVersions(ctx context.Context, tenant, class string, versions []uint32) error
	list(ctx context.Context, tenant string) (listing, error)
	shred(ctx context.Context, tenant string, now time.Time) error
	reopen(ctx context.Context, tenant string) error
}

// shreddedFor reports whether the tombstone forbids using version of
// class (version 0: the current key).
func shreddedFor(t *tombstone, class string, version uint32) bool {
	if t == nil {
		return false
	}
	if !t.reopened {
		return true
	}
	return version != 0 && version <= t.floor[class]
}

func (s *Store) emit(ctx context.Context, e Event) {
	if s.opts.audit != nil {
		e.Time = s.opts.now()
		s.opts.audit(ctx, e)
	}
}

func (s *Store) unwrap(ctx context.Context, ref attrcrypt.KeyRef, w Wrapped) (attrcrypt.Key, error) {
	sctx, end := s.startSpan(ctx, SpanUnwrap, ref)
	k, err := s.w.Unwrap(sctx, ref, w)
	end(err)
	s.emit(ctx, Event{Type: EventUnwrap, Ref: ref, KMSKeyID: w.KeyID, Err: err})
	if err != nil {
		return attrcrypt.Key{}, err
	}
	return k, nil
}

func shreddedErr(ref attrcrypt.KeyRef) error {
	return fmt.Errorf("%w: %s", ErrKeyShredded, ref)
}

// haveFunc lets a Cache hand the Store a key it already holds (or is
// loading) for a version, so one tenant key costs one unwrap however
// CurrentKey and Key requests interleave.
type haveFunc func(ctx context.Context, version uint32) (attrcrypt.Key, bool)

// CurrentKey implements Provider. With WithCreateOnFirstUse it creates
// version 1 of a missing key; racing first uses end with one version 1.
func (s *Store) CurrentKey(ctx context.Context, tenant, class string) (attrcrypt.Key, error) {
	return s.currentKey(ctx, tenant, class, nil)
}

func (s *Store) currentKey(ctx context.Context, tenant, class string, have haveFunc) (attrcrypt.Key, error) {
	if err := validateTC(tenant, class); err != nil {
		return attrcrypt.Key{}, err
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			// Lost a creation race; the winner's write may still be
			// settling (DynamoDB TransactionConflict).
			if err := sleepCtx(ctx, time.Duration(attempt)*10*time.Millisecond); err != nil {
				return attrcrypt.Key{}, err
			}
		}
		snap, err := s.b.read(ctx, tenant, class, 0)
		if err != nil {
			return attrcrypt.Key{}, err
		}
		ref := attrcrypt.KeyRef{Tenant: tenant, Class: class}
		if shreddedFor(snap.tomb, class, 0) {
			return attrcrypt.Key{}, shreddedErr(ref)
		}
		if snap.ptr != nil {
			return s.openPointer(ctx, tenant, class, snap.ptr, have)
		}
		if !s.opts.createFirst {
			return attrcrypt.Key{}, fmt.Errorf("%w: %s has no key", ErrKeyNotFound, ref)
		}
		ref.Version = 1
		if snap.tomb != nil {
			ref.Version = snap.tomb.floor[class] + 1
		}
		if hw := s.hw.get(tenant, class); ref.Version <= hw.current {
			return attrcrypt.Key{}, tamperedf("%s: the current-version record of a key this process saw at version %d is gone", ref, hw.current)
		}
		info, key, err := s.newVersion(ctx, SpanCreate, ref, nil, snap.tomb)
		if err == nil {
			s.emit(ctx, Event{Type: EventCreate, Ref: ref, KMSKeyID: info.Wrapped.KeyID})
			return key, nil
		}
		if !errors.Is(err, ErrConflict) || attempt >= 3 {
			return attrcrypt.Key{}, err
		}
		// Another process created it first: use the winner's key.
	}
}

// openPointer checks the current-version pointer and returns its key:
// refused if disabled, below the retirement floor, older than a version
// this process has seen, or if its tag does not verify.
func (s *Store) openPointer(ctx context.Context, tenant, class string, p *pointer, have haveFunc) (attrcrypt.Key, error) {
	ref := attrcrypt.KeyRef{Tenant: tenant, Class: class, Version: p.version}
	if p.disabled {
		return attrcrypt.Key{}, fmt.Errorf("%w: %s", ErrKeyDisabled, ref)
	}
	hw := s.hw.get(tenant, class)
	if p.version < hw.current {
		return attrcrypt.Key{}, tamperedf("%s: current version went back from %d (rolled-back pointer)", ref, hw.current)
	}
	if floor := max(p.floor, hw.floor); p.version < floor {
		return attrcrypt.Key{}, fmt.Errorf("%w: %s: current version is below the retirement floor %d", ErrKeyRetired, ref, floor)
	}
	var key attrcrypt.Key
	got := false
	if have != nil {
		key, got = have(ctx, p.version)
	}
	if !got {
		var err error
		if key, err = s.unwrap(ctx, ref, p.wrapped); err != nil {
			return attrcrypt.Key{}, err
		}
	}
	if err := s.checkTag(ref, rolePointer, p.tag, s.pointerTag(&key, tenant, class, p)); err != nil {
		key.Zero()
		return attrcrypt.Key{}, err
	}
	s.hw.raise(tenant, class, p.version, p.floor)
	return key, nil
}

// Key implements Provider.
func (s *Store) Key(ctx context.Context, ref attrcrypt.KeyRef) (attrcrypt.Key, error) {
	if err := validateRef(ref); err != nil {
		return attrcrypt.Key{}, err
	}
	snap, err := s.b.read(ctx, ref.Tenant, ref.Class, ref.Version)
	if err != nil {
		return attrcrypt.Key{}, err
	}
	if shreddedFor(snap.tomb, ref.Class, ref.Version) {
		return attrcrypt.Key{}, shreddedErr(ref)
	}
	p, v := snap.ptr, snap.ver
	if p == nil {
		return attrcrypt.Key{}, fmt.Errorf("%w: %s", ErrKeyNotFound, ref)
	}
	if p.disabled {
		return attrcrypt.Key{}, fmt.Errorf("%w: %s", ErrKeyDisabled, ref)
	}
	// The pointer's floor is not authenticated on this path, but it can
	// only refuse more; the floor this process verified is authenticated.
	if floor := max(p.floor, s.hw.get(ref.Tenant, ref.Class).floor); ref.Version < floor {
		return attrcrypt.Key{}, fmt.Errorf("%w: %s: below the retirement floor %d", ErrKeyRetired, ref, floor)
	}
	if v == nil {
		return attrcrypt.Key{}, fmt.Errorf("%w: %s", ErrKeyNotFound, ref)
	}
	if v.version != ref.Version {
		return attrcrypt.Key{}, tamperedf("%s: record says version %d", ref, v.version)
	}
	if v.disabled {
		return attrcrypt.Key{}, fmt.Errorf("%w: %s", ErrKeyDisabled, ref)
	}
	key, err := s.unwrap(ctx, ref, v.wrapped)
	if err != nil {
		return attrcrypt.Key{}, err
	}
	if err := s.checkTag(ref, roleVersion, v.tag, s.versionTag(&key, ref.Tenant, v)); err != nil {
		key.Zero()
		return attrcrypt.Key{}, err
	}
	if p.version == ref.Version {
		// Same key: the pointer (its disabled flag and floor) is
		// verifiable at no cost.
		if err := s.checkTag(ref, rolePointer, p.tag, s.pointerTag(&key, ref.Tenant, ref.Class, p)); err != nil {
			key.Zero()
			return attrcrypt.Key{}, err
		}
		s.hw.raise(ref.Tenant, ref.Class, p.version, p.floor)
	}
	return key, nil
}

func validateTC(tenant, class string) error {
	if err := ValidateTenant(tenant); err != nil {
		return err
	}
	return ValidateClass(class)
}

// Create implements Admin. For a data class it first makes sure the
// class's beacon key (BeaconClass) exists, creating its first version if
// not (one more key generation), and keeps an existing one; so it also
// adds the beacon key to a tenant made by an older release, even when it
// then fails with ErrConflict because the data key exists. Creating the
// beacon key first means a failure leaves nothing a retry cannot finish.
func (s *Store) Create(ctx context.Context, tenant, class string) (VersionInfo, error) {
	if err := validateTC(tenant, class); err != nil {
		return VersionInfo{}, err
	}
	if !IsBeaconClass(class) {
		if _, err := s.create(ctx, tenant, BeaconClass(class)); err != nil && !errors.Is(err, ErrConflict) {
			return VersionInfo{}, err
		}
	}
	return s.create(ctx, tenant, class)
}

// create makes the first version of (tenant, class); ErrConflict if the
// key exists.
func (s *Store) create(ctx context.Context, tenant, class string) (VersionInfo, error) {
	snap, err := s.b.read(ctx, tenant, class, 0)
	if err != nil {
		return VersionInfo{}, err
	}
	ref := attrcrypt.KeyRef{Tenant: tenant, Class: class, Version: 1}
	if shreddedFor(snap.tomb, class, 0) {
		return VersionInfo{}, shreddedErr(ref)
	}
	if snap.ptr != nil {
		return VersionInfo{}, fmt.Errorf("%w: %s already has a key (version %d)", ErrConflict, ref, snap.ptr.version)
	}
	if snap.tomb != nil {
		ref.Version = snap.tomb.floor[class] + 1
	}
	info, key, err := s.newVersion(ctx, SpanCreate, ref, nil, snap.tomb)
	key.Zero()
	if err != nil {
		return VersionInfo{}, err
	}
	s.emit(ctx, Event{Type: EventCreate, Ref: ref, KMSKeyID: info.Wrapped.KeyID})
	return info, nil
}

// Rotate implements Admin. It first verifies the current pointer (one
// unwrap), so a rotation never builds on a tampered pointer and carries
// the authenticated retirement floor forward.
func (s *Store) Rotate(ctx context.Context, tenant, class string) (VersionInfo, error) {
	if err := validateTC(tenant, class); err != nil {
		return VersionInfo{}, err
	}
	if IsBeaconClass(class) {
		return VersionInfo{}, fmt.Errorf("%w: %s", ErrBeaconKeyRotation, attrcrypt.KeyRef{Tenant: tenant, Class: class})
	}
	snap, err := s.b.read(ctx, tenant, class, 0)
	if err != nil {
		return VersionInfo{}, err
	}
	ref := attrcrypt.KeyRef{Tenant: tenant, Class: class}
	if shreddedFor(snap.tomb, class, 0) {
		return VersionInfo{}, shreddedErr(ref)
	}
	if snap.ptr == nil {
		return VersionInfo{}, fmt.Errorf("%w: %s has no key to rotate", ErrKeyNotFound, ref)
	}
	cur, err := s.verifyPointer(ctx, tenant, class, snap.ptr, false)
	cur.Zero()
	if err != nil {
		return VersionInfo{}, err
	}
	if snap.ptr.version == ^uint32(0) {
		return VersionInfo{}, fmt.Errorf("%w: %s: version space exhausted", ErrConflict, ref)
	}
	ref.Version = snap.ptr.version + 1
	info, key, err := s.newVersion(ctx, SpanRotate, ref, snap.ptr, snap.tomb)
	key.Zero()
	if err != nil {
		return VersionInfo{}, err
	}
	s.emit(ctx, Event{Type: EventRotate, Ref: ref, KMSKeyID: info.Wrapped.KeyID})
	return info, nil
}

// verifyPointer unwraps the pointer's key and checks its tag, whatever its
// flags say. upgrading accepts a pointer without a tag (Rewrap adds one).
func (s *Store) verifyPointer(ctx context.Context, tenant, class string, p *pointer, upgrading bool) (attrcrypt.Key, error) {
	ref := attrcrypt.KeyRef{Tenant: tenant, Class: class, Version: p.version}
	key, err := s.unwrap(ctx, ref, p.wrapped)
	if err != nil {
		return attrcrypt.Key{}, err
	}
	if upgrading && len(p.tag) == 0 {
		return key, nil
	}
	if err := s.checkTag(ref, rolePointer, p.tag, s.pointerTag(&key, tenant, class, p)); err != nil {
		key.Zero()
		return attrcrypt.Key{}, err
	}
	return key, nil
}

// newVersion makes version ref.Version with fresh key material, tags the
// version record and the pointer that names it, and writes both in one
// conditional transaction, in a span named span (SpanCreate, SpanRotate).
// from is the verified pointer it replaces (nil for creation). The caller
// zeroes the returned key.
func (s *Store) newVersion(ctx context.Context, span string, ref attrcrypt.KeyRef, from *pointer, tomb *tombstone) (info VersionInfo, key attrcrypt.Key, err error) {
	ctx, end := s.startSpan(ctx, span, ref)
	defer func() { end(err) }()
	key, w, err := s.w.GenerateKey(ctx, ref)
	if err != nil {
		return VersionInfo{}, attrcrypt.Key{}, err
	}
	rec := versionRec{class: ref.Class, version: ref.Version, wrapped: w, created: s.opts.now()}
	p := pointer{version: ref.Version, wrapped: w}
	if from != nil {
		p.floor, p.disabled, rec.disabled = from.floor, from.disabled, from.disabled
	}
	rec.tag = s.versionTag(&key, ref.Tenant, &rec)
	p.tag = s.pointerTag(&key, ref.Tenant, ref.Class, &p)
	if err := s.b.advance(ctx, ref.Tenant, ref.Class, from, rec, p, tomb); err != nil {
		key.Zero()
		return VersionInfo{}, attrcrypt.Key{}, err
	}
	s.hw.raise(ref.Tenant, ref.Class, ref.Version, p.floor)
	return VersionInfo{Ref: ref, Wrapped: w, Created: rec.created, Current: true, Disabled: p.disabled}, key, nil
}

// Disable implements Admin. It re-tags every record of (tenant, class)
// with the flag set; a record whose key cannot be recovered is still
// flagged (a set flag is obeyed without its tag).
func (s *Store) Disable(ctx context.Context, tenant, class string) error {
	on := true
	if _, err := s.rewrite(ctx, tenant, class, rewriteOp{disabled: &on}); err != nil {
		return err
	}
	s.emit(ctx, Event{Type: EventDisable, Ref: attrcrypt.KeyRef{Tenant: tenant, Class: class}})
	return nil
}

// Enable implements Admin. Every record must authenticate.
func (s *Store) Enable(ctx context.Context, tenant, class string) error {
	off := false
	if _, err := s.rewrite(ctx, tenant, class, rewriteOp{disabled: &off}); err != nil {
		return err
	}
	s.emit(ctx, Event{Type: EventEnable, Ref: attrcrypt.KeyRef{Tenant: tenant, Class: class}})
	return nil
}

// Versions implements Admin. A shredded tenant yields ErrKeyShredded. It
// lists records as stored, without authenticating them.
func (s *Store) Versions(ctx context.Context, tenant, class string) ([]VersionInfo, error) {
	if err := validateTC(tenant, class); err != nil {
		return nil, err
	}
	l, err := s.b.list(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if shreddedFor(l.tomb, class, 0) {
		return nil, shreddedErr(attrcrypt.KeyRef{Tenant: tenant, Class: class})
	}
	ptr, ok := l.pointers[class]
	var out []VersionInfo
	for _, v := range l.versions {
		if v.class != class {
			continue
		}
		out = append(out, VersionInfo{
			Ref:      attrcrypt.KeyRef{Tenant: tenant, Class: class, Version: v.version},
			Wrapped:  v.wrapped,
			Created:  v.created,
			Current:  ok && ptr.version == v.version,
			Disabled: ok && ptr.disabled || v.disabled,
		})
	}
	return out, nil
}

// Shred implements Admin. It first writes the tombstone (so no creation or
// rotation can commit afterwards), then deletes every version and pointer
// of the tenant. If it fails midway the tenant is already unreadable;
// calling Shred again finishes the deletion.
func (s *Store) Shred(ctx context.Context, tenant string) error {
	if err := ValidateTenant(tenant); err != nil {
		return err
	}
	if err := s.b.shred(ctx, tenant, s.opts.now()); err != nil {
		return err
	}
	s.emit(ctx, Event{Type: EventShred, Ref: attrcrypt.KeyRef{Tenant: tenant}})
	return nil
}

// ReopenAfterShred implements Admin. It fails with ErrKeyNotFound if the
// tenant was never shredded.
func (s *Store) ReopenAfterShred(ctx context.Context, tenant string) error {
	if err := ValidateTenant(tenant); err != nil {
		return err
	}
	if err := s.b.reopen(ctx, tenant); err != nil {
		return err
	}
	s.emit(ctx, Event{Type: EventReopen, Ref: attrcrypt.KeyRef{Tenant: tenant}})
	return nil
}
