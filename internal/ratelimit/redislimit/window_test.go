package redislimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/ratelimit"
	"github.com/loyaltyjam/loyaltyjam/internal/ratelimit/redislimit"
	"github.com/loyaltyjam/loyaltyjam/internal/redistest"
)

// TestWindowExpiresInRedis: once a key's window has ended, the next hit
// opens a fresh window and is allowed again, counted from one.
func TestWindowExpiresInRedis(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t)
	l := redislimit.New(rdb, "test:")
	ctx := context.Background()
	const window = time.Second
	for i := 1; i <= 3; i++ {
		d, err := l.Allow(ctx, "k", 2, window)
		if err != nil {
			t.Fatal(err)
		}
		if want := i <= 2; d.OK != want {
			t.Fatalf("hit %d inside the window: %+v, want ok=%v", i, d, want)
		}
	}
	// Wait on Redis itself: the window is over when its counter is gone.
	for rdb.Exists(ctx, "test:k").Val() == 1 {
		time.Sleep(5 * time.Millisecond)
	}
	d, err := l.Allow(ctx, "k", 2, window)
	if err != nil || !d.OK || d.Count != 1 || d.RetryAfter <= 0 || d.RetryAfter > window {
		t.Fatalf("first hit after the window: %+v %v, want ok, count 1, retry within %v", d, err, window)
	}
}

// TestWindowExpiresInMemory: the in-memory fallback's window is fixed: it
// opens at the first hit, later hits do not extend it, it still counts an
// instant before its end and starts afresh at its end.
func TestWindowExpiresInMemory(t *testing.T) {
	t.Parallel()
	rdb, down := flakyRedis(t)
	down.Store(true)
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	now := start
	l := redislimit.New(rdb, "test:", redislimit.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	allow := func() ratelimit.Decision {
		t.Helper()
		d, err := l.Allow(ctx, "k", 2, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := allow(); !d.OK || d.Count != 1 || d.RetryAfter != time.Minute {
		t.Fatalf("first hit: %+v", d)
	}
	now = start.Add(30 * time.Second)
	if d := allow(); !d.OK || d.Count != 2 || d.RetryAfter != 30*time.Second {
		t.Fatalf("second hit, half-way: %+v (the window must not slide)", d)
	}
	now = start.Add(time.Minute - time.Nanosecond)
	if d := allow(); d.OK || d.Count != 3 || d.RetryAfter != time.Nanosecond {
		t.Fatalf("third hit, an instant before the end: %+v", d)
	}
	now = start.Add(time.Minute)
	if d := allow(); !d.OK || d.Count != 1 || d.RetryAfter != time.Minute {
		t.Fatalf("first hit of the next window: %+v", d)
	}
}
