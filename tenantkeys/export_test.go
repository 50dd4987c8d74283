package tenantkeys

// SameBackend returns another Store over s's backend, as a second process
// over the same key store would be (tests only).
func SameBackend(s *Store, w Wrapper, opts ...Option) *Store { return newStore(s.b, w, s.name, opts) }

// CopyClassRecords copies the pointer and version records of (tenant,
// from) in a memory Store to class to, as a writer of the key store would
// by copying items to another sort key (tests only).
func CopyClassRecords(s *Store, tenant, from, to string) {
	m := s.b.(*memBackend)
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tenants[tenant]
	p := *t.pointers[from]
	t.pointers[to] = &p
	vs := map[uint32]versionRec{}
	for v, r := range t.versions[from] {
		r.class = to
		vs[v] = r
	}
	t.versions[to] = vs
}
