package push

import (
	"errors"
	"time"
)

// ErrTokenInvalid is matched (errors.Is) by a send error when FCM reports
// the registration token as unregistered (app uninstalled, token expired),
// malformed, or issued for another Firebase project. The caller deletes the
// token.
var ErrTokenInvalid = errors.New("push: registration token is invalid or unregistered")

// Kind says what a caller should do about a failed send.
type Kind int

const (
	// KindPermanent: this message will never be accepted as it is (bad
	// payload, bad credentials, wrong project). Do not retry.
	KindPermanent Kind = iota
	// KindRetryable: a transient failure (FCM 500/503, timeout, network).
	KindRetryable
	// KindRateLimited: FCM quota exceeded (429). Retry after RetryAfter.
	KindRateLimited
	// KindTokenInvalid: delete the token; see ErrTokenInvalid.
	KindTokenInvalid
)

// String returns the kind's snake_case name, as logged.
func (k Kind) String() string {
	switch k {
	case KindRetryable:
		return "retryable"
	case KindRateLimited:
		return "rate_limited"
	case KindTokenInvalid:
		return "token_invalid"
	default:
		return "permanent"
	}
}

// Error is a classified send failure.
type Error struct {
	Kind Kind
	// Code is FCM's error code (UNREGISTERED, QUOTA_EXCEEDED, …) or the
	// platform status (INVALID_ARGUMENT, UNAVAILABLE, DEADLINE_EXCEEDED, …).
	Code string
	// HTTPStatus is the status of FCM's response, 0 if there was none.
	HTTPStatus int
	// Err is the underlying error (the SDK's, for package fcm).
	Err error
	// Wait is the delay FCM asked for (Retry-After header), or zero; see
	// RetryAfter.
	Wait time.Duration
}

// Error implements error.
func (e *Error) Error() string {
	s := "push: " + e.Kind.String()
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrTokenInvalid) true for KindTokenInvalid.
func (e *Error) Is(target error) bool {
	return target == ErrTokenInvalid && e.Kind == KindTokenInvalid
}

// Retryable reports whether sending the same message later may succeed.
func (e *Error) Retryable() bool {
	return e.Kind == KindRetryable || e.Kind == KindRateLimited
}

// RetryAfter is the delay FCM asked for (Retry-After header), or zero.
func (e *Error) RetryAfter() time.Duration { return e.Wait }
