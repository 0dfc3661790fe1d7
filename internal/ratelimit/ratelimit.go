// Package ratelimit counts attempts in Redis: sign-in codes per phone and
// per IP, password guesses, receipt uploads per participant per hour and
// per day. A counter is a fixed window that opens at the first hit and
// lives for the window's length; every process of the API shares it, so the
// limits hold however many API processes run.
//
// ExceededError is what domain code returns when a limit is hit: it wraps
// an *apperr.Error of kind RateLimited (HTTP 429) and carries the delay the
// transport puts in Retry-After.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// Limiter is a Redis fixed-window counter. It is safe for concurrent use.
type Limiter struct {
	rdb    redis.Cmdable
	prefix string
}

// New returns a Limiter keeping its counters under prefix (e.g. "lj:rl:").
func New(rdb redis.Cmdable, prefix string) *Limiter {
	if prefix == "" {
		prefix = "lj:rl:"
	}
	return &Limiter{rdb: rdb, prefix: prefix}
}

// hit increments the counter and opens its window on the first hit. A key
// that lost its TTL (it should not happen) gets one again, so a counter can
// never block forever.
var hit = redis.NewScript(`
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {c, ttl}
`)

// Decision is the outcome of one Allow.
type Decision struct {
	// OK is false when this hit exceeds the limit.
	OK bool
	// Count is the number of hits in the current window, this one included.
	Count int
	// RetryAfter is how long until the window closes.
	RetryAfter time.Duration
}

// Allow counts one hit on key and reports whether it is within limit hits
// per window. Hits over the limit are counted too (a client hammering a
// closed door keeps it closed only until the window ends, not longer).
func (l *Limiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (Decision, error) {
	ms := window.Milliseconds()
	if ms <= 0 {
		ms = 1
	}
	res, err := hit.Run(ctx, l.rdb, []string{l.prefix + key}, ms).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: %w", err)
	}
	if len(res) != 2 {
		return Decision{}, fmt.Errorf("ratelimit: unexpected reply %v", res)
	}
	d := Decision{Count: int(res[0]), RetryAfter: time.Duration(res[1]) * time.Millisecond}
	d.OK = d.Count <= limit
	return d, nil
}

// Reset forgets the counter of key (e.g. after a successful sign-in).
func (l *Limiter) Reset(ctx context.Context, key string) error {
	return l.rdb.Del(ctx, l.prefix+key).Err()
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
