package tenantkeys

import (
	"sync"
	"sync/atomic"
	"time"
)

// Coarse clock for cache expiry.
//
// Reading the clock costs more than the rest of a cached lookup (time.Now
// reads the wall and the monotonic clock; even the monotonic read alone is
// a vDSO call). The cache therefore reads a process-wide coarse clock: an
// atomic counter of monotonic nanoseconds that a background goroutine
// refreshes every coarseTick while caches are in use. The goroutine starts
// on the first lookup and stops after coarseIdleTicks ticks without one;
// while it is stopped, a lookup reads the exact clock and restarts it.
//
// Consequence, and the reason for the documented caveat on Cache: an entry
// may be served up to one tick (plus scheduling delay) past its TTL. If the
// whole process is frozen while the goroutine runs (for example an AWS
// Lambda environment frozen between invocations less than a second after
// the last lookup), lookups right after the thaw may see the time of the
// freeze until the goroutine's next tick, typically well under a
// millisecond later.
const (
	coarseTick      = 5 * time.Millisecond
	coarseIdleTicks = 200 // about one second without lookups
)

type coarseClock struct {
	base    time.Time // carries a monotonic reading
	now     atomic.Int64
	running atomic.Bool
	used    atomic.Bool
	mu      sync.Mutex
}

var processClock = &coarseClock{base: time.Now()}

// Now returns monotonic nanoseconds since base, at most about one tick old.
func (c *coarseClock) Now() int64 {
	if c.running.Load() {
		if !c.used.Load() {
			c.used.Store(true)
		}
		return c.now.Load()
	}
	return c.start()
}

func (c *coarseClock) start() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.advance()
	if !c.running.Load() {
		c.used.Store(true)
		c.running.Store(true)
		go c.run()
	}
	return n
}

func (c *coarseClock) run() {
	t := time.NewTicker(coarseTick)
	defer t.Stop()
	idle := 0
	for range t.C {
		c.advance()
		if c.used.Swap(false) {
			idle = 0
			continue
		}
		if idle++; idle >= coarseIdleTicks {
			c.mu.Lock()
			c.running.Store(false)
			c.mu.Unlock()
			return
		}
	}
}

// advance moves now forward to the exact monotonic time (never backwards,
// even when start and run race) and returns the value it set or found.
func (c *coarseClock) advance() int64 {
	n := int64(time.Since(c.base))
	for {
		old := c.now.Load()
		if n <= old {
			return old
		}
		if c.now.CompareAndSwap(old, n) {
			return n
		}
	}
}
