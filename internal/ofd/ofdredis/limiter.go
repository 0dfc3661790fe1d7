// Package ofdredis keeps the fiscal data providers' shared call budget in
// Redis: Limiter implements ofd.Limiter for every worker process at once.
package ofdredis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/loyaltyjam/loyaltyjam/internal/ofd"
)

// Limit is the budget of one provider, shared by every process that uses the
// same Redis and key prefix.
type Limit struct {
	// Rate calls are allowed per Per (fixed window); Rate 0 disables the
	// rate limit.
	Rate int
	Per  time.Duration
	// DailyQuota calls are allowed per calendar day in the limiter's
	// location; 0 disables the quota (the day's count is still kept).
	DailyQuota int64
}

// Config configures a Limiter.
type Config struct {
	// Client is the Redis connection (a *redis.Client or cluster client).
	Client redis.Cmdable
	// Prefix namespaces the keys, e.g. "loyaltyjam:ofd".
	Prefix string
	// Limits per provider name; a provider without an entry is not limited
	// but its daily count is kept.
	Limits map[string]Limit
	// Location decides when a day starts for DailyQuota; default Moscow
	// (UTC+3), where FNS quotas are counted.
	Location *time.Location
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Limiter is a per-provider fixed-window rate limiter plus a daily
// quota counter kept in Redis, so that every worker process shares them.
// A Lua script checks both counters and increments them atomically only
// when the call is allowed, so the daily count equals the calls made.
//
// Keys: {prefix:provider}:w:<window index> (expires after the window) and
// {prefix:provider}:d:<yyyymmdd> (expires after two days). The hash tag
// keeps both in one cluster slot.
type Limiter struct {
	cfg Config
}

// New returns a limiter; it fails without a client.
func New(cfg Config) (*Limiter, error) {
	if cfg.Client == nil {
		return nil, errors.New("ofd: limiter: redis client is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "ofd"
	}
	if cfg.Location == nil {
		cfg.Location = moscow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	for name, l := range cfg.Limits {
		if l.Rate > 0 && l.Per <= 0 {
			return nil, fmt.Errorf("ofd: limiter: %s: Rate without Per", name)
		}
	}
	return &Limiter{cfg: cfg}, nil
}

// moscow is where FNS quotas are counted; Russia has had no DST since 2014.
var moscow = time.FixedZone("MSK", 3*3600)

var _ ofd.Limiter = (*Limiter)(nil)

// takeScript: KEYS window, day; ARGV rate, window ms, quota, day ttl s.
// Returns {verdict, windowCount, dayCount}: 0 allowed, 1 rate, 2 quota.
var takeScript = redis.NewScript(`
local rate = tonumber(ARGV[1])
local quota = tonumber(ARGV[3])
local w = tonumber(redis.call('GET', KEYS[1]) or '0')
local d = tonumber(redis.call('GET', KEYS[2]) or '0')
if rate > 0 and w >= rate then return {1, w, d} end
if quota > 0 and d >= quota then return {2, w, d} end
w = redis.call('INCR', KEYS[1])
if w == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
d = redis.call('INCR', KEYS[2])
if d == 1 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
return {0, w, d}
`)

func (l *Limiter) dayKey(provider string, now time.Time) string {
	return fmt.Sprintf("{%s:%s}:d:%s", l.cfg.Prefix, provider, now.In(l.cfg.Location).Format("20060102"))
}

// Take accounts one call to provider (ofd.Limiter). It returns nil when the call may
// proceed, an *ofd.RateLimitedError (Reason "local_rate" or "local_daily_quota")
// when the budget is spent, or an *ofd.TransientError when Redis fails (we do
// not spend a paid quota blind).
func (l *Limiter) Take(ctx context.Context, provider string) error {
	lim := l.cfg.Limits[provider]
	now := l.cfg.Now()
	per := lim.Per
	if per <= 0 {
		per = time.Minute
	}
	idx := now.UnixMilli() / per.Milliseconds()
	wkey := fmt.Sprintf("{%s:%s}:w:%d", l.cfg.Prefix, provider, idx)
	res, err := takeScript.Run(ctx, l.cfg.Client, []string{wkey, l.dayKey(provider, now)},
		lim.Rate, per.Milliseconds(), lim.DailyQuota, int64((48 * time.Hour).Seconds())).Int64Slice()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &ofd.TransientError{Provider: provider, Op: "limiter", Err: err}
	}
	switch res[0] {
	case 1:
		wait := time.Duration((idx+1)*per.Milliseconds()-now.UnixMilli()) * time.Millisecond
		return &ofd.RateLimitedError{Provider: provider, Reason: "local_rate", RetryAfter: wait,
			Message: fmt.Sprintf("%d calls per %s used", lim.Rate, per)}
	case 2:
		t := now.In(l.cfg.Location)
		midnight := time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, l.cfg.Location)
		return &ofd.RateLimitedError{Provider: provider, Reason: "local_daily_quota", RetryAfter: midnight.Sub(now),
			Message: fmt.Sprintf("daily quota %d used", lim.DailyQuota)}
	}
	return nil
}

// DailyUsed returns how many calls to provider were allowed today (in the
// limiter's location), for metrics.
func (l *Limiter) DailyUsed(ctx context.Context, provider string) (int64, error) {
	n, err := l.cfg.Client.Get(ctx, l.dayKey(provider, l.cfg.Now())).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return n, err
}
