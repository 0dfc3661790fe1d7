package ledger

import "time"

// NextRelease is when points pending now in a program credited at period
// close become available: the worker's hourly release (ledgerdb.ReleaseDue)
// moves to the available account everything that occurred before the first
// day of the current month (UTC), so what is pending now is released on the
// first day of the next month. (A late receipt of a month already closed is
// released by the next hourly run, sooner than this date.)
func NextRelease(now time.Time) time.Time {
	u := now.UTC()
	return time.Date(u.Year(), u.Month()+1, 1, 0, 0, 0, 0, time.UTC)
}
