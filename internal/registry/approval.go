package registry

import (
	"errors"
	"time"
)

// ApprovalWindow is how far back a participant's registry credits count
// towards the maker-checker threshold: a large amount split into several
// registries (of one period or of several periods and programs) within it
// still needs a second person.
const ApprovalWindow = 30 * 24 * time.Hour

// Credited is what registries already credited, the history the
// maker-checker threshold is measured against (gross credits: a debit does
// not give room back).
type Credited struct {
	// PeriodKopecks is what applied registries of the program's period
	// credited in total.
	PeriodKopecks int64
	// ParticipantKopecks is, per participant, what the client's applied
	// points registries credited them within ApprovalWindow.
	ParticipantKopecks map[int64]int64
}

// NeedsSecondApproval reports whether crediting credits (participant →
// kopecks, positive differences only) needs a second person under
// threshold (0 disables): the registry alone, the period's total with what
// earlier registries of the period credited, or one participant's credits
// within ApprovalWindow reach threshold. A registry that credits nothing
// (only debits or no change) never does. The per-registry check of old let
// 99 999 + 99 999 + 99 999 pass as three small registries; the period and
// participant totals catch the split.
func NeedsSecondApproval(threshold int64, credits map[int64]int64, c Credited) bool {
	if threshold <= 0 {
		return false
	}
	var total int64
	for pid, d := range credits {
		if d <= 0 {
			continue
		}
		total += d
		if c.ParticipantKopecks[pid]+d >= threshold {
			return true
		}
	}
	return total > 0 && (total >= threshold || c.PeriodKopecks+total >= threshold)
}

// Credits returns the positive differences of lines by participant.
func Credits(lines []PointLine) map[int64]int64 {
	out := make(map[int64]int64, len(lines))
	for _, l := range lines {
		if d := l.DiffKopecks(); d > 0 {
			out[l.ParticipantID] = d
		}
	}
	return out
}

// ErrAwaitsSecondApproval is returned by Applier.ApplyPoints when the
// upload, confirmed by its own uploader, turned out at applying time (under
// the locks, after registries applied meanwhile) to need a second person:
// nothing was posted and the upload is back to validated with
// NeedsSecondApproval set, waiting for another staff member to confirm it.
var ErrAwaitsSecondApproval = errors.New("registry: upload needs a second approver")
