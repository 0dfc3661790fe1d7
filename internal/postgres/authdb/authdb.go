// Package authdb stores participants' sign-in state in PostgreSQL: one-time
// codes and refresh tokens (hashes only), push devices, and the read side
// of participants the mobile API needs (profile, programs).
package authdb

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/auth"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
)

// Store is the PostgreSQL store of package auth.
type Store struct{ db *pgxpool.Pool }

var _ auth.Store = (*Store)(nil)

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

const participantCols = `p.id, p.client_id, c.code, c.name, p.phone, COALESCE(p.login, ''), p.role, p.status,
	p.is_test, p.shop_id, COALESCE(p.password_hash, ''), p.blocked_reason,
	COALESCE((SELECT max(r.created_at) FROM registry_invitation_passwords r
		WHERE r.participant_id = p.id AND r.password_set) > COALESCE(p.password_changed_at, '-infinity'), false)`

func scanParticipant(row pgx.Row) (auth.Participant, error) {
	var p auth.Participant
	err := row.Scan(&p.ID, &p.ClientID, &p.ClientCode, &p.ClientName, &p.Phone, &p.Login, &p.Role, &p.Status,
		&p.IsTest, &p.ShopID, &p.PasswordHash, &p.BlockedReason, &p.MustChangePassword)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, auth.ErrNotFound
	}
	return p, err
}

// ParticipantsByPhone implements auth.Store.
func (s *Store) ParticipantsByPhone(ctx context.Context, phone string) ([]auth.Participant, error) {
	rows, err := s.db.Query(ctx, `SELECT `+participantCols+` FROM participants p JOIN clients c ON c.id = p.client_id
		WHERE p.phone = $1 ORDER BY p.id`, phone)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (auth.Participant, error) { return scanParticipant(row) })
}

// ParticipantByLogin implements auth.Store.
func (s *Store) ParticipantByLogin(ctx context.Context, login string) (auth.Participant, error) {
	return scanParticipant(s.db.QueryRow(ctx, `SELECT `+participantCols+` FROM participants p
		JOIN clients c ON c.id = p.client_id WHERE lower(p.login) = lower($1)`, login))
}

// Participant implements auth.Store.
func (s *Store) Participant(ctx context.Context, id int64) (auth.Participant, error) {
	return scanParticipant(s.db.QueryRow(ctx, `SELECT `+participantCols+` FROM participants p
		JOIN clients c ON c.id = p.client_id WHERE p.id = $1`, id))
}

// Activate implements auth.Store.
func (s *Store) Activate(ctx context.Context, id int64) error {
	_, err := s.db.Exec(ctx, `UPDATE participants SET status = 'active' WHERE id = $1 AND status = 'invited'`, id)
	return err
}

// CreateOTP implements auth.Store.
func (s *Store) CreateOTP(ctx context.Context, o auth.OTP) error {
	_, err := s.db.Exec(ctx, `INSERT INTO auth_otps (phone, code_hash, expires_at) VALUES ($1, $2, $3)`,
		o.Phone, o.CodeHash, o.ExpiresAt)
	return err
}

// LiveOTP implements auth.Store.
func (s *Store) LiveOTP(ctx context.Context, phone string, now time.Time) (auth.OTP, error) {
	var o auth.OTP
	err := s.db.QueryRow(ctx, `SELECT id, phone, code_hash, expires_at, attempts FROM auth_otps
		WHERE phone = $1 AND consumed_at IS NULL AND expires_at > $2 ORDER BY id DESC LIMIT 1`, phone, now).
		Scan(&o.ID, &o.Phone, &o.CodeHash, &o.ExpiresAt, &o.Attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, auth.ErrNotFound
	}
	return o, err
}

// FailOTP implements auth.Store.
func (s *Store) FailOTP(ctx context.Context, id int64) error {
	_, err := s.db.Exec(ctx, `UPDATE auth_otps SET attempts = attempts + 1 WHERE id = $1`, id)
	return err
}

// ConsumeOTP implements auth.Store. The WHERE clause makes the code
// single-use under concurrent verifications: one UPDATE wins.
func (s *Store) ConsumeOTP(ctx context.Context, id int64, now time.Time) (bool, error) {
	tag, err := s.db.Exec(ctx, `UPDATE auth_otps SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL`, id, now)
	return tag.RowsAffected() == 1, err
}

// CreateRefresh implements auth.Store.
func (s *Store) CreateRefresh(ctx context.Context, t auth.RefreshToken) error {
	_, err := s.db.Exec(ctx, `INSERT INTO auth_refresh_tokens (family_id, participant_id, token_hash, expires_at)
		VALUES ($1, $2, $3, $4)`, t.FamilyID, t.ParticipantID, t.Hash, t.ExpiresAt)
	return err
}

