package tenantkeys

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// KeyWrapper is a Wrapper that can also wrap existing key material under
// its current wrapping key; Admin.Rewrap needs it. KMSWrapper (kms:Encrypt)
// and Keyring implement it.
type KeyWrapper interface {
	Wrapper
	// Wrap wraps key (for key.Ref) under the key the wrapper selects for
	// new versions of its tenant and class.
	Wrap(ctx context.Context, key attrcrypt.Key) (Wrapped, error)
}

// wrapTarget is implemented by wrappers that can tell, without a call,
// whether a wrapped key is already under the key they would wrap ref with.
type wrapTarget interface {
	wrapsUnder(ref attrcrypt.KeyRef, w Wrapped) bool
}

// Retire implements Admin. It verifies the current pointer (one unwrap),
// raises its authenticated floor, then deletes the wrapped keys below the
// floor; if it fails midway, run it again.
func (s *Store) Retire(ctx context.Context, tenant, class string, below uint32) error {
	if err := validateTC(tenant, class); err != nil {
		return err
	}
	if IsBeaconClass(class) {
		return fmt.Errorf("%w: %s", ErrBeaconKeyRotation, attrcrypt.KeyRef{Tenant: tenant, Class: class})
	}
	snap, err := s.b.read(ctx, tenant, class, 0)
	if err != nil {
		return err
	}
	ref := attrcrypt.KeyRef{Tenant: tenant, Class: class, Version: below}
	if shreddedFor(snap.tomb, class, 0) {
		return shreddedErr(ref)
	}
	p := snap.ptr
	if p == nil {
		return fmt.Errorf("%w: %s has no key", ErrKeyNotFound, ref)
	}
	if below > p.version {
		return fmt.Errorf("%w: %s: cannot retire the current version %d; rotate first", ErrConflict, ref, p.version)
	}
	key, err := s.verifyPointer(ctx, tenant, class, p, false)
	if err != nil {
		return err
	}
	if below > p.floor {
		np := *p
		np.floor = below
		np.tag = s.pointerTag(&key, tenant, class, &np)
		if err := s.b.replacePointer(ctx, tenant, class, *p, np); err != nil {
			key.Zero()
			return err
		}
	}
	key.Zero()
	floor := max(below, p.floor)
	s.hw.raise(tenant, class, 0, floor)
	l, err := s.b.list(ctx, tenant)
	if err != nil {
		return err
	}
	var gone []uint32
	for _, v := range l.versions {
		if v.class == class && v.version < floor {
			gone = append(gone, v.version)
		}
	}
	if err := s.b.deleteVersions(ctx, tenant, class, gone); err != nil {
		return err
	}
	s.emit(ctx, Event{Type: EventRetire, Ref: attrcrypt.KeyRef{Tenant: tenant, Class: class, Version: floor}})
	return nil
}

// Rewrap implements Admin. The Store's Wrapper must be a KeyWrapper.
func (s *Store) Rewrap(ctx context.Context, tenant, class string, from Wrapper) (int, error) {
	n, err := s.rewrite(ctx, tenant, class, rewriteOp{rewrap: true, from: from})
	if err == nil {
		s.emit(ctx, Event{Type: EventRewrap, Ref: attrcrypt.KeyRef{Tenant: tenant, Class: class}})
	}
	return n, err
}

// rewriteOp says what rewrite changes in each record.
type rewriteOp struct {
	disabled *bool   // set the disabled flag
	rewrap   bool    // wrap under the Store's Wrapper
	from     Wrapper // unwraps the stored records (nil: the Store's)
}

func (op rewriteOp) disabling() bool { return op.disabled != nil && *op.disabled }

