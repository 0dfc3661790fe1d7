package reportdb

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

// Gate returns the state of userID's sign-ins from ip at now.
func (s *Store) Gate(ctx context.Context, userID int64, ip string, now time.Time) (report.SignInGate, error) {
	var g report.SignInGate
	err := s.db.QueryRow(ctx, `SELECT CASE WHEN throttled_until > $3 THEN throttled_until END, last_success_at IS NOT NULL
		FROM staff_login_sources WHERE user_id = $1 AND ip = $2`, userID, ip, now).Scan(&g.ThrottledUntil, &g.Known)
	if errors.Is(err, pgx.ErrNoRows) {
		return report.SignInGate{}, nil
	}
	return g, err
}

// SignInFailed records a wrong password for userID from ip, in one
// transaction with the address's row locked. It never touches sessions.
func (s *Store) SignInFailed(ctx context.Context, userID int64, ip string, now time.Time, p report.SignInPolicy) (report.SignInFailure, error) {
	var f report.SignInFailure
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		f = report.SignInFailure{}
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
