package notifydb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/notify"
)

// Store is the PostgreSQL notification store.
type Store struct {
	db *pgxpool.Pool
}

var (
	_ notify.Store       = (*Store)(nil)
	_ notify.OutboxStore = (*Store)(nil)
)

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

// LoadIntent implements notify.Store.
func (s *Store) LoadIntent(ctx context.Context, id int64) (notify.Pending, error) {
	var p notify.Pending
	var typ string
	var data []byte
	var delivered, failed *time.Time
	err := s.db.QueryRow(ctx, `SELECT i.id, i.participant_id, i.event_type, i.data, i.dedup_key, i.urgent,
		i.created_at, i.attempts, i.delivered_at, i.failed_at,
		p.client_id, p.phone, COALESCE(p.email, ''), p.name
		FROM notification_intents i JOIN participants p ON p.id = i.participant_id
		WHERE i.id = $1`, id).Scan(&p.ID, &p.ParticipantID, &typ, &data, &p.DedupKey, &p.Urgent,
		&p.CreatedAt, &p.Attempts, &delivered, &failed,
		&p.Recipient.ClientID, &p.Recipient.Phone, &p.Recipient.Email, &p.Recipient.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, notify.ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("load notification intent: %w", err)
	}
	p.Type = notify.EventType(typ)
	p.Done = delivered != nil || failed != nil
	if err := json.Unmarshal(data, &p.Data); err != nil {
		return p, fmt.Errorf("%w: intent %d data: %w", notify.ErrPermanent, id, err)
	}
	return p, nil
}

// AddInboxItem implements notify.Store.
func (s *Store) AddInboxItem(ctx context.Context, p notify.Pending, c notify.Content) (int64, error) {
	data, err := json.Marshal(c.PushData) // ids and deep link, never secrets
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.db.QueryRow(ctx, `WITH ins AS (
			INSERT INTO notifications (intent_id, client_id, participant_id, event_type, title, body, data, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT ON CONSTRAINT notifications_intent_key DO NOTHING
			RETURNING id)
		SELECT id FROM ins UNION ALL SELECT id FROM notifications WHERE intent_id = $1 LIMIT 1`,
		p.ID, p.Recipient.ClientID, p.ParticipantID, string(p.Type), c.Title, c.Body, data, p.CreatedAt).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		// A concurrent delivery inserted it after this statement's snapshot
		// was taken: a new statement sees it.
		err = s.db.QueryRow(ctx, `SELECT id FROM notifications WHERE intent_id = $1`, p.ID).Scan(&id)
	}
	if err != nil {
		return 0, fmt.Errorf("insert inbox item: %w", err)
	}
	return id, nil
}

