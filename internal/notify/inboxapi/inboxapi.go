package inboxapi

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/notify"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
)

// Store is what the handlers need (notifydb.Store).
type Store interface {
	List(ctx context.Context, participantID int64, cursor string, limit int) (notifydb.Page, error)
	MarkRead(ctx context.Context, participantID, id int64) error
	MarkAllRead(ctx context.Context, participantID int64) (int64, error)
	UnreadCount(ctx context.Context, participantID int64) (int, error)
	Preferences(ctx context.Context, participantID int64) (notify.Preferences, error)
	SetPreferences(ctx context.Context, participantID int64, p notify.Preferences) error
}

// ParticipantFunc returns the authenticated participant of a request, or
// an apperr Unauthorized error.
type ParticipantFunc func(c *fiber.Ctx) (participantID int64, err error)

// Handlers serve the inbox and preferences routes.
type Handlers struct {
	store       Store
	participant ParticipantFunc
}

// New returns the handlers.
func New(store Store, participant ParticipantFunc) *Handlers {
	return &Handlers{store: store, participant: participant}
}

// Register mounts the routes on r, the authenticated /v1 group:
//
//	GET  /notifications              the inbox, newest first (?cursor=&limit=)
//	POST /notifications/read-all     mark every notification read
//	POST /notifications/:id/read     mark one read
//	GET  /notifications/preferences  channels per event type, quiet hours
//	PUT  /notifications/preferences  replace them
func (h *Handlers) Register(r fiber.Router) {
	r.Get("/notifications", h.list)
	r.Get("/notifications/preferences", h.getPreferences)
	r.Put("/notifications/preferences", h.putPreferences)
	r.Post("/notifications/read-all", h.readAll)
	r.Post("/notifications/:id/read", h.read)
}

// UnreadCount is the unread_count of GET /v1/me.
func (h *Handlers) UnreadCount(ctx context.Context, participantID int64) (int, error) {
	return h.store.UnreadCount(ctx, participantID)
}

// Item is one notification as the app sees it.
type Item struct {
	ID        int64             `json:"id"`
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Body      string            `json:"body"`
	DeepLink  string            `json:"deep_link,omitempty"`
	Data      map[string]string `json:"data"`
	CreatedAt time.Time         `json:"created_at"`
	Read      bool              `json:"read"`
	ReadAt    *time.Time        `json:"read_at,omitempty"`
}

// ListResponse is the body of GET /v1/notifications.
type ListResponse struct {
	Items       []Item `json:"items"`
	NextCursor  string `json:"next_cursor,omitempty"`
	UnreadCount int    `json:"unread_count"`
}

var errBadLimit = &apperr.Error{Kind: apperr.Invalid, Code: "bad_limit", Message: "Параметр limit должен быть числом от 1 до 100.", Field: "limit"}

func (h *Handlers) list(c *fiber.Ctx) error {
	pid, err := h.participant(c)
	if err != nil {
		return err
	}
	limit := 20
	if v := c.Query("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 100 {
			return errBadLimit
		}
	}
	ctx := c.UserContext()
	page, err := h.store.List(ctx, pid, c.Query("cursor"), limit)
	if err != nil {
		return err
	}
	unread, err := h.store.UnreadCount(ctx, pid)
	if err != nil {
		return err
	}
	out := ListResponse{Items: make([]Item, 0, len(page.Items)), NextCursor: page.NextCursor, UnreadCount: unread}
	for _, it := range page.Items {
		data := it.Data
		if data == nil {
			data = map[string]string{}
		}
		out.Items = append(out.Items, Item{ID: it.ID, Type: string(it.Type), Title: it.Title, Body: it.Body,
			DeepLink: data["deep_link"], Data: data, CreatedAt: it.CreatedAt, Read: it.ReadAt != nil, ReadAt: it.ReadAt})
	}
	return c.JSON(out)
}

func (h *Handlers) read(c *fiber.Ctx) error {
	pid, err := h.participant(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return notify.ErrNotFound
	}
	if err := h.store.MarkRead(c.UserContext(), pid, id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h *Handlers) readAll(c *fiber.Ctx) error {
	pid, err := h.participant(c)
	if err != nil {
		return err
	}
	n, err := h.store.MarkAllRead(c.UserContext(), pid)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"marked": n, "unread_count": 0})
}

// PreferencesBody is the JSON of the preferences routes. Channels lists,
// per event type, the channels the participant may switch and whether
// each is on; PUT may omit types and channels (they take the default, on).
type PreferencesBody struct {
	Timezone   string                     `json:"timezone"`
	QuietHours QuietHoursBody             `json:"quiet_hours"`
	Channels   map[string]map[string]bool `json:"channels"`
}

// QuietHoursBody is the quiet-hours window in local "HH:MM".
type QuietHoursBody struct {
	Enabled bool   `json:"enabled"`
	Start   string `json:"start"`
	End     string `json:"end"`
}

func toBody(p notify.Preferences) PreferencesBody {
	b := PreferencesBody{Timezone: p.Timezone, Channels: map[string]map[string]bool{},
		QuietHours: QuietHoursBody{Enabled: p.Quiet.Enabled, Start: notify.FormatClock(p.Quiet.Start), End: notify.FormatClock(p.Quiet.End)}}
	if b.Timezone == "" {
		b.Timezone = notify.DefaultTimezone
	}
	for _, t := range notify.EventTypes() {
		chans := notify.Configurable(t)
		if len(chans) == 0 {
			continue
		}
		m := map[string]bool{}
		for _, ch := range chans {
			m[string(ch)] = p.Enabled(t, ch)
		}
		b.Channels[string(t)] = m
	}
	return b
}

func (h *Handlers) getPreferences(c *fiber.Ctx) error {
	pid, err := h.participant(c)
	if err != nil {
		return err
	}
	p, err := h.store.Preferences(c.UserContext(), pid)
	if err != nil {
		return err
	}
	return c.JSON(toBody(p))
}

var errBadBody = apperr.New(apperr.Invalid, "bad_json", "Тело запроса должно быть JSON с настройками уведомлений.")

func (h *Handlers) putPreferences(c *fiber.Ctx) error {
	pid, err := h.participant(c)
	if err != nil {
		return err
	}
	var b PreferencesBody
	if err := json.Unmarshal(c.Body(), &b); err != nil {
		return errBadBody
	}
	p := notify.Preferences{Timezone: b.Timezone, Quiet: notify.QuietHours{Enabled: b.QuietHours.Enabled},
		Channels: map[notify.EventType]map[notify.Channel]bool{}}
	if b.QuietHours.Start != "" || b.QuietHours.End != "" || b.QuietHours.Enabled {
		if p.Quiet.Start, err = notify.ParseClock(b.QuietHours.Start); err != nil {
			return err
		}
		if p.Quiet.End, err = notify.ParseClock(b.QuietHours.End); err != nil {
			return err
		}
	}
	for t, chans := range b.Channels {
		m := map[notify.Channel]bool{}
		for ch, on := range chans {
			m[notify.Channel(ch)] = on
		}
		p.Channels[notify.EventType(t)] = m
	}
	ctx := c.UserContext()
	if err := h.store.SetPreferences(ctx, pid, p); err != nil {
		return err
	}
	saved, err := h.store.Preferences(ctx, pid)
	if err != nil {
		return err
	}
	return c.JSON(toBody(saved))
}
