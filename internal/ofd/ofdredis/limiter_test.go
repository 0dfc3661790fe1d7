package ofdredis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/loyaltyjam/loyaltyjam/internal/ofd"
	"github.com/loyaltyjam/loyaltyjam/internal/ofd/ofdredis"
)

// redisForTest connects to REDIS_URL (default redis://127.0.0.1:6379/0) and
// returns a key prefix unique to the test; its keys are deleted afterwards.
func redisForTest(t *testing.T) (*redis.Client, string) {
	t.Helper()
	u := os.Getenv("REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at %s: %v", u, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	prefix := "test:ofd:" + strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + ":" + hex.EncodeToString(b)
	t.Cleanup(func() {
		var keys []string
		iter := rdb.Scan(ctx, 0, "{"+prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.Close()
	})
	return rdb, prefix
}

// TestLimiterSharedByTwoClients: two client instances (two "workers") with
// their own Redis connections share one rate limit and one daily quota.
func TestLimiterSharedByTwoClients(t *testing.T) {
	t.Parallel()
	c := &clockT{now: time.Date(2025, 1, 4, 10, 0, 0, 0, time.UTC)}
	limits := map[string]ofdredis.Limit{"p": {Rate: 3, Per: time.Minute, DailyQuota: 5}}
	rdb1, prefix := redisForTest(t)
	rdb2 := redis.NewClient(rdb1.Options())
	defer rdb2.Close()
	l1, err := ofdredis.New(ofdredis.Config{Client: rdb1, Prefix: prefix, Limits: limits, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := ofdredis.New(ofdredis.Config{Client: rdb2, Prefix: prefix, Limits: limits, Now: c.Now})
	prov1, prov2 := answer(ofd.Receipt{FN: "1"}, nil), answer(ofd.Receipt{FN: "1"}, nil)
	w1, w2 := ofd.Limited("p", prov1, l1), ofd.Limited("p", prov2, l2)
	ctx := context.Background()
	q := ofd.Query{FN: "1", Operation: 1}

	var got []string
	for _, w := range []ofd.Fetcher{w1, w2, w1, w2} {
		_, err := w.Fetch(ctx, q)
		got = append(got, classify(err))
	}
	if strings.Join(got, ",") != "ok,ok,ok,rate_limited" {
		t.Fatalf("window: %v", got)
	}
	_, err = w2.Fetch(ctx, q)
	var rl *ofd.RateLimitedError
	if !errors.As(err, &rl) || rl.Reason != "local_rate" || rl.RetryAfter != time.Minute {
		t.Fatalf("want local_rate with 1m, got %v", err)
	}
	if prov1.calls+prov2.calls != 3 {
		t.Errorf("provider calls = %d, want 3 (limited calls never reach it)", prov1.calls+prov2.calls)
	}
	c.Add(90 * time.Second) // next window, 30 s into it
	for _, w := range []ofd.Fetcher{w1, w2} {
		if _, err := w.Fetch(ctx, q); err != nil {
			t.Fatalf("next window: %v", err)
		}
	}
	_, err = w1.Fetch(ctx, q)
	if !errors.As(err, &rl) || rl.Reason != "local_daily_quota" {
		t.Fatalf("want daily quota, got %v", err)
	}
	// 10:01:30 UTC = 13:01:30 MSK → next Moscow midnight is in 10h58m30s.
	if want := 10*time.Hour + 58*time.Minute + 30*time.Second; rl.RetryAfter != want {
		t.Errorf("RetryAfter = %s, want %s", rl.RetryAfter, want)
	}
	if n, err := l2.DailyUsed(ctx, "p"); err != nil || n != 5 {
		t.Errorf("DailyUsed = %d, %v; want 5", n, err)
	}
	c.Add(11 * time.Hour) // a new Moscow day
	if _, err := w2.Fetch(ctx, q); err != nil {
		t.Errorf("new day: %v", err)
	}
	if n, _ := l1.DailyUsed(ctx, "p"); n != 1 {
		t.Errorf("DailyUsed on the new day = %d, want 1", n)
	}
}

func TestLimiterChainFallsThroughToSecondary(t *testing.T) {
	t.Parallel()
	rdb, prefix := redisForTest(t)
	c := &clockT{now: time.Date(2025, 1, 4, 10, 0, 0, 0, time.UTC)}
	l, _ := ofdredis.New(ofdredis.Config{Client: rdb, Prefix: prefix, Now: c.Now,
		Limits: map[string]ofdredis.Limit{"primary": {Rate: 1, Per: time.Hour}}})
	primary := answer(ofd.Receipt{Provider: "primary"}, nil)
	secondary := answer(ofd.Receipt{Provider: "secondary"}, nil)
	ch := ofd.NewChain(ofd.Limited("primary", primary, l), ofd.Limited("secondary", secondary, l))
	var got []string
	for i := 0; i < 3; i++ {
		r, err := ch.Fetch(context.Background(), ofd.Query{FN: "1"})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Provider)
	}
	if strings.Join(got, ",") != "primary,secondary,secondary" {
		t.Errorf("providers used: %v", got)
	}
	if n, _ := l.DailyUsed(context.Background(), "secondary"); n != 2 {
		t.Errorf("secondary daily count = %d, want 2", n)
	}
}

func TestLimiterRedisDownIsTransient(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	l, _ := ofdredis.New(ofdredis.Config{Client: rdb})
	p := answer(ofd.Receipt{}, nil)
	_, err := ofd.Limited("p", p, l).Fetch(context.Background(), ofd.Query{})
	if !ofd.IsTransient(err) || p.calls != 0 {
		t.Errorf("got %v with %d provider calls", err, p.calls)
	}
}

type clockT struct{ now time.Time }

func (c *clockT) Now() time.Time      { return c.now }
func (c *clockT) Add(d time.Duration) { c.now = c.now.Add(d) }

// classify mirrors the worker's branching.
func classify(err error) string {
	switch {
	case err == nil:
		return "ok"
	case ofd.IsRejected(err):
		return "rejected"
	case errors.Is(err, ofd.ErrNotYet):
		return "not_yet"
	case ofd.IsRateLimited(err):
		return "rate_limited"
	case ofd.IsTransient(err):
		return "transient"
	}
	return "other"
}

// fake is an ofd.Fetcher answering from a function and counting calls.
type fake struct {
	calls int
	fn    func() (ofd.Receipt, error)
}

func (f *fake) Fetch(context.Context, ofd.Query) (ofd.Receipt, error) { f.calls++; return f.fn() }

func answer(r ofd.Receipt, err error) *fake {
	return &fake{fn: func() (ofd.Receipt, error) { return r, err }}
}
