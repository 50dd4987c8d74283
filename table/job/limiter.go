package job

import (
	"context"
	"sync"
	"time"
)

// Limiter is a token bucket that bounds a job to a number of items per
// second, shared by every segment given the same Limiter. It holds at most
// one second of tokens, so a pause is not followed by a burst larger than
// that. A nil *Limiter does not limit. Safe for concurrent use.
type Limiter struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

// NewLimiter returns a limiter of perSecond items per second, or nil (no
// limit) when perSecond <= 0.
func NewLimiter(perSecond float64) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	b := max(perSecond, 1)
	return &Limiter{rate: perSecond, burst: b, tokens: b, now: time.Now}
}

// Wait blocks until n items may proceed, or ctx is done (its error; the
// tokens are given back).
func (l *Limiter) Wait(ctx context.Context, n int) error {
	if l == nil || n <= 0 {
		return ctx.Err()
	}
	l.mu.Lock()
	now := l.now()
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	l.tokens -= float64(n)
	deficit := -l.tokens
	l.mu.Unlock()
	if deficit <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(time.Duration(deficit / l.rate * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		l.tokens += float64(n)
		l.mu.Unlock()
		return ctx.Err()
	}
}
