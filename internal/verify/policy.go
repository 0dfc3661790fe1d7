package verify

import (
	"errors"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/ofd"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// Receipt reason codes this package adds to those of receipt/messages.go.
// They have no Russian message there yet (receipt.Message falls back to a
// generic text).
const (
	// ReasonNoData: the provider kept answering "no data" (proverkacheka
	// code 5, typical of an autonomous cash register); a moderator decides.
	ReasonNoData = "ofd_no_data"
	// ReasonRetriesExhausted: the provider stayed unavailable for the whole
	// verification window; a moderator decides.
	ReasonRetriesExhausted = "ofd_retries_exhausted"
	// ReasonPhotoMissing: the stored photo of a receipt is gone.
	ReasonPhotoMissing = "photo_missing"
	// ReasonNoDataAfterReview: a moderator approved a receipt whose fiscal
	// data had not come, and the operator still gave none (see
	// Service.apply): the receipt is rejected instead of going back to the
	// moderation queue, which would loop.
	ReasonNoDataAfterReview = "ofd_no_data_after_review"
	// ReasonSumMismatch: the operator's total differs from the claim's sum
	// (rejected; the fiscal identity is released, receipt.ReleasesIdentity).
	ReasonSumMismatch = "sum_mismatch"
)

// approvedAt returns when a moderator last approved r, if ever.
func approvedAt(r *receipt.Receipt) (time.Time, bool) {
	for i := len(r.Events) - 1; i >= 0; i-- {
		if r.Events[i].Reason == receipt.ReasonModeratorApproved {
			return r.Events[i].At, true
		}
	}
	return time.Time{}, false
}

// Outcomes of one task run, used as the "outcome" label of metrics and in
// logs.
const (
	OutcomeVerified     = "verified"      // verified (and processed when a Processor is set)
	OutcomePending      = "pending"       // not yet at the operator; rescheduled
	OutcomeRejected     = "rejected"      // final negative answer
	OutcomeNeedsReview  = "needs_review"  // a moderator decides
	OutcomeExpired      = "expired"       // window over → needs_review
	OutcomeRateLimited  = "rate_limited"  // rescheduled without burning an attempt
	OutcomeTransient    = "transient"     // provider down; rescheduled with backoff
	OutcomeProcessError = "process_error" // the Processor failed; nothing committed
	OutcomeSkipped      = "skipped"       // nothing to do (already past this step)
	OutcomeNotDue       = "not_due"       // scheduled for later; made sure the task exists
	OutcomeDuplicate    = "duplicate"     // another run applied the outcome first
	OutcomeAborted      = "aborted"       // the task's context ended mid-call
	OutcomeDecoded      = "decoded"       // photo decoded, receipt queued
	OutcomeUnreadable   = "unreadable"    // no fiscal QR in the photo
	OutcomeDuplicateQR  = "duplicate_qr"  // the photo's fiscal identity belongs to another receipt
)

// DefaultPendingDelays is the growing schedule for "not yet at the
// operator": minutes first (most receipts reach FNS within the hour), then
// hours. The last delay repeats until the window ends.
var DefaultPendingDelays = []time.Duration{
	2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour,
}

// DefaultTransientDelays is the backoff when the provider is down or
// answers garbage. The last delay repeats until the window ends.
var DefaultTransientDelays = []time.Duration{
	30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour,
}

// delayAt returns schedule[attempt-1], the last entry past the end.
func delayAt(schedule []time.Duration, attempt int) time.Duration {
	if len(schedule) == 0 {
		return time.Minute
	}
	i := attempt - 1
	if i < 0 {
		i = 0
	}
	if i >= len(schedule) {
		i = len(schedule) - 1
	}
	return schedule[i]
}

// RejectReason maps a provider's final answer to the receipt status and
// reason code it leads to. An autonomous cash register never sends data to
// FNS, so its receipt is not fake: a moderator looks at the photo.
func RejectReason(re *ofd.RejectedError) (receipt.Status, string) {
	switch re.Reason {
	case ofd.ReasonAutonomousKKT:
		return receipt.NeedsReview, "ofd_standalone_kkt"
	case ofd.ReasonNotFound:
		return receipt.Rejected, "ofd_not_found"
	case ofd.ReasonOperationExpense, ofd.ReasonOperationExpRet:
		return receipt.Rejected, "ofd_operation_type"
	case ofd.ReasonMismatchSum:
		// The claim's sum disagrees with the operator's: a claim of
		// someone else's receipt by its printed fn/i/fp looks like this.
		return receipt.Rejected, ReasonSumMismatch
	case ofd.ReasonMismatchFN, ofd.ReasonMismatchFD, ofd.ReasonMismatchFP, ofd.ReasonMismatchOp,
		ofd.ReasonMismatchTime, ofd.ReasonItemsSum:
		return receipt.Rejected, "ofd_mismatch"
	default: // invalid_receipt (proverkacheka code 0), invalid_fiscal_sign (406), bad_request (400), unknown
		return receipt.Rejected, "ofd_invalid"
	}
}

// provider names the service behind a fetch outcome, "" when unknown.
func provider(rec ofd.Receipt, err error) string {
	if err == nil {
		return rec.Provider
	}
	var (
		pe *ofd.PendingError
		re *ofd.RejectedError
		rl *ofd.RateLimitedError
		te *ofd.TransientError
	)
	switch {
	case errors.As(err, &pe):
		return pe.Provider
	case errors.As(err, &re):
		return re.Provider
	case errors.As(err, &rl):
		return rl.Provider
	case errors.As(err, &te):
		return te.Provider
	}
	return "unknown"
}

// pendingReason returns the provider's slug of an ErrNotYet answer.
func pendingReason(err error) string {
	var pe *ofd.PendingError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return ""
}

// countNoData counts the "no data" answers recorded in a receipt's events.
func countNoData(evs []receipt.Event) int {
	n := 0
	for _, e := range evs {
		if e.Reason == "ofd_not_yet" && e.Data != nil && e.Data["pending_reason"] == "no_data" {
			n++
		}
	}
	return n
}
