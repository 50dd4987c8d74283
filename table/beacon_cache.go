package table

import (
	"sync"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// maxSearchers bounds a table's searcher cache: beyond it, half the
// entries are dropped (they are cheap to derive again).
const maxSearchers = 4096

// searcherKey names a Searcher: the beacon key (by reference; a key
// version's material never changes, and a shredded tenant reopened gets
// a new version) and the source attribute. The logical table is the
// table's own.
type searcherKey struct {
	tenant, class string
	version       uint32
	attr          string
}

// searcherCache keeps the attrcrypt.Searcher of each (beacon key,
// attribute) a table has used, so that a beacon costs one HMAC instead of
// two HKDF derivations and an HMAC. It only saves the derivation: every
// write and search still fetches the beacon key from the provider first,
// so a shredded tenant's cached entries are never reached. A Searcher
// holds keys derived from the beacon key (never the key itself) as hash
// states, which Go cannot wipe; a dropped entry is left to the garbage
// collector.
type searcherCache struct {
	mu sync.RWMutex
	m  map[searcherKey]*attrcrypt.Searcher
}

// get returns the Searcher of attr under key for the logical table.
func (c *searcherCache) get(key *attrcrypt.Key, table, attr string) (*attrcrypt.Searcher, error) {
	k := searcherKey{tenant: key.Ref.Tenant, class: key.Ref.Class, version: key.Ref.Version, attr: attr}
	c.mu.RLock()
	s := c.m[k]
	c.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	s, err := attrcrypt.NewSearcher(*key, table, attr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[searcherKey]*attrcrypt.Searcher)
	}
	if len(c.m) >= maxSearchers {
		for old := range c.m { // map order: an arbitrary half
			delete(c.m, old)
			if len(c.m) <= maxSearchers/2 {
				break
			}
		}
	}
	c.m[k] = s
	return s, nil
}
