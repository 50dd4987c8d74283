package tenantkeys

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/smithy-go/metrics"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// Cache defaults.
const (
	// DefaultCacheTTL is how long a cached key is served before the
	// provider is asked again.
	DefaultCacheTTL = 5 * time.Minute
	// DefaultCacheEntries bounds the number of cached keys.
	DefaultCacheEntries = 10000
)

// errLoadPanicked is what goroutines waiting on a load see when the
// provider panicked in the loading goroutine (which re-panics).
var errLoadPanicked = fmt.Errorf("%w: key provider panicked", ErrKeyStoreUnavailable)

// cacheKey hashes without allocating: two strings and an integer. Version
// 0 names the current-key entry of (tenant, class).
type cacheKey struct {
	tenant, class string
	version       uint32
}

type entry struct {
	key        cacheKey
	k          attrcrypt.Key
	expires    int64 // clock nanoseconds
	prev, next *entry
}

type call struct {
	done    chan struct{}
	k       attrcrypt.Key
	err     error
	waiters int
	// sub is the Key entry a current-key load also fills: Key requests
	// for that version wait for it rather than unwrapping a second time.
	sub    *call
	subKey cacheKey
}

// errRetryLoad tells goroutines waiting for a version that the current-key
// load they waited on did not produce it; they load it themselves.
var errRetryLoad = errors.New("tenantkeys: retry key load")

// currentLoader is implemented by Store: CurrentKey that can take the key
// of the current version from the cache instead of unwrapping it again.
type currentLoader interface {
	currentKey(ctx context.Context, tenant, class string, have haveFunc) (attrcrypt.Key, error)
}

// CacheStats are a Cache's counters since it was made.
type CacheStats struct {
	// Hits counts lookups answered from the cache.
	Hits uint64
	// Misses counts lookups the cache could not answer itself, including
	// those that waited for another goroutine's load.
	Misses uint64
	// Loads counts calls to the underlying provider. Over a Store each is
	// one key store read and one unwrap (one KMS Decrypt with KMSWrapper),
	// however many goroutines asked at once.
	Loads uint64
	// LoadErrors counts loads that failed.
	LoadErrors uint64
	// Evictions counts entries dropped to respect the size bound or by
	// Purge and Flush; Expirations counts entries dropped at their TTL.
	// Either way their key bytes were zeroed.
	Evictions, Expirations uint64
	// Entries is the number of keys held now.
	Entries int
}

// Cache is a Provider that remembers keys from another Provider.
//
//   - Bounded: at most WithMaxEntries keys. Every entry lives for the same
//     TTL, so entries are kept in expiry order; when the cache is full the
//     entry closest to expiry is evicted (for a constant TTL that is the
//     oldest inserted).
//   - TTL (WithTTL) for every entry, current-key entries included, so a
//     rotation, disable or shred done by another process, or a revoked KMS
//     key, is noticed within one TTL. A warm cache keeps serving through a
//     KMS outage until the TTL; a cold one fails with the provider's error
//     (wrapping ErrKMSUnavailable for a KMS outage).
//   - One load per key however many goroutines ask at once (an internal
//     singleflight); the others wait for its result or their context.
//   - Key bytes of a dropped entry (expired, evicted, purged) are zeroed.
//     Expired entries are dropped at the next lookup of any key, as every
//     lookup first drops expired entries from the head of the expiry
//     order. Copies already returned to callers are theirs to zero.
//   - Errors are not cached: the next lookup asks the provider again. A
//     load that reports ErrKeyShredded purges every entry of that tenant.
//   - Monotonic: once it has served version N as a tenant's current key, a
//     provider answer with an older current version fails with
//     ErrKeyRecordTampered (a rolled-back key store pointer), so no write
//     goes back to an older key.
//
// Clock: unless WithClock supplies one, the cache reads a coarse monotonic
// clock (immune to wall clock steps): an atomic value that a background
// goroutine refreshes every 5 ms while any cache is in use, and that stops
// after about a second without lookups. Reading it costs a few atomic loads
// instead of a clock read, so over a cached key a lookup takes a mutex and
// one map lookup with a struct key, and allocates nothing. The price: an
// entry may be served up to one tick (plus scheduling delay) past its TTL,
// and if the process is frozen less than a second after its last lookup
// (an AWS Lambda environment between invocations), lookups right after the
// thaw may see the frozen time until the next tick, typically well under a
// millisecond. TTLs are meant in minutes, so neither matters in practice.
//
// A Cache is safe for concurrent use.
type Cache struct {
	p     Provider
	clock func() time.Time // WithClock, or nil for the coarse clock
	wall  func() time.Time
	ttl   int64
	max   int
	opts  options

	mu       sync.Mutex
	m        map[cacheKey]*entry
	head     *entry // expires first
	tail     *entry
	inflight map[cacheKey]*call
	st       CacheStats
	hits     metrics.Int64Counter
	misses   metrics.Int64Counter
	hw       highWater // highest current version loaded per (tenant, class)
}

