package notifydb

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/notify"
)

// Item is one inbox notification.
type Item struct {
	ID        int64
	Type      notify.EventType
	Title     string
	Body      string
	Data      map[string]string
	CreatedAt time.Time
	ReadAt    *time.Time
}

// Page is one page of a participant's inbox, newest first.
type Page struct {
	Items []Item
	// NextCursor fetches the next (older) page; empty on the last page.
	NextCursor string
}

var errBadCursor = apperr.New(apperr.Invalid, "bad_cursor", "Некорректный курсор страницы.")

// Cursors are opaque: base64 of the last item's id (ids only grow, so
// paging by id is stable while new items arrive).
func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, errBadCursor
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || id <= 0 {
		return 0, errBadCursor
	}
	return id, nil
}

// List returns a page of the participant's inbox, newest first, limit
// items (1–100, default 20) after cursor.
func (s *Store) List(ctx context.Context, participantID int64, cursor string, limit int) (Page, error) {
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	before := int64(1<<63 - 1)
	if cursor != "" {
		var err error
		if before, err = decodeCursor(cursor); err != nil {
			return Page{}, err
		}
	}
	rows, err := s.db.Query(ctx, `SELECT id, event_type, title, body, data, created_at, read_at
		FROM notifications WHERE participant_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
		participantID, before, limit+1)
	if err != nil {
		return Page{}, fmt.Errorf("list notifications: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) {
		var it Item
		var typ string
		var data []byte
		if err := r.Scan(&it.ID, &typ, &it.Title, &it.Body, &data, &it.CreatedAt, &it.ReadAt); err != nil {
			return it, err
		}
		it.Type = notify.EventType(typ)
		return it, json.Unmarshal(data, &it.Data)
	})
	if err != nil {
		return Page{}, fmt.Errorf("list notifications: %w", err)
	}
	var p Page
	if len(items) > limit {
		items = items[:limit]
		p.NextCursor = encodeCursor(items[limit-1].ID)
	}
	p.Items = items
	return p, nil
}

// MarkRead marks one of the participant's notifications read (idempotent).
// Another participant's notification is notify.ErrNotFound.
func (s *Store) MarkRead(ctx context.Context, participantID, id int64) error {
	tag, err := s.db.Exec(ctx, `UPDATE notifications SET read_at = COALESCE(read_at, now())
		WHERE id = $1 AND participant_id = $2`, id, participantID)
	if err != nil {
		return fmt.Errorf("mark notification read: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notify.ErrNotFound
	}
	return nil
}

// MarkAllRead marks every unread notification of the participant read and
// returns how many it marked.
func (s *Store) MarkAllRead(ctx context.Context, participantID int64) (int64, error) {
	tag, err := s.db.Exec(ctx, `UPDATE notifications SET read_at = now()
		WHERE participant_id = $1 AND read_at IS NULL`, participantID)
	if err != nil {
		return 0, fmt.Errorf("mark notifications read: %w", err)
	}
	return tag.RowsAffected(), nil
}
