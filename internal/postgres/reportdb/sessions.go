package reportdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

// Store reads reports and keeps dashboard sessions.
type Store struct{ db *pgxpool.Pool }

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

const userCols = `id, COALESCE(client_id, 0), email, name, role, password_hash, failed_logins, locked_until`

func scanUser(row pgx.Row) (report.User, error) {
	var u report.User
	var role string
	err := row.Scan(&u.ID, &u.ClientID, &u.Email, &u.Name, &role, &u.PasswordHash, &u.FailedLogins, &u.LockedUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, report.ErrNotFound
	}
	u.Role = access.Role(role)
	return u, err
}

// UserByEmail returns the user with this e-mail (case-insensitive); a
// deactivated user is not found, so they cannot sign in.
func (s *Store) UserByEmail(ctx context.Context, email string) (report.User, error) {
	return scanUser(s.db.QueryRow(ctx, `SELECT `+userCols+` FROM dashboard_users WHERE lower(email) = lower($1) AND deactivated_at IS NULL`, email))
}

// CreateSession stores a session found by tokenHash (SHA-256 of the cookie).
func (s *Store) CreateSession(ctx context.Context, tokenHash []byte, userID int64, csrf string, expires time.Time) error {
	_, err := s.db.Exec(ctx, `INSERT INTO dashboard_sessions (token_hash, user_id, csrf_token, expires_at) VALUES ($1,$2,$3,$4)`,
		tokenHash, userID, csrf, expires)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash returns the live session with tokenHash at now, or
// ErrNotFound. Failed sign-ins never end a session: they may be a
// stranger's (see SignInFailed).
func (s *Store) SessionByHash(ctx context.Context, tokenHash []byte, now time.Time) (report.Session, error) {
	var ss report.Session
	var role string
	err := s.db.QueryRow(ctx, `SELECT u.id, COALESCE(u.client_id, 0), u.email, u.name, u.role, s.csrf_token, s.expires_at
		FROM dashboard_sessions s JOIN dashboard_users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.deactivated_at IS NULL`, tokenHash, now).
		Scan(&ss.User.ID, &ss.User.ClientID, &ss.User.Email, &ss.User.Name, &role, &ss.CSRFToken, &ss.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return ss, report.ErrNotFound
	}
	ss.User.Role = access.Role(role)
	return ss, err
}

// DeleteSession ends a session (logout). Expired sessions of everyone are
// dropped at the same time.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte, now time.Time) error {
	_, err := s.db.Exec(ctx, `DELETE FROM dashboard_sessions WHERE token_hash = $1 OR expires_at < $2`, tokenHash, now)
	return err
}
