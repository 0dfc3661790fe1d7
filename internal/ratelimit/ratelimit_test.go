package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/ratelimit"
	"github.com/loyaltyjam/loyaltyjam/internal/redistest"
)

func TestAllow(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t)
	l := ratelimit.New(rdb, "test:")
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
