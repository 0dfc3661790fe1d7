package registrydb

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

const invitationColumns = `i.id, i.upload_id, i.participant_id, i.channel, i.method, i.round, i.new_password, i.status,
	i.attempts, i.error_code, i.created_at, i.last_attempt_at, i.sent_at, i.signed_in_at,
	p.phone, COALESCE(p.email, ''), p.name, c.name, COALESCE(pr.name, '')`

// invitationProgram picks the program an invitation names, as a receipt
// uploaded today would find it (points.findProgram): the client's program
// running today, live before test, else the client's latest one.
const invitationProgram = `LEFT JOIN LATERAL (SELECT name FROM programs
		WHERE client_id = c.id
		ORDER BY (status IN ('live', 'test') AND current_date BETWEEN starts_on AND ends_on) DESC,
		         (status = 'live') DESC, CASE WHEN status IN ('live', 'test') THEN id END ASC, id DESC
		LIMIT 1) pr ON true`

func scanInvitation(r pgx.CollectableRow) (registry.Invitation, error) {
	var v registry.Invitation
	err := r.Scan(&v.ID, &v.UploadID, &v.ParticipantID, &v.Channel, &v.Method, &v.Round, &v.NewPassword, &v.Status,
		&v.Attempts, &v.ErrorCode, &v.CreatedAt, &v.LastAttemptAt, &v.SentAt, &v.SignedInAt,
		&v.Phone, &v.Email, &v.Name, &v.ClientName, &v.ProgramName)
	return v, err
}

func (s *Store) invitations(ctx context.Context, where string, id int64) ([]registry.Invitation, error) {
	rows, err := s.db.Query(ctx, `SELECT `+invitationColumns+`
		FROM registry_invitations i JOIN participants p ON p.id = i.participant_id
		JOIN clients c ON c.id = p.client_id `+invitationProgram+` WHERE i.upload_id = $1 `+where+` ORDER BY i.id`, id)
	if err != nil {
		return nil, fmt.Errorf("registrydb: invitations: %w", err)
	}
	return pgx.CollectRows(rows, scanInvitation)
}

// Invitations lists an upload's invitations, oldest first.
func (s *Store) Invitations(ctx context.Context, id int64) ([]registry.Invitation, error) {
	return s.invitations(ctx, "", id)
}

// PendingInvitations returns the upload's invitations still to send.
func (s *Store) PendingInvitations(ctx context.Context, id int64) ([]registry.Invitation, error) {
	return s.invitations(ctx, "AND i.status = 'pending'", id)
}

type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// roundPassword reads what the round of inv decided: decided false if
// nothing yet; registry.ErrInvitationSettled if the round's password was
// erased (every invitation of the round was sent or failed).
func (s *Store) roundPassword(ctx context.Context, q queryRower, inv registry.Invitation) (pw string, decided bool, err error) {
	var set bool
	var plain *string
	err = q.QueryRow(ctx, `SELECT password_set, password FROM registry_invitation_passwords
		WHERE participant_id = $1 AND round = $2`, inv.ParticipantID, inv.Round).Scan(&set, &plain)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("registrydb: invitation password: %w", err)
	case set && plain == nil:
		return "", true, registry.ErrInvitationSettled
	case plain == nil:
		return "", true, nil
	}
	pw, err = s.box.Open(*plain, passwordAD(inv))
	if err != nil {
		return "", true, fmt.Errorf("registrydb: invitation password of participant %d round %d: %w (was CREDENTIALS_KEY changed?)",
			inv.ParticipantID, inv.Round, err)
	}
	return pw, true, nil
}

// passwordAD binds a sealed password to its row: copied to another
// participant or round, it does not open.
func passwordAD(inv registry.Invitation) []byte {
	return fmt.Appendf(nil, "registry_invitation_passwords:%d:%d", inv.ParticipantID, inv.Round)
}