var _ Provider = (*Cache)(nil)

// NewCache returns a Cache in front of p. Options: WithTTL,
// WithMaxEntries, WithClock, WithAudit (evict events).
func NewCache(p Provider, opts ...Option) *Cache {
	o := buildOptions(opts)
	c := &Cache{
		p:        p,
		wall:     o.now,
		ttl:      int64(o.ttl),
		max:      o.maxEntries,
		opts:     o,
		m:        make(map[cacheKey]*entry),
		inflight: make(map[cacheKey]*call),
	}
	if o.clockSet {
		c.clock = o.now
	}
	c.hits, c.misses = cacheMeters(o)
	return c
}

// now returns nanoseconds on the cache's clock: the process-wide coarse
// monotonic clock (see clock.go), or WithClock's clock.
func (c *Cache) now() int64 {
	if c.clock != nil {
		return c.clock().UnixNano()
	}
	return processClock.Now()
}

// CurrentKey implements Provider.
func (c *Cache) CurrentKey(ctx context.Context, tenant, class string) (attrcrypt.Key, error) {
	k := cacheKey{tenant: tenant, class: class}
	now := c.now()
	c.mu.Lock()
	if e, ok := c.m[k]; ok && e.expires > now && c.head.expires > now {
		c.st.Hits++
		key := e.k
		c.mu.Unlock()
		count(ctx, c.hits)
		return key, nil
	}
	c.mu.Unlock()
	return c.get(ctx, k)
}

// Key implements Provider.
func (c *Cache) Key(ctx context.Context, ref attrcrypt.KeyRef) (attrcrypt.Key, error) {
	if ref.Version == 0 {
		return attrcrypt.Key{}, fmt.Errorf("%w: key version 0 does not exist", ErrKeyNotFound)
	}
	k := cacheKey{tenant: ref.Tenant, class: ref.Class, version: ref.Version}
	// Fast path (repeated in CurrentKey to save a copy of the key): a live
	// entry, and nothing expired to drop first.
	now := c.now()
	c.mu.Lock()
	if e, ok := c.m[k]; ok && e.expires > now && c.head.expires > now {
		c.st.Hits++
		key := e.k
		c.mu.Unlock()
		count(ctx, c.hits)
		return key, nil
	}
	c.mu.Unlock()
	return c.get(ctx, k)
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.st
	s.Entries = len(c.m)
	return s
}

// Purge drops (and zeroes) every cached key of tenant, for example after
// an admin in this process rotated, disabled or shredded it.
func (c *Cache) Purge(tenant string) {
	c.mu.Lock()
	var dropped []cacheKey
	for k, e := range c.m {
		if k.tenant == tenant {
			c.removeLocked(e)
			c.st.Evictions++
			dropped = append(dropped, k)
		}
	}
	c.mu.Unlock()
	c.emitEvicted(dropped)
}

// Flush drops (and zeroes) every cached key.
func (c *Cache) Flush() {
	c.mu.Lock()
	var dropped []cacheKey
	for k, e := range c.m {
		c.removeLocked(e)
		c.st.Evictions++
		dropped = append(dropped, k)
	}
	c.mu.Unlock()
	c.emitEvicted(dropped)
}

