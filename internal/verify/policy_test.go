package verify

import (
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/ofd"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

func TestDelayAt(t *testing.T) {
	t.Parallel()
	s := []time.Duration{time.Minute, time.Hour}
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{{0, time.Minute}, {1, time.Minute}, {2, time.Hour}, {9, time.Hour}} {
		if got := delayAt(s, tc.attempt); got != tc.want {
			t.Errorf("delayAt(%d) = %s, want %s", tc.attempt, got, tc.want)
		}
	}
	if got := delayAt(nil, 3); got != time.Minute {
		t.Errorf("empty schedule: %s", got)
	}
	// The default schedules grow: minutes first, then hours.
	for _, sch := range [][]time.Duration{DefaultPendingDelays, DefaultTransientDelays} {
		for i := 1; i < len(sch); i++ {
			if sch[i] < sch[i-1] {
				t.Errorf("schedule shrinks at %d: %v", i, sch)
			}
		}
	}
}

func TestRejectReason(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		reason     string
		wantStatus receipt.Status
		wantCode   string
	}{
		{ofd.ReasonInvalidReceipt, receipt.Rejected, "ofd_invalid"},
		{ofd.ReasonInvalidSign, receipt.Rejected, "ofd_invalid"},
		{ofd.ReasonBadRequest, receipt.Rejected, "ofd_invalid"},
		{ofd.ReasonNotFound, receipt.Rejected, "ofd_not_found"},
		{ofd.ReasonAutonomousKKT, receipt.NeedsReview, "ofd_standalone_kkt"},
		{ofd.ReasonOperationExpense, receipt.Rejected, "ofd_operation_type"},
		{ofd.ReasonOperationExpRet, receipt.Rejected, "ofd_operation_type"},
		{ofd.ReasonMismatchSum, receipt.Rejected, "sum_mismatch"},
		{ofd.ReasonMismatchTime, receipt.Rejected, "ofd_mismatch"},
		{ofd.ReasonItemsSum, receipt.Rejected, "ofd_mismatch"},
		{"something_new", receipt.Rejected, "ofd_invalid"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			st, code := RejectReason(&ofd.RejectedError{Provider: "p", Reason: tc.reason})
			if st != tc.wantStatus || code != tc.wantCode {
				t.Errorf("got %s/%s, want %s/%s", st, code, tc.wantStatus, tc.wantCode)
			}
			if !receipt.CanTransition(receipt.Verifying, st) {
				t.Errorf("verifying → %s not allowed", st)
			}
		})
	}
}

func TestCountNoData(t *testing.T) {
	t.Parallel()
	evs := []receipt.Event{
		{Reason: "ofd_not_yet", Data: map[string]any{"pending_reason": "no_data"}},
		{Reason: "verifying"},
		{Reason: "ofd_not_yet", Data: map[string]any{"pending_reason": "not_yet_received"}},
		{Reason: "ofd_not_yet", Data: map[string]any{"pending_reason": "no_data"}},
	}
	if n := countNoData(evs); n != 2 {
		t.Fatalf("countNoData = %d, want 2", n)
	}
}
