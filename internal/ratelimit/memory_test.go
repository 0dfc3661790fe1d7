package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loyaltyjam/loyaltyjam/internal/ratelimit"
)

// Window expiry of the in-memory counter, step by step on an injected
// clock: limit 2 per minute on key "a".
func TestMemoryWindowExpiry(t *testing.T) {
	t.Parallel()
	type step struct {
		name    string
		advance time.Duration
		key     string
		reset   bool
		want    ratelimit.Decision
	}
	steps := []step{
		{name: "first hit opens the window", key: "a", want: ratelimit.Decision{OK: true, Count: 1, RetryAfter: time.Minute}},
		{name: "second hit within limit", advance: 10 * time.Second, key: "a", want: ratelimit.Decision{OK: true, Count: 2, RetryAfter: 50 * time.Second}},
		{name: "third hit over limit", advance: 10 * time.Second, key: "a", want: ratelimit.Decision{OK: false, Count: 3, RetryAfter: 40 * time.Second}},
		{name: "other key has its own window", key: "b", want: ratelimit.Decision{OK: true, Count: 1, RetryAfter: time.Minute}},
		{name: "last instant of the window still counts", advance: 40*time.Second - time.Nanosecond, key: "a", want: ratelimit.Decision{OK: false, Count: 4, RetryAfter: time.Nanosecond}},
		{name: "window end opens a new one", advance: time.Nanosecond, key: "a", want: ratelimit.Decision{OK: true, Count: 1, RetryAfter: time.Minute}},
		{name: "hit after reset starts over", key: "a", reset: true, want: ratelimit.Decision{OK: true, Count: 1, RetryAfter: time.Minute}},
		{name: "b's window runs on", key: "b", want: ratelimit.Decision{OK: true, Count: 2, RetryAfter: 20 * time.Second}},
		{name: "b's window ends", advance: 20 * time.Second, key: "b", want: ratelimit.Decision{OK: true, Count: 1, RetryAfter: time.Minute}},
	}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	m := ratelimit.NewMemory(func() time.Time { return now }, 0)
	ctx := context.Background()
	for _, s := range steps {
		now = now.Add(s.advance)
		if s.reset {
			if err := m.Reset(ctx, s.key); err != nil {
				t.Fatal(err)
			}
		}
		got, err := m.Allow(ctx, s.key, 2, time.Minute)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s.name, diff)
		}
	}
}

// A full table refuses new keys (fails closed) until a counter expires,
// and a zero window still ends.
func TestMemoryBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	m := ratelimit.NewMemory(func() time.Time { return now }, 1)
	ctx := context.Background()
	if d, _ := m.Allow(ctx, "a", 5, time.Minute); !d.OK {
		t.Fatalf("first key refused: %+v", d)
	}
	if d, _ := m.Allow(ctx, "b", 5, time.Minute); d.OK {
		t.Fatalf("second key allowed into a full table: %+v", d)
	}
	now = now.Add(time.Minute)
	if d, _ := m.Allow(ctx, "b", 5, 0); !d.OK || d.RetryAfter != time.Millisecond {
		t.Fatalf("after expiry: %+v, want allowed in a 1 ms window", d)
	}
}
