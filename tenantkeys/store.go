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
// PutItem, UpdateItem, DeleteItem, BatchWriteItem and ConditionCheckItem;
// on KMS: kms:GenerateDataKeyWithoutPlaintext (Create, Rotate). Versions,
// Disable, Enable, Shred and ReopenAfterShred need no KMS right.
type Admin interface {
	// Create makes version 1 of (tenant, class). It fails with ErrConflict
	// if the key exists and with ErrKeyShredded if the tenant was shredded
	// and not reopened.
	Create(ctx context.Context, tenant, class string) (VersionInfo, error)
	// Rotate adds version N+1 and makes it current. Two concurrent rotations
	// yield two distinct versions or one ErrConflict; none is overwritten.
	Rotate(ctx context.Context, tenant, class string) (VersionInfo, error)
	// Disable makes every version of (tenant, class) refuse to serve
	// (ErrKeyDisabled) until Enable. Caches notice after their TTL.
	Disable(ctx context.Context, tenant, class string) error
	// Enable reverses Disable.
	Enable(ctx context.Context, tenant, class string) error
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
type Store struct {
	b    backend
	w    Wrapper
	opts options
}

var (
	_ Provider = (*Store)(nil)
	_ Admin    = (*Store)(nil)
)

func newStore(b backend, w Wrapper, opts []Option) *Store {
	return &Store{b: b, w: w, opts: buildOptions(opts)}
}

// NewMemoryStore returns a Store that keeps wrapped keys in process memory.
// It behaves like the DynamoDB store (versions, conditional creation and
// rotation, disable, shred) but forgets everything when the process ends:
// for tests, examples and single-process development only.
func NewMemoryStore(w Wrapper, opts ...Option) *Store {
	return newStore(newMemBackend(), w, opts)
}

// record types shared by the backends.
type tombstone struct {
	epoch    int64
	shredded time.Time
	complete bool
	reopened bool
	floor    map[string]uint32
}

type pointer struct {
	version  uint32
	disabled bool
	wrapped  Wrapped
}

type versionRec struct {
	class   string
	version uint32
	wrapped Wrapped
	created time.Time
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

// backend is the storage a Store runs on. Conditional semantics:
// advance fails with ErrConflict when the pointer is not at from (0: must
// not exist) or the version exists, and with ErrKeyShredded when the
// tombstone differs from tomb (nil: must not exist).
type backend interface {
	read(ctx context.Context, tenant, class string, version uint32) (snapshot, error)
	advance(ctx context.Context, tenant, class string, from uint32, rec versionRec, tomb *tombstone) error
	setDisabled(ctx context.Context, tenant, class string, disabled bool) error
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
	k, err := s.w.Unwrap(ctx, ref, w)
	s.emit(ctx, Event{Type: EventUnwrap, Ref: ref, KMSKeyID: w.KeyID, Err: err})
	if err != nil {
		return attrcrypt.Key{}, err
	}
	return k, nil
}

func shreddedErr(ref attrcrypt.KeyRef) error {
	return fmt.Errorf("%w: %s", ErrKeyShredded, ref)
}

// CurrentKey implements Provider. With WithCreateOnFirstUse it creates
// version 1 of a missing key; racing first uses end with one version 1.
func (s *Store) CurrentKey(ctx context.Context, tenant, class string) (attrcrypt.Key, error) {
	if err := ValidateTenant(tenant); err != nil {
		return attrcrypt.Key{}, err
	}
	if err := ValidateClass(class); err != nil {
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
			ref.Version = snap.ptr.version
			if snap.ptr.disabled {
				return attrcrypt.Key{}, fmt.Errorf("%w: %s", ErrKeyDisabled, ref)
			}
			return s.unwrap(ctx, ref, snap.ptr.wrapped)
		}
		if !s.opts.createFirst {
			return attrcrypt.Key{}, fmt.Errorf("%w: %s has no key", ErrKeyNotFound, ref)
		}
		ref.Version = 1
		if snap.tomb != nil {
			ref.Version = snap.tomb.floor[class] + 1
		}
		key, w, err := s.w.GenerateKey(ctx, ref)
		if err != nil {
			return attrcrypt.Key{}, err
		}
		err = s.b.advance(ctx, tenant, class, 0, versionRec{class: class, version: ref.Version, wrapped: w, created: s.opts.now()}, snap.tomb)
		if err == nil {
			s.emit(ctx, Event{Type: EventCreate, Ref: ref, KMSKeyID: w.KeyID})
			return key, nil
		}
		key.Zero()
		if !errors.Is(err, ErrConflict) || attempt >= 3 {
			return attrcrypt.Key{}, err
		}
		// Another process created it first: use the winner's key.
	}
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
	if snap.ptr == nil || snap.ver == nil {
		return attrcrypt.Key{}, fmt.Errorf("%w: %s", ErrKeyNotFound, ref)
	}
	if snap.ptr.disabled {
		return attrcrypt.Key{}, fmt.Errorf("%w: %s", ErrKeyDisabled, ref)
	}
	return s.unwrap(ctx, ref, snap.ver.wrapped)
}

func validateTC(tenant, class string) error {
	if err := ValidateTenant(tenant); err != nil {
		return err
	}
	return ValidateClass(class)
}

// Create implements Admin.
func (s *Store) Create(ctx context.Context, tenant, class string) (VersionInfo, error) {
	if err := validateTC(tenant, class); err != nil {
		return VersionInfo{}, err
	}
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
	return s.advance(ctx, ref, 0, snap.tomb, EventCreate)
}

// Rotate implements Admin.
func (s *Store) Rotate(ctx context.Context, tenant, class string) (VersionInfo, error) {
	if err := validateTC(tenant, class); err != nil {
		return VersionInfo{}, err
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
	if snap.ptr.version == ^uint32(0) {
		return VersionInfo{}, fmt.Errorf("tenantkeys: %s: version space exhausted", ref)
	}
	ref.Version = snap.ptr.version + 1
	return s.advance(ctx, ref, snap.ptr.version, snap.tomb, EventRotate)
}

func (s *Store) advance(ctx context.Context, ref attrcrypt.KeyRef, from uint32, tomb *tombstone, ev EventType) (VersionInfo, error) {
	w, err := s.w.GenerateWrapped(ctx, ref)
	if err != nil {
		return VersionInfo{}, err
	}
	rec := versionRec{class: ref.Class, version: ref.Version, wrapped: w, created: s.opts.now()}
	if err := s.b.advance(ctx, ref.Tenant, ref.Class, from, rec, tomb); err != nil {
		return VersionInfo{}, err
	}
	s.emit(ctx, Event{Type: ev, Ref: ref, KMSKeyID: w.KeyID})
	return VersionInfo{Ref: ref, Wrapped: w, Created: rec.created, Current: true}, nil
}

// Disable implements Admin.
func (s *Store) Disable(ctx context.Context, tenant, class string) error {
	return s.setDisabled(ctx, tenant, class, true)
}

// Enable implements Admin.
func (s *Store) Enable(ctx context.Context, tenant, class string) error {
	return s.setDisabled(ctx, tenant, class, false)
}

func (s *Store) setDisabled(ctx context.Context, tenant, class string, disabled bool) error {
	if err := validateTC(tenant, class); err != nil {
		return err
	}
	if err := s.b.setDisabled(ctx, tenant, class, disabled); err != nil {
		return err
	}
	ev := EventEnable
	if disabled {
		ev = EventDisable
	}
	s.emit(ctx, Event{Type: ev, Ref: attrcrypt.KeyRef{Tenant: tenant, Class: class}})
	return nil
}

// Versions implements Admin. A shredded tenant yields ErrKeyShredded.
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
			Disabled: ok && ptr.disabled,
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
