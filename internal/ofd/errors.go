package ofd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// ErrNotYet means the fiscal data service does not have the receipt yet.
// Retry later with growing delays. Fetchers return it wrapped in a
// *PendingError.
var ErrNotYet = errors.New("ofd: receipt not yet at the operator")

// PendingError details an ErrNotYet answer.
type PendingError struct {
	Provider string
	// Reason is a stable slug: "not_yet_received" (proverkacheka code 2),
	// "no_data" (proverkacheka code 5), "processing" (Open API still
	// PROCESSING after the poll budget), "not_found_young" (Open API 404 on a
	// receipt younger than the operational storage window).
	Reason  string
	Message string
}

func (e *PendingError) Error() string {
	return fmt.Sprintf("ofd: %s: not yet available (%s): %s", e.Provider, e.Reason, e.Message)
}

// Is makes errors.Is(err, ErrNotYet) true.
func (e *PendingError) Is(target error) bool { return target == ErrNotYet }

// Reason codes of RejectedError. They are stable and safe to store.
const (
	ReasonInvalidReceipt   = "invalid_receipt"          // proverkacheka code 0: incorrect / fp mismatch / not found
	ReasonInvalidSign      = "invalid_fiscal_sign"      // Open API 406: fiscal sign failed the crypto check (final)
	ReasonNotFound         = "not_found"                // Open API 404 on a receipt older than the storage window
	ReasonBadRequest       = "bad_request"              // Open API 400: requisites failed format/logic control
	ReasonAutonomousKKT    = "autonomous_kkt"           // the cash register never sends data to FNS (irkkt only)
	ReasonOperationExpense = "operation_expense"        // operation type 3 (расход)
	ReasonOperationExpRet  = "operation_expense_return" // operation type 4 (возврат расхода)
	ReasonMismatchFN       = "mismatch_fn"
	ReasonMismatchFD       = "mismatch_fd"
	ReasonMismatchFP       = "mismatch_fp"
	ReasonMismatchOp       = "mismatch_operation"
	ReasonMismatchSum      = "mismatch_sum"
	ReasonMismatchTime     = "mismatch_time"
	ReasonItemsSum         = "items_sum_mismatch"
)

// RejectedError is a final negative answer about a receipt. Never retry it.
type RejectedError struct {
	Provider string
	// Reason is one of the Reason* constants.
	Reason string
	// Message is the provider's text or an English explanation.
	Message string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("ofd: %s: rejected (%s): %s", e.Provider, e.Reason, e.Message)
}

// RateLimitedError means the call was refused because of a rate limit or a
// quota, by the provider or by our own limiter (then the provider was not
// called). Reschedule after RetryAfter; it does not say anything about the
// receipt.
type RateLimitedError struct {
	Provider   string
	RetryAfter time.Duration
	// Reason: "provider" (the service said so), "wait" (proverkacheka code 4),
	// "local_rate" or "local_daily_quota" (our Limiter, see ofdredis).
	Reason  string
	Message string
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("ofd: %s: rate limited (%s), retry after %s: %s", e.Provider, e.Reason, e.RetryAfter, e.Message)
}

// TransientError is a failure of the service or the transport (5xx, timeout,
// malformed body, SOAP fault, unknown answer). Retry later.
type TransientError struct {
	Provider string
	// Op says what failed: "http", "status", "decode", "soap_fault", "timeout", "auth", "limiter", "unknown_code".
	Op string
	// Status is the HTTP status when there was one.
	Status int
	Err    error
}

func (e *TransientError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("ofd: %s: transient %s (HTTP %d): %v", e.Provider, e.Op, e.Status, e.Err)
	}
	return fmt.Sprintf("ofd: %s: transient %s: %v", e.Provider, e.Op, e.Err)
}

func (e *TransientError) Unwrap() error { return e.Err }

// IsTransient reports whether err is a temporary failure worth retrying as
// "provider down": a *TransientError, a per-call deadline, or a network
// error. Typed outcomes (ErrNotYet, *RejectedError, *RateLimitedError) and
// context.Canceled are not transient.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var te *TransientError
	if errors.As(err, &te) {
		return true
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// IsRateLimited reports whether err is (or wraps) a *RateLimitedError.
func IsRateLimited(err error) bool {
	var rl *RateLimitedError
	return errors.As(err, &rl)
}

// IsRejected reports whether err is (or wraps) a *RejectedError.
func IsRejected(err error) bool {
	var re *RejectedError
	return errors.As(err, &re)
}
