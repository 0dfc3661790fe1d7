package registrydb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

const invitationColumns = `i.id, i.upload_id, i.participant_id, i.channel, i.method, i.round, i.status, i.attempts,
	i.error_code, i.created_at, i.sent_at, i.signed_in_at, p.phone, COALESCE(p.email, ''), p.name, c.name`

func scanInvitation(r pgx.CollectableRow) (registry.Invitation, error) {
	var v registry.Invitation
	err := r.Scan(&v.ID, &v.UploadID, &v.ParticipantID, &v.Channel, &v.Method, &v.Round, &v.Status, &v.Attempts,
		&v.ErrorCode, &v.CreatedAt, &v.SentAt, &v.SignedInAt, &v.Phone, &v.Email, &v.Name, &v.ClientName)
	return v, err
}

func (s *Store) invitations(ctx context.Context, where string, id int64) ([]registry.Invitation, error) {
	rows, err := s.db.Query(ctx, `SELECT `+invitationColumns+`
		FROM registry_invitations i JOIN participants p ON p.id = i.participant_id
		JOIN clients c ON c.id = p.client_id WHERE i.upload_id = $1 `+where+` ORDER BY i.id`, id)
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

// SetPassword stores a participant's password hash (argon2id).
func (s *Store) SetPassword(ctx context.Context, participantID int64, hash string) error {
	_, err := s.db.Exec(ctx, `UPDATE participants SET password_hash = $2 WHERE id = $1`, participantID, hash)
	return err
}

// MarkInvitation records a send attempt.
func (s *Store) MarkInvitation(ctx context.Context, id int64, status, providerID, errorCode string) error {
	_, err := s.db.Exec(ctx, `UPDATE registry_invitations SET status = $2, provider_id = $3, error_code = $4,
		attempts = attempts + 1, sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END
		WHERE id = $1 AND status = 'pending'`, id, status, providerID, errorCode)
	return err
}

// Resend adds a round of pending invitations, per channel the upload
// invited by, for the listed participants of the upload or, when ids is
// empty, for those who have not signed in yet. It returns how many.
func (s *Store) Resend(ctx context.Context, id int64, participantIDs []int64) (int, error) {
	tag, err := s.db.Exec(ctx, `INSERT INTO registry_invitations (upload_id, participant_id, channel, method, round)
		SELECT $1, i.participant_id, i.channel, max(i.method),
		       (SELECT max(round) + 1 FROM registry_invitations x
		         WHERE x.participant_id = i.participant_id AND x.channel = i.channel)
		  FROM registry_invitations i JOIN participants p ON p.id = i.participant_id
		 WHERE i.upload_id = $1 AND p.status <> 'blocked'
		   AND (COALESCE(cardinality($2::bigint[]), 0) = 0 AND p.status = 'invited' OR i.participant_id = ANY($2))
		 GROUP BY i.participant_id, i.channel
		ON CONFLICT ON CONSTRAINT registry_invitations_round_key DO NOTHING`, id, participantIDs)
	if err != nil {
		return 0, fmt.Errorf("registrydb: resend: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
