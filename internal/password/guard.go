package password

import (
	"context"
	"runtime"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// ErrBusy is returned by Guard.Verify when every hashing slot stayed taken
// for the guard's wait: the caller answers 503 and asks to retry.
var ErrBusy = apperr.New(apperr.Unavailable, "auth_busy", "Сервер входа перегружен. Повторите попытку через несколько секунд.")

// Guard bounds how many password checks run at once. Each argon2id check
// takes 19 MiB and a core for tens of milliseconds; unbounded, a flood of
// sign-ins starves every other request of CPU and memory.
type Guard struct {
	sem    chan struct{}
	wait   time.Duration
	verify func(pw, encoded string) error
}

// NewGuard returns a Guard running at most n checks at once; a check waits
// at most wait for a slot. verify does the work (nil: Verify); tests count
// calls through it.
func NewGuard(n int, wait time.Duration, verify func(pw, encoded string) error) *Guard {
	if n < 1 {
		n = 1
	}
	if verify == nil {
		verify = Verify
	}
	return &Guard{sem: make(chan struct{}, n), wait: wait, verify: verify}
}

// Shared is the process-wide guard: one slot per core, at most five
// seconds of waiting (a queue of about a hundred checks on two cores; a
// longer one answers 503 at once rather than time out). Every sign-in of the process (participants, staff) goes through
// it so the bound holds across them.
var Shared = NewGuard(runtime.GOMAXPROCS(0), 5*time.Second, nil)

// Verify is Verify under the bound. It returns ErrBusy when no slot frees
// up within the wait, or ctx's error when ctx ends first.
func (g *Guard) Verify(ctx context.Context, pw, encoded string) error {
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.sem <- struct{}{}:
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-g.sem }()
	return g.verify(pw, encoded)
}

// RetryAfter is what to put in Retry-After with ErrBusy.
func (g *Guard) RetryAfter() time.Duration {
	if g.wait < time.Second {
		return time.Second
	}
	return g.wait
}
