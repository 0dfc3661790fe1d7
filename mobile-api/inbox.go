package mobileapi

// The inbox routes: the participant's in-app notifications (list with
// cursor pagination, mark read, mark all read) and their notification
// preferences.

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

// Inbox is what the inbox routes need (notifydb.Store).
type Inbox interface {
	List(ctx context.Context, participantID int64, cursor string, limit int) (notifydb.Page, error)
	MarkRead(ctx context.Context, participantID, id int64) error
	MarkAllRead(ctx context.Context, participantID int64) (int64, error)
	UnreadCount(ctx context.Context, participantID int64) (int, error)
	Preferences(ctx context.Context, participantID int64) (notify.Preferences, error)
	SetPreferences(ctx context.Context, participantID int64, p notify.Preferences) error
}

var _ Inbox = (*notifydb.Store)(nil)

// registerInbox mounts on v1:
//
//	GET  /notifications              the inbox, newest first (?cursor=&limit=)
//	POST /notifications/read-all     mark every notification read
//	POST /notifications/:id/read     mark one read
//	GET  /notifications/preferences  channels per event type, quiet hours
//	PUT  /notifications/preferences  replace them
func (a *API) registerInbox(v1 fiber.Router, authn fiber.Handler) {
	v1.Get("/notifications", authn, a.listNotifications)
	v1.Get("/notifications/preferences", authn, a.getPreferences)
	v1.Put("/notifications/preferences", authn, a.putPreferences)
	v1.Post("/notifications/read-all", authn, a.readAllNotifications)
	v1.Post("/notifications/:id/read", authn, a.readNotification)
}

// notificationItem is one notification as the app sees it.
type notificationItem struct {
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

// notificationsResponse is the body of GET /v1/notifications.
type notificationsResponse struct {
	Items       []notificationItem `json:"items"`
	NextCursor  string             `json:"next_cursor,omitempty"`
	UnreadCount int                `json:"unread_count"`
}

var errInboxBadLimit = &apperr.Error{Kind: apperr.Invalid, Code: "bad_limit", Message: "Параметр limit должен быть числом от 1 до 100.", Field: "limit"}

func (a *API) listNotifications(c *fiber.Ctx) error {
	pid := callerOf(c).ID
	limit := 20
	if v := c.Query("limit"); v != "" {
		var err error
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 100 {
			return errInboxBadLimit
		}
	}
	ctx := c.UserContext()
	page, err := a.inbox.List(ctx, pid, c.Query("cursor"), limit)
	if err != nil {
		return err
	}
	unread, err := a.inbox.UnreadCount(ctx, pid)
	if err != nil {
		return err
	}
	out := notificationsResponse{Items: make([]notificationItem, 0, len(page.Items)), NextCursor: page.NextCursor, UnreadCount: unread}
	for _, it := range page.Items {
		data := it.Data
		if data == nil {
			data = map[string]string{}
		}
		out.Items = append(out.Items, notificationItem{ID: it.ID, Type: string(it.Type), Title: it.Title, Body: it.Body,
			DeepLink: data["deep_link"], Data: data, CreatedAt: it.CreatedAt, Read: it.ReadAt != nil, ReadAt: it.ReadAt})
	}
	return c.JSON(out)
}

func (a *API) readNotification(c *fiber.Ctx) error {
	pid := callerOf(c).ID
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return notify.ErrNotFound
	}
	if err := a.inbox.MarkRead(c.UserContext(), pid, id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *API) readAllNotifications(c *fiber.Ctx) error {
	pid := callerOf(c).ID
	n, err := a.inbox.MarkAllRead(c.UserContext(), pid)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"marked": n, "unread_count": 0})
}

// preferencesBody is the JSON of the preferences routes. Channels lists,
// per event type, the channels the participant may switch and whether
// each is on; PUT may omit types and channels (they take the default, on).
type preferencesBody struct {
	Timezone   string                     `json:"timezone"`
	QuietHours quietHoursBody             `json:"quiet_hours"`
	Channels   map[string]map[string]bool `json:"channels"`
}

// quietHoursBody is the quiet-hours window in local "HH:MM".
type quietHoursBody struct {
	Enabled bool   `json:"enabled"`
	Start   string `json:"start"`
	End     string `json:"end"`
}

func toBody(p notify.Preferences) preferencesBody {
	b := preferencesBody{Timezone: p.Timezone, Channels: map[string]map[string]bool{},
		QuietHours: quietHoursBody{Enabled: p.Quiet.Enabled, Start: notify.FormatClock(p.Quiet.Start), End: notify.FormatClock(p.Quiet.End)}}
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

func (a *API) getPreferences(c *fiber.Ctx) error {
	pid := callerOf(c).ID
	p, err := a.inbox.Preferences(c.UserContext(), pid)
	if err != nil {
		return err
	}
	return c.JSON(toBody(p))
}

var errBadPreferences = apperr.New(apperr.Invalid, "bad_json", "Тело запроса должно быть JSON с настройками уведомлений.")

func (a *API) putPreferences(c *fiber.Ctx) error {
	pid := callerOf(c).ID
	var b preferencesBody
	err := json.Unmarshal(c.Body(), &b)
	if err != nil {
		return errBadPreferences
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
	if err := a.inbox.SetPreferences(ctx, pid, p); err != nil {
		return err
	}
	saved, err := a.inbox.Preferences(ctx, pid)
	if err != nil {
		return err
	}
	return c.JSON(toBody(saved))
}