func (c *Cache) emitEvicted(keys []cacheKey) {
	if c.opts.audit == nil || len(keys) == 0 {
		return
	}
	t := c.wall()
	for _, k := range keys {
		c.opts.audit(context.Background(), Event{Type: EventEvict, Ref: attrcrypt.KeyRef{Tenant: k.tenant, Class: k.class, Version: k.version}, Time: t})
	}
}

func (c *Cache) get(ctx context.Context, k cacheKey) (attrcrypt.Key, error) {
	waitedCurrent := false
	for {
		now := c.now()
		c.mu.Lock()
		var expired []cacheKey
		if c.head != nil && c.head.expires <= now {
			expired = c.expireLocked(now)
		}
		if e, ok := c.m[k]; ok && e.expires > now {
			c.st.Hits++
			key := e.k
			c.mu.Unlock()
			c.emitEvicted(expired)
			count(ctx, c.hits)
			return key, nil
		}
		c.st.Misses++
		count(ctx, c.misses) // under the lock: an Add must not block (OpenTelemetry's do not)
		if cl, ok := c.inflight[k]; ok {
			cl.waiters++
			c.mu.Unlock()
			c.emitEvicted(expired)
			key, err, retry := c.wait(ctx, cl)
			if retry {
				continue
			}
			return key, err
		}
		if cur, ok := c.inflight[cacheKey{tenant: k.tenant, class: k.class}]; ok && k.version != 0 && !waitedCurrent {
			// A current-key load is running and may be for this very
			// version: wait for it rather than unwrap the same key twice.
			waitedCurrent = true
			cur.waiters++
			c.mu.Unlock()
			c.emitEvicted(expired)
			key, err, _ := c.wait(ctx, cur)
			if err == nil && key.Ref.Version == k.version {
				return key, nil
			}
			key.Zero()
			if ctx.Err() != nil {
				return attrcrypt.Key{}, ctx.Err()
			}
			continue
		}
		cl := &call{done: make(chan struct{})}
		c.inflight[k] = cl
		c.mu.Unlock()
		c.emitEvicted(expired)
		return c.load(ctx, k, cl)
	}
}

// wait waits for another goroutine's load. retry is true when that load
// failed only because its caller's context ended while ours is live.
func (c *Cache) wait(ctx context.Context, cl *call) (key attrcrypt.Key, err error, retry bool) {
	select {
	case <-cl.done:
	case <-ctx.Done():
		c.mu.Lock()
		cl.waiters--
		c.mu.Unlock()
		return attrcrypt.Key{}, ctx.Err(), false
	}
	c.mu.Lock()
	key, err = cl.k, cl.err
	cl.waiters--
	if cl.waiters == 0 {
		cl.k.Zero()
	}
	c.mu.Unlock()
	if err != nil && (errors.Is(err, errRetryLoad) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) && ctx.Err() == nil {
		return attrcrypt.Key{}, nil, true
	}
	return key, err, false
}

func (c *Cache) load(ctx context.Context, k cacheKey, cl *call) (key attrcrypt.Key, err error) {
	finished := false
	defer func() {
		if !finished {
			c.finish(k, cl, attrcrypt.Key{}, errLoadPanicked)
		}
	}()
	if cur, ok := c.p.(currentLoader); ok && k.version == 0 {
		key, err = cur.currentKey(ctx, k.tenant, k.class, func(ctx context.Context, v uint32) (attrcrypt.Key, bool) {
			return c.have(ctx, k, cl, v)
		})
	} else if k.version == 0 {
		key, err = c.p.CurrentKey(ctx, k.tenant, k.class)
	} else {
		key, err = c.p.Key(ctx, attrcrypt.KeyRef{Tenant: k.tenant, Class: k.class, Version: k.version})
	}
	finished = true
	if err == nil && k.version == 0 {
		// Never move a tenant's current version backwards, whatever the
		// provider says after a newer one was served.
		if seen := c.hw.get(k.tenant, k.class).current; key.Ref.Version < seen {
			err = tamperedf("%s: current version went back from %d (rolled-back pointer)", key.Ref, seen)
			key.Zero()
			key = attrcrypt.Key{}
		} else {
			c.hw.raise(k.tenant, k.class, key.Ref.Version, 0)
		}
	}
	if err == nil && (key.Ref.Tenant != k.tenant || key.Ref.Class != k.class || k.version != 0 && key.Ref.Version != k.version) {
		key.Zero()
		err = fmt.Errorf("%w: provider returned %s for tenant %q class %q version %d", ErrKeyCorrupt, key.Ref, k.tenant, classLabel(k.class), k.version)
		key = attrcrypt.Key{}
	}
	c.finish(k, cl, key, err)
	return key, err
}

