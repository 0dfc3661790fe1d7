package task

import "time"

// Slot is one period of a task: reports of the period count against its
// limits, and a report's capture time must fall inside it.
type Slot struct {
	// N numbers the periods from 0 (always 0 for a one-off task).
	N     int
	Start time.Time
	// End is the due time of the period: the start of the next period or
	// the task's DueAt, whichever is earlier.
	End time.Time
}

// Contains reports whether at lies within the slot, ends included.
func (s Slot) Contains(at time.Time) bool { return !at.Before(s.Start) && !at.After(s.End) }

// Moscow is the zone monthly periods are counted in: a month starts at the
// same Moscow wall-clock time as the task. Russia has no daylight saving,
// so a fixed zone is exact and needs no tzdata.
var Moscow = time.FixedZone("MSK", 3*60*60)

// SlotAt returns the period of t that contains now. It returns ErrNotStarted
// before StartsAt and ErrFinished from DueAt on.
func (t Task) SlotAt(now time.Time) (Slot, error) {
	if now.Before(t.StartsAt) {
		return Slot{}, ErrNotStarted
	}
	if !now.Before(t.DueAt) {
		return Slot{}, ErrFinished
	}
	return t.SlotN(t.slotIndex(now)), nil
}

// SlotN returns period n of t (periods past DueAt are clipped to it).
func (t Task) SlotN(n int) Slot {
	s := Slot{N: n, Start: t.periodStart(n), End: t.periodStart(n + 1)}
	if t.Recurrence == Once || s.End.After(t.DueAt) {
		s.End = t.DueAt
	}
	return s
}

func (t Task) slotIndex(now time.Time) int {
	switch t.Recurrence {
	case Daily:
		return int(now.Sub(t.StartsAt) / (24 * time.Hour))
	case Weekly:
		return int(now.Sub(t.StartsAt) / (7 * 24 * time.Hour))
	case Monthly:
		a, b := t.StartsAt.In(Moscow), now.In(Moscow)
		n := (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
		for n > 0 && t.periodStart(n).After(now) {
			n--
		}
		for !t.periodStart(n + 1).After(now) {
			n++
		}
		return n
	}
	return 0
}

func (t Task) periodStart(n int) time.Time {
	switch t.Recurrence {
	case Daily:
		return t.StartsAt.Add(time.Duration(n) * 24 * time.Hour)
	case Weekly:
		return t.StartsAt.Add(time.Duration(n) * 7 * 24 * time.Hour)
	case Monthly:
		// AddDate normalises: a task starting on the 31st runs from the 1st
		// of the month after a short month (Jan 31 + 1 month = Mar 3).
		return t.StartsAt.In(Moscow).AddDate(0, n, 0).In(t.StartsAt.Location())
	}
	if n == 0 {
		return t.StartsAt
	}
	return t.DueAt
}
