package tenantkeys

// SameBackend returns another Store over s's backend, as a second process
// over the same key store would be (tests only).
func SameBackend(s *Store, w Wrapper, opts ...Option) *Store { return newStore(s.b, w, s.name, opts) }
