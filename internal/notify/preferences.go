package notify

import (
	"fmt"
	"slices"
	"time"
	_ "time/tzdata" // quiet hours need the zone database even on a bare image

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// DefaultTimezone is the participant's zone when they set none.
const DefaultTimezone = "Europe/Moscow"

// Preferences are a participant's notification settings.
type Preferences struct {
	// Channels overrides the defaults per event type: false switches a
	// configurable channel off (true switches it back on).
	Channels map[EventType]map[Channel]bool
	Quiet    QuietHours
	// Timezone is an IANA zone name; empty means DefaultTimezone.
	Timezone string
}

// QuietHours is a daily window of the participant's local time in which
// non-urgent pushes wait. Start and End are minutes since midnight; a
// window may wrap midnight (22:00–08:00); Start == End means none.
type QuietHours struct {
	Enabled    bool
	Start, End int
}

// DefaultPreferences: every channel of every type on; quiet hours
// 22:00–08:00 Moscow time (a receipt the operator confirms at 3 a.m. can
// wait for the morning).
func DefaultPreferences() Preferences {
	return Preferences{Quiet: QuietHours{Enabled: true, Start: 22 * 60, End: 8 * 60}, Timezone: DefaultTimezone}
}

var (
	errBadTimezone = apperr.New(apperr.Invalid, "notification_timezone_invalid", "Неизвестный часовой пояс.")
	errBadQuiet    = apperr.New(apperr.Invalid, "notification_quiet_hours_invalid", "Тихие часы задаются временем от 00:00 до 23:59.")
)

// Validate checks preferences coming from a participant.
func (p Preferences) Validate() error {
	if _, err := p.Location(); err != nil {
		e := *errBadTimezone
		e.Field = "timezone"
		return &e
	}
	if p.Quiet.Start < 0 || p.Quiet.Start >= 24*60 || p.Quiet.End < 0 || p.Quiet.End >= 24*60 {
		e := *errBadQuiet
		e.Field = "quiet_hours"
		return &e
	}
	for t, chans := range p.Channels {
		s := specs[t]
		if s == nil {
			return &apperr.Error{Kind: apperr.Invalid, Code: "notification_type_unknown",
				Message: fmt.Sprintf("Неизвестный тип уведомления %q.", t), Field: "channels"}
		}
		for c := range chans {
			if !slices.Contains(s.configurable, c) {
				return &apperr.Error{Kind: apperr.Invalid, Code: "notification_channel_not_configurable",
					Message: fmt.Sprintf("Канал %q нельзя настроить для уведомлений %q.", c, t), Field: "channels"}
			}
		}
	}
	return nil
}

// Location returns the participant's time zone.
func (p Preferences) Location() (*time.Location, error) {
	tz := p.Timezone
	if tz == "" {
		tz = DefaultTimezone
	}
	return time.LoadLocation(tz)
}

// Enabled reports whether event type t goes through channel c for this
// participant: the type must use c, and a configurable channel must not be
// switched off.
func (p Preferences) Enabled(t EventType, c Channel) bool {
	s := specs[t]
	if s == nil || !slices.Contains(s.channels, c) {
		return false
	}
	if !slices.Contains(s.configurable, c) {
		return true
	}
	if on, ok := p.Channels[t][c]; ok {
		return on
	}
	return true
}

// QuietUntil reports whether now falls in the quiet hours and, if so, when
// they end (in the participant's zone, so daylight saving and zone
// offsets are the zone database's business).
func (p Preferences) QuietUntil(now time.Time) (time.Time, bool) {
	q := p.Quiet
	if !q.Enabled || q.Start == q.End {
		return time.Time{}, false
	}
	loc, err := p.Location()
	if err != nil {
		loc, _ = time.LoadLocation(DefaultTimezone)
	}
	local := now.In(loc)
	m := local.Hour()*60 + local.Minute()
	endOn := func(dayOffset int) time.Time {
		y, mo, d := local.Date()
		return time.Date(y, mo, d+dayOffset, q.End/60, q.End%60, 0, 0, loc)
	}
	if q.Start < q.End { // same day, e.g. 13:00–15:00
		if m >= q.Start && m < q.End {
			return endOn(0), true
		}
		return time.Time{}, false
	}
	switch { // wraps midnight, e.g. 22:00–08:00
	case m >= q.Start:
		return endOn(1), true
	case m < q.End:
		return endOn(0), true
	}
	return time.Time{}, false
}

// FormatClock writes minutes since midnight as "HH:MM".
func FormatClock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

// ParseClock reads "HH:MM" into minutes since midnight.
func ParseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		e := *errBadQuiet
		e.Field = "quiet_hours"
		return 0, &e
	}
	return t.Hour()*60 + t.Minute(), nil
}
