package password_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/password"
)

func TestGuardBoundsConcurrency(t *testing.T) {
	t.Parallel()
	var inflight, peak, calls atomic.Int64
	g := password.NewGuard(3, time.Minute, func(pw, enc string) error {
		calls.Add(1)
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Millisecond) // let others pile up on the semaphore
		inflight.Add(-1)
		return nil
	})
	var wg sync.WaitGroup
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Verify(context.Background(), "pw", "hash"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if calls.Load() != 60 || peak.Load() > 3 {
		t.Errorf("calls %d, peak concurrency %d, want 60 and ≤ 3", calls.Load(), peak.Load())
	}
}

func TestGuardBusy(t *testing.T) {
	t.Parallel()
	hold, held := make(chan struct{}), make(chan struct{})
	g := password.NewGuard(1, 10*time.Millisecond, func(pw, enc string) error {
		close(held)
		<-hold
		return nil
	})
	done := make(chan error)
	go func() { done <- g.Verify(context.Background(), "a", "h") }()
	<-held
	if err := g.Verify(context.Background(), "b", "h"); !errors.Is(err, password.ErrBusy) {
		t.Errorf("with the only slot taken: %v, want ErrBusy", err)
	}
	close(hold)
	if err := <-done; err != nil {
		t.Error(err)
	}
}