// have answers a current-key load's question "is version v of this key
// cached or loading?": a live entry or another load's result is reused;
// otherwise the current-key load registers itself as the load of v, so
// Key requests for v wait for it.
func (c *Cache) have(ctx context.Context, k cacheKey, own *call, v uint32) (attrcrypt.Key, bool) {
	vk := cacheKey{tenant: k.tenant, class: k.class, version: v}
	now := c.now()
	c.mu.Lock()
	if e, ok := c.m[vk]; ok && e.expires > now {
		key := e.k
		c.mu.Unlock()
		return key, true
	}
	if cl, ok := c.inflight[vk]; ok {
		cl.waiters++
		c.mu.Unlock()
		key, err, _ := c.wait(ctx, cl)
		return key, err == nil
	}
	if own.sub == nil {
		own.sub, own.subKey = &call{done: make(chan struct{})}, vk
		c.inflight[vk] = own.sub
	}
	c.mu.Unlock()
	return attrcrypt.Key{}, false
}

func (c *Cache) finish(k cacheKey, cl *call, key attrcrypt.Key, err error) {
	now := c.now()
	var dropped []cacheKey
	c.mu.Lock()
	c.st.Loads++
	if err != nil {
		c.st.LoadErrors++
		if errors.Is(err, ErrKeyShredded) {
			for ck, e := range c.m {
				if ck.tenant == k.tenant {
					c.removeLocked(e)
					c.st.Evictions++
					dropped = append(dropped, ck)
				}
			}
		}
	} else {
		dropped = c.insertLocked(k, key, now, dropped)
		if k.version == 0 {
			// The current key also answers Key(ref) for its version.
			dropped = c.insertLocked(cacheKey{tenant: k.tenant, class: k.class, version: key.Ref.Version}, key, now, dropped)
		}
	}
	delete(c.inflight, k)
	if cl.waiters > 0 {
		cl.k, cl.err = key, err
	}
	close(cl.done)
	if sub := cl.sub; sub != nil {
		if c.inflight[cl.subKey] == sub {
			delete(c.inflight, cl.subKey)
		}
		if sub.waiters > 0 {
			if err == nil && key.Ref.Version == cl.subKey.version {
				sub.k = key
			} else {
				sub.err = errRetryLoad
			}
		}
		close(sub.done)
	}
	c.mu.Unlock()
	c.emitEvicted(dropped)
}

func (c *Cache) insertLocked(k cacheKey, key attrcrypt.Key, now int64, dropped []cacheKey) []cacheKey {
	if old, ok := c.m[k]; ok {
		c.removeLocked(old)
	}
	for len(c.m) >= c.max && c.head != nil {
		dropped = append(dropped, c.head.key)
		c.removeLocked(c.head)
		c.st.Evictions++
	}
	e := &entry{key: k, k: key, expires: now + c.ttl, prev: c.tail}
	if c.tail != nil {
		c.tail.next = e
	} else {
		c.head = e
	}
	c.tail = e
	c.m[k] = e
	return dropped
}

// expireLocked drops expired entries from the head of the expiry order.
func (c *Cache) expireLocked(now int64) []cacheKey {
	var dropped []cacheKey
	for c.head != nil && c.head.expires <= now {
		dropped = append(dropped, c.head.key)
		c.removeLocked(c.head)
		c.st.Expirations++
	}
	return dropped
}

// removeLocked unlinks e, deletes it from the map and zeroes its key.
func (c *Cache) removeLocked(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = nil, nil
	if c.m[e.key] == e {
		delete(c.m, e.key)
	}
	e.k.Zero()
}