var errReused = errors.New("reused")

// RotateRefresh implements auth.Store.
func (s *Store) RotateRefresh(ctx context.Context, hash []byte, now time.Time, next *auth.RefreshToken) (auth.RefreshToken, error) {
	var old auth.RefreshToken
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		var id int64
		var rotated, revoked *time.Time
		err := tx.QueryRow(ctx, `SELECT id, family_id, participant_id, token_hash, expires_at, rotated_at, revoked_at
			FROM auth_refresh_tokens WHERE token_hash = $1 FOR UPDATE`, hash).
			Scan(&id, &old.FamilyID, &old.ParticipantID, &old.Hash, &old.ExpiresAt, &rotated, &revoked)
		if errors.Is(err, pgx.ErrNoRows) {
			return auth.ErrRefreshInvalid
		}
		if err != nil {
			return err
		}
		if rotated != nil || revoked != nil {
			return errReused // revoked below, after this transaction rolls back
		}
		if !old.ExpiresAt.After(now) {
			return auth.ErrRefreshInvalid
		}
		if _, err := tx.Exec(ctx, `UPDATE auth_refresh_tokens SET rotated_at = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		next.FamilyID, next.ParticipantID = old.FamilyID, old.ParticipantID
		_, err = tx.Exec(ctx, `INSERT INTO auth_refresh_tokens (family_id, participant_id, token_hash, expires_at)
			VALUES ($1, $2, $3, $4)`, next.FamilyID, next.ParticipantID, next.Hash, next.ExpiresAt)
		return err
	})
	if errors.Is(err, errReused) {
		if rerr := s.RevokeFamily(ctx, old.FamilyID, now); rerr != nil {
			return old, rerr
		}
		return old, auth.ErrRefreshReused
	}
	return old, err
}

// RevokeByToken implements auth.Store. The push tokens registered in the
// session go with it: after logout the device gets no more of the
// participant's notifications.
func (s *Store) RevokeByToken(ctx context.Context, hash []byte, now time.Time) error {
	_, err := s.db.Exec(ctx, `WITH fam AS (SELECT family_id FROM auth_refresh_tokens WHERE token_hash = $1),
		revoked AS (UPDATE auth_refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL
			AND family_id = (SELECT family_id FROM fam))
		DELETE FROM push_devices WHERE session_id = (SELECT family_id FROM fam)`, hash, now)
	return err
}

// RevokeFamily implements auth.Store.
func (s *Store) RevokeFamily(ctx context.Context, familyID string, now time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE auth_refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL`,
		familyID, now)
	return err
}

// SessionLive implements auth.Store.
func (s *Store) SessionLive(ctx context.Context, familyID string) (bool, error) {
	var live bool
	err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM auth_refresh_tokens
		WHERE family_id = $1::uuid AND revoked_at IS NULL)`, familyID).Scan(&live)
	return live, err
}

// SetPassword implements auth.Store.
func (s *Store) SetPassword(ctx context.Context, participantID int64, hash, keepFamily string, now time.Time) error {
	return postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE participants SET password_hash = $2, password_changed_at = $3 WHERE id = $1`,
			participantID, hash, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return auth.ErrNotFound
		}
		_, err = revokeAllBut(ctx, tx, participantID, keepFamily, now)
		return err
	})
}

// RevokeAll implements auth.Store.
func (s *Store) RevokeAll(ctx context.Context, participantID int64, now time.Time) (int, error) {
	var n int
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		n, err = revokeAllBut(ctx, tx, participantID, "", now)
		return err
	})
	return n, err
}

// revokeAllBut revokes the participant's refresh token families other than
// keep ("" keeps none) and deletes the push devices of those sessions and
// the ones bound to no session (registered before migration 00091; they
// count as bound to any live session). It returns how many families had a
// live token.
func revokeAllBut(ctx context.Context, tx pgx.Tx, participantID int64, keep string, now time.Time) (int, error) {
	var keepID *string
	if keep != "" {
		keepID = &keep
	}
	rows, err := tx.Query(ctx, `UPDATE auth_refresh_tokens SET revoked_at = $3
		WHERE participant_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR family_id <> $2::uuid)
		RETURNING family_id::text`, participantID, keepID, now)
	if err != nil {
		return 0, err
	}
	fams, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	for _, f := range fams {
		seen[f] = true
	}
	_, err = tx.Exec(ctx, `DELETE FROM push_devices WHERE participant_id = $1
		AND (session_id IS NULL AND $2::uuid IS NULL OR session_id::text = ANY($3::text[]))`, participantID, keepID, fams)
	return len(seen), err
}
