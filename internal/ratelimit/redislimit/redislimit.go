// Package redislimit counts attempts in Redis: sign-in codes per phone and
// per IP, password guesses, receipt uploads per participant per hour and
// per day. A counter is a fixed window that opens at the first hit and
// lives for the window's length; every process of the API shares it, so the
// limits hold however many API processes run.
//
// Redis is not the source of truth, so losing it must not stop sign-ins or
// uploads (PostgreSQL still takes them). When Redis does not answer, a
// Limiter counts in memory instead: the same keys, limits and windows, per
// process (with N API processes a caller gets at most N times the limit
// while Redis is away), in a table of bounded size. After a failure it
// leaves Redis alone for a second, then one request probes it again; once
// Redis answers, its counters are used again and the in-memory ones are
// dropped as they expire.
package redislimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/loyaltyjam/loyaltyjam/internal/ratelimit"
)

// localKeys bounds the in-memory fallback: 100 000 counters, a few MB.
const localKeys = 100_000

// Limiter is a Redis fixed-window counter with an in-memory fallback. It is
// safe for concurrent use.
type Limiter struct {
	rdb    redis.Cmdable
	prefix string
	log    *slog.Logger
	now    func() time.Time
	probe  time.Duration
	local  *ratelimit.Memory
	keys   int // bound of local

	mu        sync.Mutex
	down      bool      // the last Redis call failed
	downUntil time.Time // no Redis call before this, except one probe
	probing   bool      // a probe is under way
}

// Option tunes a Limiter.
type Option func(*Limiter)

// WithLogger logs the switches to and from the in-memory fallback.
func WithLogger(log *slog.Logger) Option { return func(l *Limiter) { l.log = log } }

// WithClock sets the clock of the in-memory counters and of the pause
// between Redis probes (tests).
func WithClock(now func() time.Time) Option { return func(l *Limiter) { l.now = now } }

// WithLocalKeys bounds the in-memory fallback to n counters (default
// 100 000, a few MB). When the table is full of live counters a new key is
// refused, as a limit hit, until some expire: the fallback fails closed
// rather than grow without bound.
func WithLocalKeys(n int) Option { return func(l *Limiter) { l.keys = n } }

// New returns a Limiter keeping its counters under prefix (e.g. "lj:rl:").
func New(rdb redis.Cmdable, prefix string, opts ...Option) *Limiter {
	if prefix == "" {
		prefix = "lj:rl:"
	}
	l := &Limiter{rdb: rdb, prefix: prefix, log: slog.New(slog.DiscardHandler), now: time.Now, probe: time.Second,
		keys: localKeys}
	for _, o := range opts {
		o(l)
	}
	l.local = ratelimit.NewMemory(func() time.Time { return l.now() }, l.keys)
	return l
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

// callTimeout bounds one Redis call: Redis answers in a millisecond, and a
// request should not wait on a Redis that is away (the client retries its
// dials) longer than this before the in-memory count takes over.
const callTimeout = 500 * time.Millisecond

// Allow counts one hit on key and reports whether it is within limit hits
// per window. Hits over the limit are counted too (a client hammering a
// closed door keeps it closed only until the window ends, not longer).
// When Redis fails the hit is counted in memory instead (see the package
// comment); Allow returns an error only when ctx has ended.
func (l *Limiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (ratelimit.Decision, error) {
	window = ratelimit.MinWindow(window)
	if !l.useRedis() {
		return l.local.Allow(ctx, key, limit, window)
	}
	d, err := l.redisAllow(ctx, key, limit, window)
	if err != nil {
		if ctx.Err() != nil {
			l.settle(nil)
			return ratelimit.Decision{}, fmt.Errorf("ratelimit: %w", errors.Join(ctx.Err(), err))
		}
		l.settle(err)
		return l.local.Allow(ctx, key, limit, window)
	}
	l.settle(nil)
	return d, nil
}

func (l *Limiter) redisAllow(ctx context.Context, key string, limit int, window time.Duration) (ratelimit.Decision, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	res, err := hit.Run(ctx, l.rdb, []string{l.prefix + key}, window.Milliseconds()).Int64Slice()
	if err != nil {
		return ratelimit.Decision{}, err
	}
	if len(res) != 2 {
		return ratelimit.Decision{}, fmt.Errorf("unexpected reply %v", res)
	}
	d := ratelimit.Decision{Count: int(res[0]), RetryAfter: time.Duration(res[1]) * time.Millisecond}
	d.OK = d.Count <= limit
	return d, nil
}

// useRedis reports whether this call should go to Redis: always while it
// answers; after a failure only one probe at a time, once a second.
func (l *Limiter) useRedis() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.down {
		return true
	}
	if l.probing || l.now().Before(l.downUntil) {
		return false
	}
	l.probing = true
	return true
}

// settle records the outcome of a Redis call (err nil: it answered).
func (l *Limiter) settle(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.probing = false
	switch {
	case err != nil:
		if !l.down {
			l.log.Warn("rate limiter: redis unavailable, counting in memory", "err", err)
		}
		l.down = true
		l.downUntil = l.now().Add(l.probe)
	case l.down:
		l.down = false
		l.log.Info("rate limiter: redis is back")
	}
}

// Reset forgets the counter of key (e.g. after a successful sign-in), in
// Redis and in memory.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	_ = l.local.Reset(ctx, key)
	if !l.useRedis() {
		return nil
	}
	err := l.rdb.Del(ctx, l.prefix+key).Err()
	if err != nil && ctx.Err() != nil {
		l.settle(nil)
		return err
	}
	l.settle(err)
	return nil
}
