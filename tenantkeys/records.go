package tenantkeys

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// Record roles bound into each record's tag, so a version record cannot
// pass as a pointer or the other way round.
const (
	roleVersion = "version"
	rolePointer = "pointer"
)

const (
	recordTagDomain = "dynaseal/tenantkeys/record/v1"
	recordKeyInfo   = "dynaseal/tenantkeys/record-mac/v1"
	recordTagSize   = sha256.Size
)

// recordTag computes the tag of a key-store record: HMAC-SHA256 under a key
// derived (HKDF-SHA256) from the tenant data key the record carries, over a
// length-prefixed encoding of the record's identity (store name, tenant,
// class, role, version) and every field a reader acts on (wrapping key id,
// wrapped blob, disabled flag, retirement floor, creation time). Only a
// holder of the data key can make a valid tag; the data key is recovered
// only through an allowed wrapping key (see KMSWrapper and Keyring), so a
// key-table writer can neither plant, edit, rename nor copy a record.
func recordTag(k *attrcrypt.Key, store, tenant, class, role string, version uint32, w Wrapped, disabled bool, floor uint32, createdMS int64) []byte {
	mk, err := hkdf.Key(sha256.New, k.Material[:], nil, recordKeyInfo, sha256.Size)
	if err != nil { // cannot happen for a 32-byte output
		panic("tenantkeys: hkdf: " + err.Error())
	}
	defer clear(mk)
	// The same length-prefixed encoding as the keyring's associated data.
	b := appendLP(nil, recordTagDomain)
	b = appendLP(b, store)
	b = appendLP(b, tenant)
	b = appendLP(b, class)
	b = appendLP(b, role)
	b = binary.BigEndian.AppendUint32(b, version)
	b = appendLP(b, w.KeyID)
	b = appendLP(b, string(w.Blob))
	d := byte(0)
	if disabled {
		d = 1
	}
	b = append(b, d)
	b = binary.BigEndian.AppendUint32(b, floor)
	b = binary.BigEndian.AppendUint64(b, uint64(createdMS))
	m := hmac.New(sha256.New, mk)
	m.Write(b)
	return m.Sum(nil)
}

func (s *Store) pointerTag(k *attrcrypt.Key, tenant, class string, p *pointer) []byte {
	return recordTag(k, s.name, tenant, class, rolePointer, p.version, p.wrapped, p.disabled, p.floor, 0)
}

func (s *Store) versionTag(k *attrcrypt.Key, tenant string, v *versionRec) []byte {
	return recordTag(k, s.name, tenant, v.class, roleVersion, v.version, v.wrapped, v.disabled, 0, v.created.UnixMilli())
}

// checkTag verifies a stored tag in constant time. A record without a tag
// was written by a release before record authentication: it is accepted
// only with WithLegacyRecords.
func (s *Store) checkTag(ref attrcrypt.KeyRef, role string, stored, want []byte) error {
	if len(stored) == 0 {
		if s.opts.legacy {
			return nil
		}
		return fmt.Errorf("%w: %s: %s record carries no authentication tag (written before record authentication? run Rewrap to upgrade it)", ErrKeyRecordTampered, ref, role)
	}
	if !hmac.Equal(stored, want) {
		return fmt.Errorf("%w: %w: %s: %s record does not match its identity or contents", ErrKeyRecordTampered, ErrKeyCorrupt, ref, role)
	}
	return nil
}

// tamperedf reports a malformed or inconsistent key-store record. It wraps
// ErrKeyRecordTampered and, for callers of older releases, ErrKeyCorrupt.
func tamperedf(format string, args ...any) error {
	return fmt.Errorf("%w: %w: "+format, append([]any{ErrKeyRecordTampered, ErrKeyCorrupt}, args...)...)
}

// highWater is what a Store has verified for one (tenant, class): the
// highest current version and the highest retirement floor. Neither ever
// moves down in a process, so a pointer rolled back to an older genuine
// record is refused once a newer one was seen.
type highWater struct {
	mu sync.Mutex
	m  map[[2]string]hwMark
}

type hwMark struct{ current, floor uint32 }

func (h *highWater) get(tenant, class string) hwMark {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.m[[2]string{tenant, class}]
}

func (h *highWater) raise(tenant, class string, current, floor uint32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = make(map[[2]string]hwMark)
	}
	k := [2]string{tenant, class}
	m := h.m[k]
	h.m[k] = hwMark{current: max(m.current, current), floor: max(m.floor, floor)}
}
