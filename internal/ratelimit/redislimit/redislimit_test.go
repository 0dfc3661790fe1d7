package redislimit_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/ratelimit"
	"github.com/loyaltyjam/loyaltyjam/internal/ratelimit/redislimit"
	"github.com/loyaltyjam/loyaltyjam/internal/redistest"
)

func TestAllow(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t)
	l := redislimit.New(rdb, "test:")
	ctx := context.Background()
	for i := 1; i <= 4; i++ {
		d, err := l.Allow(ctx, "k", 3, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if want := i <= 3; d.OK != want || d.Count != i {
			t.Fatalf("hit %d: ok=%v count=%d, want ok=%v", i, d.OK, d.Count, want)
		}
		if d.RetryAfter <= 0 || d.RetryAfter > time.Minute {
			t.Fatalf("hit %d: retry after %v", i, d.RetryAfter)
		}
	}
	// Another key has its own window.
	if d, _ := l.Allow(ctx, "other", 3, time.Minute); !d.OK {
		t.Fatal("other key limited")
	}
	if ttl := rdb.PTTL(ctx, "test:k").Val(); ttl <= 0 {
		t.Fatalf("counter has no ttl: %v", ttl)
	}
}

func TestExceededError(t *testing.T) {
	t.Parallel()
	err := error(ratelimit.Exceeded("too_many", "Слишком часто.", 1500*time.Millisecond))
	if apperr.KindOf(err) != apperr.RateLimited {
		t.Fatalf("kind %v", apperr.KindOf(err))
	}
	var ex *ratelimit.ExceededError
	if !errors.As(err, &ex) || ex.RetryAfterSeconds() != 2 {
		t.Fatalf("retry after %+v", ex)
	}
}

// flakyRedis is a client of the test Redis whose connections fail while
// down is set, as when the server is stopped or unreachable.
func flakyRedis(t *testing.T) (*redis.Client, *atomic.Bool) {
	t.Helper()
	opt := redistest.DB(t)
	var down atomic.Bool
	opt.MaxRetries = -1
	opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if down.Load() {
			return nil, errors.New("connection refused (test)")
		}
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return flakyConn{c, &down}, nil
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return rdb, &down
}

type flakyConn struct {
	net.Conn
	down *atomic.Bool
}

func (c flakyConn) Write(b []byte) (int, error) {
	if c.down.Load() {
		return 0, errors.New("broken pipe (test)")
	}
	return c.Conn.Write(b)
}

// TestAllowRedisDown: with Redis unreachable the limiter keeps counting,
// per key and with the same limits, in memory, and goes back to Redis once
// it answers again.
func TestAllowRedisDown(t *testing.T) {
	t.Parallel()
	rdb, down := flakyRedis(t)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l := redislimit.New(rdb, "test:", redislimit.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	if d, err := l.Allow(ctx, "k", 3, time.Minute); err != nil || !d.OK || d.Count != 1 {
		t.Fatalf("redis up: %+v %v", d, err)
	}
	down.Store(true)
	for i := 1; i <= 4; i++ {
		d, err := l.Allow(ctx, "k", 3, time.Minute)
		if err != nil {
			t.Fatalf("hit %d with redis down: %v", i, err)
		}
		if want := i <= 3; d.OK != want || d.Count != i || d.RetryAfter <= 0 || d.RetryAfter > time.Minute {
			t.Fatalf("hit %d with redis down: %+v, want ok=%v", i, d, want)
		}
	}
	if d, _ := l.Allow(ctx, "other", 3, time.Minute); !d.OK {
		t.Fatal("another key is limited by the fallback")
	}
	now = now.Add(time.Minute) // the in-memory window ends
	if d, _ := l.Allow(ctx, "k", 3, time.Minute); !d.OK || d.Count != 1 {
		t.Fatalf("after the window: %+v", d)
	}

	down.Store(false)
	now = now.Add(2 * time.Second) // past the pause between probes
	if d, err := l.Allow(ctx, "k", 3, time.Minute); err != nil || !d.OK || d.Count != 2 {
		t.Fatalf("redis back: %+v %v (want the Redis counter, 2)", d, err)
	}
	if n := rdb.Get(ctx, "test:k").Val(); n != "2" {
		t.Fatalf("redis counter %q, want 2", n)
	}
}

// TestAllowFallbackBounded: the in-memory table does not grow past its
// bound; a new key is refused while it is full of live counters.
func TestAllowFallbackBounded(t *testing.T) {
	t.Parallel()
	rdb, down := flakyRedis(t)
	down.Store(true)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l := redislimit.New(rdb, "test:", redislimit.WithLocalKeys(2), redislimit.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	for _, k := range []string{"a", "b"} {
		if d, _ := l.Allow(ctx, k, 5, time.Minute); !d.OK {
			t.Fatalf("%s refused", k)
		}
	}
	if d, _ := l.Allow(ctx, "c", 5, time.Minute); d.OK {
		t.Fatal("a third key was let in past the bound")
	}
	now = now.Add(time.Minute)
	if d, _ := l.Allow(ctx, "c", 5, time.Minute); !d.OK {
		t.Fatal("expired counters were not pruned")
	}
}
