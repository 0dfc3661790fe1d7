package reportdb

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
)

// SignInPolicy says how failed staff sign-ins slow an address down and when
// the account as a whole is closed to unknown addresses.
type SignInPolicy struct {
	// Window is how long failures of one address are remembered.
	Window time.Duration
	// Delay is how long an address must wait after its n-th failure in the
	// window (0: may try again at once).
	Delay func(failures int) time.Duration
	// AccountFailures failures from all addresses together close the
	// account to addresses the owner has never signed in from, for LockFor.
	AccountFailures int
	LockFor         time.Duration
	// AlertEvery: the owner is told at most once per this long.
	AlertEvery time.Duration
}

// SignInGate is what a sign-in attempt from one address must respect.
type SignInGate struct {
	// ThrottledUntil is set while this address must wait.
	ThrottledUntil *time.Time
	// Known: the owner has signed in from this address before.
	Known bool
}

// Gate returns the state of userID's sign-ins from ip at now.
func (s *Store) Gate(ctx context.Context, userID int64, ip string, now time.Time) (SignInGate, error) {
	var g SignInGate
	err := s.db.QueryRow(ctx, `SELECT CASE WHEN throttled_until > $3 THEN throttled_until END, last_success_at IS NOT NULL
		FROM staff_login_sources WHERE user_id = $1 AND ip = $2`, userID, ip, now).Scan(&g.ThrottledUntil, &g.Known)
	if errors.Is(err, pgx.ErrNoRows) {
		return SignInGate{}, nil
	}
	return g, err
}

// SignInFailure is what one failed sign-in led to.
type SignInFailure struct {
	// Failures of this address in its window, this one included.
	Failures int
	// ThrottledUntil: when this address may try again (nil: at once).
	ThrottledUntil *time.Time
	// AccountLockedUntil is set when this failure closed the account to
	// unknown addresses.
	AccountLockedUntil *time.Time
	// Alert: the owner should be told now (the first notable failure since
	// the last notice, AlertEvery ago).
	Alert bool
}

// SignInFailed records a wrong password for userID from ip, in one
// transaction with the address's row locked. It never touches sessions.
func (s *Store) SignInFailed(ctx context.Context, userID int64, ip string, now time.Time, p SignInPolicy) (SignInFailure, error) {
	var f SignInFailure
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		f = SignInFailure{}
		var start time.Time
		err := tx.QueryRow(ctx, `INSERT INTO staff_login_sources (user_id, ip, failures, window_start) VALUES ($1, $2, 0, $3)
			ON CONFLICT (user_id, ip) DO UPDATE SET failures = staff_login_sources.failures
			RETURNING failures, window_start`, userID, ip, now).Scan(&f.Failures, &start)
		if err != nil {
			return err
		}
		if now.Sub(start) >= p.Window {
			f.Failures, start = 0, now
		}
		f.Failures++
		if d := p.Delay(f.Failures); d > 0 {
			t := now.Add(d)
			f.ThrottledUntil = &t
		}
		if _, err := tx.Exec(ctx, `UPDATE staff_login_sources SET failures = $3, window_start = $4, throttled_until = $5
			WHERE user_id = $1 AND ip = $2`, userID, ip, f.Failures, start, f.ThrottledUntil); err != nil {
			return err
		}
		// Addresses that only ever failed are forgotten after a day.
		if _, err := tx.Exec(ctx, `DELETE FROM staff_login_sources WHERE user_id = $1 AND last_success_at IS NULL
			AND window_start < $2`, userID, now.Add(-24*time.Hour)); err != nil {
			return err
		}
		var alerted *time.Time
		err = tx.QueryRow(ctx, `UPDATE dashboard_users SET
			locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3::timestamptz ELSE locked_until END,
			failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END
			WHERE id = $1 RETURNING CASE WHEN locked_until = $3::timestamptz THEN locked_until END, login_alerted_at`,
			userID, p.AccountFailures, now.Add(p.LockFor)).Scan(&f.AccountLockedUntil, &alerted)
		if err != nil {
			return err
		}
		notable := f.AccountLockedUntil != nil || f.ThrottledUntil != nil
		if notable && (alerted == nil || now.Sub(*alerted) >= p.AlertEvery) {
			f.Alert = true
			_, err = tx.Exec(ctx, `UPDATE dashboard_users SET login_alerted_at = $2 WHERE id = $1`, userID, now)
		}
		return err
	})
	return f, err
}

// SignInSucceeded clears userID's failures, marks ip as an address the
// owner uses and lifts an account-wide lock.
func (s *Store) SignInSucceeded(ctx context.Context, userID int64, ip string, now time.Time) error {
	return postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO staff_login_sources (user_id, ip, failures, window_start, last_success_at)
			VALUES ($1, $2, 0, $3, $3) ON CONFLICT (user_id, ip) DO UPDATE
			SET failures = 0, throttled_until = NULL, last_success_at = $3`, userID, ip, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE dashboard_users SET failed_logins = 0, locked_until = NULL WHERE id = $1`, userID)
		return err
	})
}
