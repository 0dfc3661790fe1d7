package notifydb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/notify"
)

// Preferences returns the participant's preferences, the defaults if they
// never saved any.
func (s *Store) Preferences(ctx context.Context, participantID int64) (notify.Preferences, error) {
	p := notify.DefaultPreferences()
	var raw []byte
	err := s.db.QueryRow(ctx, `SELECT channels, quiet_enabled, quiet_start_min, quiet_end_min, timezone
		FROM notification_preferences WHERE participant_id = $1`, participantID).
		Scan(&raw, &p.Quiet.Enabled, &p.Quiet.Start, &p.Quiet.End, &p.Timezone)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("load notification preferences: %w", err)
	}
	if err := json.Unmarshal(raw, &p.Channels); err != nil {
		return p, fmt.Errorf("notification preferences channels: %w", err)
	}
	return p, nil
}

// SetPreferences validates and stores the participant's preferences
// (replacing the previous ones).
func (s *Store) SetPreferences(ctx context.Context, participantID int64, p notify.Preferences) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if p.Timezone == "" {
		p.Timezone = notify.DefaultTimezone
	}
	ch := p.Channels
	if ch == nil {
		ch = map[notify.EventType]map[notify.Channel]bool{}
	}
	raw, err := json.Marshal(ch)
	if err != nil {
		return err
	}
	tag, err := s.db.Exec(ctx, `INSERT INTO notification_preferences
		(participant_id, channels, quiet_enabled, quiet_start_min, quiet_end_min, timezone, updated_at)
		SELECT id, $2, $3, $4, $5, $6, now() FROM participants WHERE id = $1
		ON CONFLICT (participant_id) DO UPDATE SET channels = EXCLUDED.channels,
		quiet_enabled = EXCLUDED.quiet_enabled, quiet_start_min = EXCLUDED.quiet_start_min,
		quiet_end_min = EXCLUDED.quiet_end_min, timezone = EXCLUDED.timezone, updated_at = now()`,
		participantID, raw, p.Quiet.Enabled, p.Quiet.Start, p.Quiet.End, p.Timezone)
	if err != nil {
		return fmt.Errorf("store notification preferences: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNoParticipant
	}
	return nil
}
