package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/password"
	"github.com/loyaltyjam/loyaltyjam/internal/ratelimit"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

// Limiter counts attempts per key in a fixed window (*redislimit.Limiter).
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (ratelimit.Decision, error)
}

// LoginAlert tells a staff user that someone is failing to sign in as them.
type LoginAlert struct {
	UserID   int64
	Email    string
	Name     string
	IP       string // the address the failures came from
	Failures int    // that address's failures in its window
	// Locked: the account is closed to addresses its owner never used.
	Locked bool
	At     time.Time
}

// Alerter delivers LoginAlerts (by e-mail in production). It is called at
// most once per Options.LockFor per user.
type Alerter interface {
	LoginAlert(ctx context.Context, a LoginAlert) error
}

// errThrottled is a sign-in refused before its password is checked.
func errThrottled(retry time.Duration) error {
	return &ratelimit.ExceededError{Err: ErrStaffLocked, RetryAfter: retry}
}

// signIn checks a staff user's e-mail and password from address ip.
//
// Failed sign-ins are counted per (account, address): an address slows
// down after three failures and is shut out for LockFor after
// MaxFailures, while the owner signs in from any other address and keeps
// every session. Only when AccountFailures pile up from many addresses is
// the account closed, and then only to addresses its owner never signed
// in from. Every attempt (but a repeat of a password proven from the same
// address within a minute) is first counted per address (IPAttempts per
// IPWindow), so a flood is refused before it costs 19 MiB of argon2 each; the hash itself runs under the
// process-wide password.Guard. It returns ErrStaffUnauthorized, a
// *ratelimit.ExceededError (429), password.ErrBusy (503) or a storage error.
func (s *Server) signIn(ctx context.Context, email, pw, ip string) (report.User, error) {
	now := s.o.Now()
	var u report.User
	var err error
	if len(email) <= 254 && len(pw) <= 1024 && utf8.ValidString(email) {
		u, err = s.store.UserByEmail(ctx, email)
	} else {
		err = report.ErrNotFound
	}
	if err != nil && !errors.Is(err, report.ErrNotFound) {
		return report.User{}, err
	}
	found := err == nil
	if found && s.recent.has(u, ip, pw, now) {
		return u, nil
	}
	d, err := s.o.Limiter.Allow(ctx, "staff:ip:"+ip, s.o.IPAttempts, s.o.IPWindow)
	if err != nil {
		return report.User{}, err
	}
	if !d.OK {
		return report.User{}, errThrottled(d.RetryAfter)
	}
	if !found {
		// Spend the time a real check takes, so timing does not reveal
		// whether the e-mail exists.
		if err := s.o.Hasher.Verify(ctx, pw, dummyHash); errors.Is(err, password.ErrBusy) {
			return report.User{}, err
		}
		return report.User{}, ErrStaffUnauthorized
	}
	gate, err := s.store.Gate(ctx, u.ID, ip, now)
	if err != nil {
		return report.User{}, err
	}
	if gate.ThrottledUntil != nil {
		return report.User{}, errThrottled(gate.ThrottledUntil.Sub(now))
	}
	if u.LockedUntil != nil && u.LockedUntil.After(now) && !gate.Known {
		return report.User{}, errThrottled(u.LockedUntil.Sub(now))
	}
	switch err := s.o.Hasher.Verify(ctx, pw, u.PasswordHash); {
	case err == nil:
	case errors.Is(err, password.ErrBusy), errors.Is(err, ctx.Err()) && ctx.Err() != nil:
		return report.User{}, err
	default:
		return report.User{}, s.failed(ctx, u, ip, now)
	}
	if u.FailedLogins > 0 || u.LockedUntil != nil || !gate.Known {
		if err := s.store.SignInSucceeded(ctx, u.ID, ip, now); err != nil {
			return report.User{}, err
		}
	}
	s.recent.add(u, ip, pw, now)
	return u, nil
}

// failed records a wrong password and tells the owner when it is the first
// notable one in a while.
func (s *Server) failed(ctx context.Context, u report.User, ip string, now time.Time) error {
	f, err := s.store.SignInFailed(ctx, u.ID, ip, now, report.SignInPolicy{
		Window: s.o.LockFor, Delay: s.delay, AccountFailures: s.o.AccountFailures,
		LockFor: s.o.LockFor, AlertEvery: s.o.LockFor,
	})
	if err != nil {
		return err
	}
	s.o.Logger.WarnContext(ctx, "staff sign-in failed", "user_id", u.ID, "failures", f.Failures,
		"throttled", f.ThrottledUntil != nil, "account_locked", f.AccountLockedUntil != nil)
	if f.Alert && s.o.Alerter != nil {
		a := LoginAlert{UserID: u.ID, Email: u.Email, Name: u.Name, IP: ip, Failures: f.Failures,
			Locked: f.AccountLockedUntil != nil, At: now}
		if err := s.o.Alerter.LoginAlert(ctx, a); err != nil {
			s.o.Logger.ErrorContext(ctx, "staff sign-in alert failed", "user_id", u.ID, "err", err)
		}
	}
	if f.Failures >= s.o.MaxFailures && f.ThrottledUntil != nil {
		return errThrottled(f.ThrottledUntil.Sub(now))
	}
	return ErrStaffUnauthorized
}

// delay is the progressive slow-down of one address: free tries first,
// then 1 s, 2 s, 4 s … between tries, then LockFor from the MaxFailures-th.
func (s *Server) delay(failures int) time.Duration {
	const free = 2
	switch {
	case failures >= s.o.MaxFailures:
		return s.o.LockFor
	case failures <= free:
		return 0
	}
	return time.Second << (failures - free - 1)
}

// retryAfter sets Retry-After on a throttled or busy sign-in.
func (s *Server) retryAfter(c *fiber.Ctx, err error) {
	var ex *ratelimit.ExceededError
	switch {
	case errors.As(err, &ex):
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(ex.RetryAfterSeconds()))
	case errors.Is(err, password.ErrBusy):
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((s.o.Hasher.RetryAfter()+time.Second-1)/time.Second)))
	}
}

// recentSignIns remembers, for a minute, that a user's password was right
// from an address,
// so a script calling the admin API with HTTP Basic does not pay (and is
// not counted for) a hash on every request. Entries are keyed by an HMAC
// with a per-process key over the user, the address, their stored hash
// and the password: a changed password or hash misses.
type recentSignIns struct {
	mu  sync.Mutex
	key [32]byte
	m   map[[32]byte]time.Time
}

const (
	recentTTL = time.Minute
	recentMax = 4096
)

func newRecent() *recentSignIns {
	r := &recentSignIns{m: map[[32]byte]time.Time{}}
	copy(r.key[:], hashToken(randomToken()))
	return r
}

func (r *recentSignIns) sum(u report.User, ip, pw string) [32]byte {
	m := hmac.New(sha256.New, r.key[:])
	m.Write([]byte(strconv.FormatInt(u.ID, 10) + "\x00" + ip + "\x00" + u.PasswordHash + "\x00" + pw))
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

func (r *recentSignIns) has(u report.User, ip, pw string, now time.Time) bool {
	k := r.sum(u, ip, pw)
	r.mu.Lock()
	defer r.mu.Unlock()
	exp, ok := r.m[k]
	return ok && now.Before(exp)
}

func (r *recentSignIns) add(u report.User, ip, pw string, now time.Time) {
	k := r.sum(u, ip, pw)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.m) >= recentMax {
		for k, exp := range r.m {
			if !now.Before(exp) || len(r.m) >= recentMax {
				delete(r.m, k)
			}
		}
	}
	r.m[k] = now.Add(recentTTL)
}