// rewrite re-tags every live record of (tenant, class) after applying op,
// each with a conditional write, so it is resumable and never overwrites a
// concurrent change. Records without a tag are upgraded. When disabling, a
// record that cannot be authenticated is still flagged.
func (s *Store) rewrite(ctx context.Context, tenant, class string, op rewriteOp) (int, error) {
	if err := validateTC(tenant, class); err != nil {
		return 0, err
	}
	var dest KeyWrapper
	if op.rewrap {
		var ok bool
		if dest, ok = s.w.(KeyWrapper); !ok {
			return 0, fmt.Errorf("tenantkeys: rewrap: %T cannot wrap existing keys: %w", s.w, errors.ErrUnsupported)
		}
	}
	l, err := s.b.list(ctx, tenant)
	if err != nil {
		return 0, err
	}
	if shreddedFor(l.tomb, class, 0) {
		return 0, shreddedErr(attrcrypt.KeyRef{Tenant: tenant, Class: class})
	}
	p, ok := l.pointers[class]
	if !ok {
		return 0, fmt.Errorf("%w: %s has no key", ErrKeyNotFound, attrcrypt.KeyRef{Tenant: tenant, Class: class})
	}
	n := 0
	var cur attrcrypt.Key
	defer cur.Zero()
	var curWrapped Wrapped
	haveCur := false
	for _, v := range l.versions {
		if v.class != class || v.version < p.floor {
			continue // retired leftovers are never blessed
		}
		ref := attrcrypt.KeyRef{Tenant: tenant, Class: class, Version: v.version}
		key, err := s.recover(ctx, ref, v.wrapped, op.from)
		if err == nil && len(v.tag) > 0 {
			err = s.checkTag(ref, roleVersion, v.tag, s.versionTag(&key, tenant, &v))
		}
		if err != nil {
			key.Zero()
			if !op.disabling() {
				return n, err
			}
			if !v.disabled {
				nv := v
				nv.disabled = true
				if err := s.b.replaceVersion(ctx, tenant, v, nv); err != nil {
					return n, err
				}
				n++
			}
			continue
		}
		nv := v
		if op.disabled != nil {
			nv.disabled = *op.disabled
		}
		if op.rewrap && !s.wrapsUnder(ref, v.wrapped) {
			if nv.wrapped, err = dest.Wrap(ctx, key); err != nil {
				key.Zero()
				return n, err
			}
		}
		if v.version == p.version {
			cur, curWrapped, haveCur = key, nv.wrapped, true
		}
		if nv.disabled != v.disabled || !sameWrapped(nv.wrapped, v.wrapped) || len(v.tag) == 0 {
			nv.tag = s.versionTag(&key, tenant, &nv)
			if err := s.b.replaceVersion(ctx, tenant, v, nv); err != nil {
				key.Zero()
				return n, err
			}
			n++
		}
		key.Zero()
	}
	ref := attrcrypt.KeyRef{Tenant: tenant, Class: class, Version: p.version}
	np := p
	if op.disabled != nil {
		np.disabled = *op.disabled
	}
	if !haveCur {
		cur, err = s.recover(ctx, ref, p.wrapped, op.from)
		curWrapped = p.wrapped
		if err == nil && op.rewrap && !s.wrapsUnder(ref, p.wrapped) {
			curWrapped, err = dest.Wrap(ctx, cur)
		}
	}
	if err == nil && len(p.tag) > 0 {
		err = s.checkTag(ref, rolePointer, p.tag, s.pointerTag(&cur, tenant, class, &p))
	}
	if err != nil {
		if op.disabling() && !p.disabled {
			np.wrapped, np.tag = p.wrapped, p.tag
			if err := s.b.replacePointer(ctx, tenant, class, p, np); err != nil {
				return n, err
			}
			return n + 1, nil
		}
		if op.disabling() {
			return n, nil
		}
		return n, err
	}
	np.wrapped = curWrapped
	if np.disabled != p.disabled || !sameWrapped(np.wrapped, p.wrapped) || len(p.tag) == 0 {
		np.tag = s.pointerTag(&cur, tenant, class, &np)
		if err := s.b.replacePointer(ctx, tenant, class, p, np); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// recover unwraps a stored key with from (nil: the Store's Wrapper). A
// record from no longer allows may already be under the Store's key (a
// resumed Rewrap), so that is tried next.
func (s *Store) recover(ctx context.Context, ref attrcrypt.KeyRef, w Wrapped, from Wrapper) (attrcrypt.Key, error) {
	if from == nil {
		return s.unwrap(ctx, ref, w)
	}
	k, err := from.Unwrap(ctx, ref, w)
	s.emit(ctx, Event{Type: EventUnwrap, Ref: ref, KMSKeyID: w.KeyID, Err: err})
	if errors.Is(err, ErrUntrustedKey) {
		return s.unwrap(ctx, ref, w)
	}
	return k, err
}

func (s *Store) wrapsUnder(ref attrcrypt.KeyRef, w Wrapped) bool {
	t, ok := s.w.(wrapTarget)
	return ok && t.wrapsUnder(ref, w)
}

func sameWrapped(a, b Wrapped) bool { return a.KeyID == b.KeyID && bytes.Equal(a.Blob, b.Blob) }
