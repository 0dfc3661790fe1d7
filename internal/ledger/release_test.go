package ledger

import (
	"testing"
	"time"
)

func TestNextRelease(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	for _, tc := range []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC), "2027-01-01"},
		{time.Date(2026, 1, 31, 23, 59, 0, 0, time.UTC), "2026-02-01"},
		{time.Date(2026, 3, 1, 1, 0, 0, 0, msk), "2026-03-01"}, // 28 Feb 22:00 UTC
	} {
		if got := NextRelease(tc.now).Format("2006-01-02"); got != tc.want {
			t.Errorf("NextRelease(%v) = %s, want %s", tc.now, got, tc.want)
		}
	}
}