// UnreadCount returns the participant's unread inbox items; it is what
// GET /v1/me shows.
func (s *Store) UnreadCount(ctx context.Context, participantID int64) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE participant_id = $1 AND read_at IS NULL`,
		participantID).Scan(&n)
	return n, err
}

// Devices implements notify.Store.
func (s *Store) Devices(ctx context.Context, participantID int64) ([]notify.Device, error) {
	rows, err := s.db.Query(ctx, `SELECT id, token FROM push_devices WHERE participant_id = $1 ORDER BY id`, participantID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (notify.Device, error) {
		var d notify.Device
		return d, r.Scan(&d.ID, &d.Token)
	})
}

// DeleteDevice implements notify.Store.
func (s *Store) DeleteDevice(ctx context.Context, deviceID int64) error {
	_, err := s.db.Exec(ctx, `DELETE FROM push_devices WHERE id = $1`, deviceID)
	return err
}

// ClaimTarget implements notify.Store. The conditional upsert is atomic:
// of two concurrent claims one inserts or updates, the other sees the
// winner's lease and gets Busy.
func (s *Store) ClaimTarget(ctx context.Context, intentID int64, ch notify.Channel, target string, now, leaseUntil time.Time) (notify.Claim, error) {
	var claimed bool
	err := s.db.QueryRow(ctx, `INSERT INTO notification_deliveries AS d (intent_id, channel, target, status, lease_until, attempts, updated_at)
		VALUES ($1, $2, $3, 'sending', $5, 1, $4)
		ON CONFLICT (intent_id, channel, target) DO UPDATE
		SET status = 'sending', lease_until = $5, attempts = d.attempts + 1, updated_at = $4
		WHERE d.status = 'pending' OR (d.status = 'sending' AND d.lease_until <= $4)
		RETURNING true`, intentID, string(ch), target, now, leaseUntil).Scan(&claimed)
	if err == nil {
		return notify.Claimed, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("claim delivery: %w", err)
	}
	var st string
	if err := s.db.QueryRow(ctx, `SELECT status FROM notification_deliveries WHERE intent_id = $1 AND channel = $2 AND target = $3`,
		intentID, string(ch), target).Scan(&st); err != nil {
		return 0, fmt.Errorf("read delivery: %w", err)
	}
	if st == "sending" {
		return notify.Busy, nil
	}
	return notify.AlreadyDone, nil
}

// FinishTarget implements notify.Store.
func (s *Store) FinishTarget(ctx context.Context, intentID int64, ch notify.Channel, target string, st notify.TargetStatus, externalID, errText string) error {
	_, err := s.db.Exec(ctx, `UPDATE notification_deliveries SET status = $4, lease_until = NULL, external_id = $5,
		error = left($6, 500), updated_at = now() WHERE intent_id = $1 AND channel = $2 AND target = $3`,
		intentID, string(ch), target, string(st), externalID, errText)
	return err
}

// Reschedule implements notify.Store.
func (s *Store) Reschedule(ctx context.Context, intentID int64, at time.Time, errText string) error {
	var atp *time.Time
	if !at.IsZero() {
		atp = &at
	}
	_, err := s.db.Exec(ctx, `UPDATE notification_intents SET
		attempts = attempts + CASE WHEN $3 = '' THEN 0 ELSE 1 END,
		last_error = CASE WHEN $3 = '' THEN last_error ELSE left($3, 500) END,
		next_attempt_at = COALESCE($2, next_attempt_at),
		enqueued_at = CASE WHEN $2::timestamptz IS NULL THEN enqueued_at ELSE NULL END
		WHERE id = $1`, intentID, atp, errText)
	return err
}

// Finish implements notify.Store: it closes the intent and removes the
// password of a credentials notification from the stored data.
func (s *Store) Finish(ctx context.Context, intentID int64, delivered bool, errText string) error {
	_, err := s.db.Exec(ctx, `UPDATE notification_intents SET
		delivered_at = CASE WHEN $2 THEN now() END,
		failed_at = CASE WHEN $2 THEN NULL ELSE now() END,
		last_error = CASE WHEN $3 = '' THEN last_error ELSE left($3, 500) END,
		data = data - 'password'
		WHERE id = $1 AND delivered_at IS NULL AND failed_at IS NULL`, intentID, delivered, errText)
	return err
}

// DueIntents implements notify.OutboxStore.
func (s *Store) DueIntents(ctx context.Context, dueBy, enqueuedBefore time.Time, limit int) ([]notify.Due, error) {
	rows, err := s.db.Query(ctx, `SELECT id, next_attempt_at FROM notification_intents
		WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
		  AND (enqueued_at IS NULL OR enqueued_at < $2)
		ORDER BY next_attempt_at, id LIMIT $3`, dueBy, enqueuedBefore, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (notify.Due, error) {
		var d notify.Due
		return d, r.Scan(&d.ID, &d.At)
	})
}

// MarkEnqueued implements notify.OutboxStore.
func (s *Store) MarkEnqueued(ctx context.Context, ids []int64, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.db.Exec(ctx, `UPDATE notification_intents SET enqueued_at = $2 WHERE id = ANY($1)`, ids, at)
	return err
}
