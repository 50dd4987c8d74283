package tenantkeys

import (
	"bytes"
	"context"
	"crypto/hmac"
	"fmt"
	"maps"
	"sort"
	"sync"
	"time"
)

type memTenant struct {
	tomb     *tombstone
	pointers map[string]*pointer
	versions map[string]map[uint32]versionRec
}

// memBackend is the in-memory backend; one mutex serialises it, which gives
// it the same conditional semantics as the DynamoDB transactions.
type memBackend struct {
	mu      sync.Mutex
	tenants map[string]*memTenant
}

func newMemBackend() *memBackend { return &memBackend{tenants: make(map[string]*memTenant)} }

func (m *memBackend) tenant(name string) *memTenant {
	t := m.tenants[name]
	if t == nil {
		t = &memTenant{pointers: make(map[string]*pointer), versions: make(map[string]map[uint32]versionRec)}
		m.tenants[name] = t
	}
	return t
}

func copyTomb(t *tombstone) *tombstone {
	if t == nil {
		return nil
	}
	c := *t
	c.floor = maps.Clone(t.floor)
	return &c
}

func (m *memBackend) read(_ context.Context, tenant, class string, version uint32) (snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tenants[tenant]
	if t == nil {
		return snapshot{}, nil
	}
	snap := snapshot{tomb: copyTomb(t.tomb)}
	if p := t.pointers[class]; p != nil {
		c := *p
		snap.ptr = &c
	}
	if version != 0 {
		if v, ok := t.versions[class][version]; ok {
			snap.ver = &v
		}
	}
	return snap, nil
}

func (m *memBackend) advance(_ context.Context, tenant, class string, from *pointer, rec versionRec, ptr pointer, tomb *tombstone) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tenant(tenant)
	switch {
	case tomb == nil && t.tomb != nil,
		tomb != nil && (t.tomb == nil || t.tomb.epoch != tomb.epoch || !t.tomb.reopened):
		return fmt.Errorf("%w: tenant %q was shredded", ErrKeyShredded, tenant)
	}
	p := t.pointers[class]
	if from == nil && p != nil || from != nil && (p == nil || !samePointer(*p, *from)) {
		return fmt.Errorf("%w: %s class %q moved on concurrently", ErrConflict, tenant, classLabel(class))
	}
	if _, exists := t.versions[class][rec.version]; exists {
		return fmt.Errorf("%w: version %d of tenant %q class %q exists", ErrConflict, rec.version, tenant, classLabel(class))
	}
	if t.versions[class] == nil {
		t.versions[class] = make(map[uint32]versionRec)
	}
	t.versions[class][rec.version] = rec
	t.pointers[class] = &ptr
	return nil
}

// samePointer is the condition replacePointer and advance put on the
// stored pointer: same version, wrapped blob and tag.
func samePointer(a, b pointer) bool {
	return a.version == b.version && bytes.Equal(a.wrapped.Blob, b.wrapped.Blob) && hmac.Equal(a.tag, b.tag)
}

func (m *memBackend) replacePointer(_ context.Context, tenant, class string, old, new pointer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tenants[tenant]
	if t == nil || t.pointers[class] == nil || !samePointer(*t.pointers[class], old) {
		return fmt.Errorf("%w: tenant %q class %q changed concurrently", ErrConflict, tenant, classLabel(class))
	}
	t.pointers[class] = &new
	return nil
}

func (m *memBackend) replaceVersion(_ context.Context, tenant string, old, new versionRec) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tenants[tenant]
	var cur versionRec
	ok := false
	if t != nil {
		cur, ok = t.versions[old.class][old.version]
	}
	if !ok || !bytes.Equal(cur.wrapped.Blob, old.wrapped.Blob) || !hmac.Equal(cur.tag, old.tag) {
		return fmt.Errorf("%w: tenant %q class %q version %d changed concurrently", ErrConflict, tenant, classLabel(old.class), old.version)
	}
	t.versions[old.class][old.version] = new
	return nil
}

func (m *memBackend) deleteVersions(_ context.Context, tenant, class string, versions []uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.tenants[tenant]; t != nil {
		for _, v := range versions {
			delete(t.versions[class], v)
		}
	}
	return nil
}

func (m *memBackend) list(_ context.Context, tenant string) (listing, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := listing{pointers: make(map[string]pointer)}
	t := m.tenants[tenant]
	if t == nil {
		return l, nil
	}
	l.tomb = copyTomb(t.tomb)
	for c, p := range t.pointers {
		l.pointers[c] = *p
	}
	for _, vs := range t.versions {
		for _, v := range vs {
			l.versions = append(l.versions, v)
		}
	}
	sort.Slice(l.versions, func(i, j int) bool {
		a, b := l.versions[i], l.versions[j]
		return a.class < b.class || a.class == b.class && a.version < b.version
	})
	return l, nil
}

func (m *memBackend) shred(_ context.Context, tenant string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tenant(tenant)
	nt := &tombstone{shredded: now, complete: true, floor: make(map[string]uint32)}
	if t.tomb != nil {
		nt.epoch = t.tomb.epoch
		maps.Copy(nt.floor, t.tomb.floor)
	}
	nt.epoch++
	for c, vs := range t.versions {
		for v := range vs {
			nt.floor[c] = max(nt.floor[c], v)
		}
	}
	t.tomb = nt
	clear(t.pointers)
	clear(t.versions)
	return nil
}

func (m *memBackend) reopen(_ context.Context, tenant string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tenants[tenant]
	if t == nil || t.tomb == nil {
		return fmt.Errorf("%w: tenant %q was not shredded", ErrKeyNotFound, tenant)
	}
	t.tomb.reopened = true
	return nil
}