// InvitationPassword implements registry.Applier: one password per
// participant and round. The password is kept in
// registry_invitation_passwords, sealed (AES-256-GCM, CREDENTIALS_KEY), only
// while an invitation of the round is pending, so a retry or the other
// channel sends the same one.
func (s *Store) InvitationPassword(ctx context.Context, inv registry.Invitation, gen registry.GeneratePassword) (string, error) {
	pw, decided, err := s.roundPassword(ctx, s.db, inv)
	if err != nil || decided {
		return pw, err
	}
	// Hash before the transaction (argon2id is slow on purpose) when the
	// round will most likely set a password; re-checked under the lock.
	// A participant who has signed in keeps their password unless the
	// round asks for new credentials (or they have none).
	const mayResetSQL = `SELECT status = 'invited' OR password_hash IS NULL OR password_hash = '' FROM participants WHERE id = $1`
	var mayReset bool
	if err := s.db.QueryRow(ctx, mayResetSQL, inv.ParticipantID).Scan(&mayReset); err != nil {
		return "", fmt.Errorf("registrydb: invitation password: %w", err)
	}
	var plain, hash string
	if mayReset || inv.NewPassword {
		if plain, hash, err = gen(); err != nil {
			return "", err
		}
	}
	err = postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		// The participant's row lock serialises the rounds' decisions and
		// keeps a sign-in from slipping between the check and the reset.
		if err := tx.QueryRow(ctx, mayResetSQL+` FOR UPDATE`, inv.ParticipantID).Scan(&mayReset); err != nil {
			return err
		}
		var invStatus string
		if err := tx.QueryRow(ctx, `SELECT status FROM registry_invitations WHERE id = $1`, inv.ID).Scan(&invStatus); err != nil {
			return err
		}
		if invStatus != registry.InvitePending {
			return registry.ErrInvitationSettled
		}
		var decided bool
		if pw, decided, err = s.roundPassword(ctx, tx, inv); err != nil || decided {
			return err
		}
		if !mayReset && !inv.NewPassword {
			pw = ""
			_, err := tx.Exec(ctx, `INSERT INTO registry_invitation_passwords (participant_id, round, password_set)
				VALUES ($1, $2, false)`, inv.ParticipantID, inv.Round)
			return err
		}
		if hash == "" {
			if plain, hash, err = gen(); err != nil {
				return err
			}
		}
		pw = plain
		if _, err := tx.Exec(ctx, `INSERT INTO registry_invitation_passwords (participant_id, round, password_set, password)
			VALUES ($1, $2, true, $3)`, inv.ParticipantID, inv.Round, s.box.Seal(plain, passwordAD(inv))); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE participants SET password_hash = $2 WHERE id = $1`, inv.ParticipantID, hash)
		return err
	})
	if err != nil && !errors.Is(err, registry.ErrInvitationSettled) {
		return "", fmt.Errorf("registrydb: invitation password: %w", err)
	}
	return pw, err
}

// MarkInvitation records a send attempt. When it settles (sent or failed)
// the last pending invitation of its participant's round, the round's kept
// password is erased in the same transaction.
func (s *Store) MarkInvitation(ctx context.Context, id int64, status, providerID, errorCode string) error {
	return postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		var pid int64
		var round int
		err := tx.QueryRow(ctx, `UPDATE registry_invitations SET status = $2, provider_id = $3, error_code = $4,
			attempts = attempts + 1, last_attempt_at = now(),
			sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END
			WHERE id = $1 AND status = 'pending' RETURNING participant_id, round`,
			id, status, providerID, errorCode).Scan(&pid, &round)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && status == registry.InvitePending {
			return nil
		}
		if err != nil {
			return fmt.Errorf("registrydb: mark invitation: %w", err)
		}
		// Lock the round's password first: of two channels settled at once,
		// the second then sees the first settled and erases.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM registry_invitation_passwords
			WHERE participant_id = $1 AND round = $2 FOR UPDATE`, pid, round); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE registry_invitation_passwords SET password = NULL, erased_at = now()
			WHERE participant_id = $1 AND round = $2 AND password IS NOT NULL
			  AND NOT EXISTS (SELECT 1 FROM registry_invitations
			                   WHERE participant_id = $1 AND round = $2 AND status = 'pending')`, pid, round)
		return err
	})
}

// Resend adds a round of pending invitations, per channel the upload
// invited by, for the listed participants of the upload or, when none are
// listed, for those who have not signed in yet. Every channel of a
// participant gets the same round number (one password per round). It
// returns how many.
func (s *Store) Resend(ctx context.Context, id int64, r registry.ResendRequest) (int, error) {
	participantIDs := r.ParticipantIDs
	tag, err := s.db.Exec(ctx, `INSERT INTO registry_invitations (upload_id, participant_id, channel, method, round, new_password)
		SELECT $1, i.participant_id, i.channel, max(i.method),
		       (SELECT max(round) + 1 FROM registry_invitations x WHERE x.participant_id = i.participant_id), $3
		  FROM registry_invitations i JOIN participants p ON p.id = i.participant_id
		 WHERE i.upload_id = $1 AND p.status <> 'blocked'
		   AND (COALESCE(cardinality($2::bigint[]), 0) = 0 AND p.status = 'invited' OR i.participant_id = ANY($2))
		 GROUP BY i.participant_id, i.channel
		ON CONFLICT ON CONSTRAINT registry_invitations_round_key DO NOTHING`, id, participantIDs, r.NewPassword)
	if err != nil {
		return 0, fmt.Errorf("registrydb: resend: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
