// Package ratelimit holds what rate limits are made of, with no driver in
// it: a Decision, the ExceededError domain code returns when a limit is hit
// (it wraps an *apperr.Error of kind RateLimited, HTTP 429, and carries the
// delay the transport puts in Retry-After), and Memory, a fixed-window
// counter per key in this process's memory with a bounded table.
//
// The counters every API process shares live in Redis: redislimit.Limiter,
// which falls back to a Memory while Redis does not answer. Domain code
// (auth, intake, the dashboard's sign-in) takes a limiter as an interface
// returning a Decision, so it never reaches go-redis.
package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// Decision is the outcome of one Allow.
type Decision struct {
	// OK is false when this hit exceeds the limit.
	OK bool
	// Count is the number of hits in the current window, this one included.
	Count int
	// RetryAfter is how long until the window closes.
	RetryAfter time.Duration
}

// defaultLocalKeys bounds an in-memory table: 100 000 counters, a few MB.
const defaultLocalKeys = 100_000

// Memory is a fixed-window counter per key in this process's memory, at
// most a bounded number of keys: redislimit.Limiter's fallback while Redis
// is away, and a limiter of its own where there is no Redis. It is safe for
// concurrent use.
type Memory struct {
	now func() time.Time

	mu        sync.Mutex
	max       int
	m         map[string]*window
	lastPrune time.Time
}

type window struct {
	count int
	end   time.Time
}

// NewMemory returns an in-memory counter reading the time from now
// (nil: time.Now) and holding at most maxKeys counters (0: 100 000). When
// the table is full of live counters a new key is refused, as a limit hit,
// until some expire: it fails closed rather than grow without bound.
func NewMemory(now func() time.Time, maxKeys int) *Memory {
	if now == nil {
		now = time.Now
	}
	if maxKeys <= 0 {
		maxKeys = defaultLocalKeys
	}
	return &Memory{now: now, max: maxKeys, m: map[string]*window{}}
}

// Allow counts one hit on key and reports whether it is within limit hits
// per window, as redislimit.Limiter.Allow does. It never fails.
func (c *Memory) Allow(_ context.Context, key string, limit int, window time.Duration) (Decision, error) {
	return c.allow(key, limit, MinWindow(window), c.now()), nil
}

// Reset forgets the counter of key.
func (c *Memory) Reset(_ context.Context, key string) error {
	c.reset(key)
	return nil
}

// MinWindow makes a window of zero or less the shortest one, so a counter
// always ends.
func MinWindow(d time.Duration) time.Duration {
	if d <= 0 {
		return time.Millisecond
	}
	return d
}

func (c *Memory) allow(key string, limit int, d time.Duration, now time.Time) Decision {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.m[key]
	if ok && !now.Before(w.end) {
		delete(c.m, key)
		ok = false
	}
	if !ok {
		if len(c.m) >= c.max && now.Sub(c.lastPrune) >= time.Second {
			c.lastPrune = now
			for k, w := range c.m {
				if !now.Before(w.end) {
					delete(c.m, k)
				}
			}
		}
		if len(c.m) >= c.max {
			return Decision{OK: false, Count: limit + 1, RetryAfter: time.Second}
		}
		w = &window{end: now.Add(d)}
		c.m[key] = w
	}
	w.count++
	return Decision{OK: w.count <= limit, Count: w.count, RetryAfter: w.end.Sub(now)}
}

func (c *Memory) reset(key string) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}

// ExceededError is a limit hit: it unwraps to an *apperr.Error of kind
// RateLimited and says when to retry.
type ExceededError struct {
	Err        *apperr.Error
	RetryAfter time.Duration
}

// Exceeded returns an *ExceededError with the given code and Russian message.
func Exceeded(code, message string, retryAfter time.Duration) *ExceededError {
	return &ExceededError{Err: apperr.New(apperr.RateLimited, code, message), RetryAfter: retryAfter}
}

// Error implements error.
func (e *ExceededError) Error() string {
	return fmt.Sprintf("%s (retry after %s)", e.Err.Error(), e.RetryAfter)
}

// Unwrap returns the *apperr.Error.
func (e *ExceededError) Unwrap() error { return e.Err }

// RetryAfterSeconds rounds RetryAfter up to whole seconds, at least 1, for
// the Retry-After header.
func (e *ExceededError) RetryAfterSeconds() int {
	s := int((e.RetryAfter + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}
