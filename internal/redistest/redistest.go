// Package redistest gives each test package its own Redis database index,
// flushed before use, so packages that use Redis (Asynq included, which has
// no key prefix) run in parallel without seeing each other's keys.
//
// The server is the one of TEST_REDIS_URL, else REDIS_URL, else
// redis://127.0.0.1:6379. Index 0 holds the leases; 1..15 are handed out.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ServerURL returns the URL of the test Redis server (any DB index in it is
// ignored).
func ServerURL() string {
	for _, k := range []string{"TEST_REDIS_URL", "REDIS_URL"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "redis://127.0.0.1:6379/0"
}

// DB leases a free database index for tb, flushes it and returns its
// options; the lease is released (and the index flushed) when tb ends.
func DB(tb testing.TB) *redis.Options {
	tb.Helper()
	base, err := redis.ParseURL(ServerURL())
	if err != nil {
		tb.Fatalf("redistest: bad redis url: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	leases := redis.NewClient(&redis.Options{Addr: base.Addr, Username: base.Username, Password: base.Password, DB: 0})
	defer leases.Close()
	token := make([]byte, 8)
	_, _ = rand.Read(token)
	owner := hex.EncodeToString(token)
	for {
		for idx := 1; idx <= 15; idx++ {
			key := fmt.Sprintf("loyaltyjam:test:lease:%d", idx)
			ok, err := leases.SetNX(ctx, key, owner, 30*time.Minute).Result()
			if err != nil {
				tb.Fatalf("redistest: Redis unreachable at %s (run `make test`): %v", base.Addr, err)
			}
			if !ok {
				continue
			}
			opts := *base
			opts.DB = idx
			c := redis.NewClient(&opts)
			err = c.FlushDB(ctx).Err()
			c.Close()
			if err != nil {
				tb.Fatalf("redistest: flush db %d: %v", idx, err)
			}
			tb.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c := redis.NewClient(&opts)
				_ = c.FlushDB(ctx).Err()
				c.Close()
				l := redis.NewClient(&redis.Options{Addr: base.Addr, Username: base.Username, Password: base.Password, DB: 0})
				if v, _ := l.Get(ctx, key).Result(); v == owner {
					l.Del(ctx, key)
				}
				l.Close()
			})
			return &opts
		}
		select {
		case <-ctx.Done():
			tb.Fatal("redistest: no free Redis database index within 2 minutes")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Client leases a database index (see DB) and returns a client to it,
// closed when tb ends.
func Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(DB(tb))
	tb.Cleanup(func() { c.Close() })
	return c
}
