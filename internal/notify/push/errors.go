package push

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
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
	// Err is the underlying SDK error.
	Err error

	retryAfter time.Duration
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

// Unwrap returns the underlying SDK error.
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
func (e *Error) RetryAfter() time.Duration { return e.retryAfter }

func (e *Error) logLevel() slog.Level {
	if e.Kind == KindPermanent {
		return slog.LevelError
	}
	return slog.LevelWarn
}

// classify turns an SDK error into an *Error. The SDK's predicates use a
// type assertion on its own error type, so err must be the raw SDK error.
func classify(ctx context.Context, err error) *Error {
	e := &Error{Kind: KindRetryable, Err: err}
	if resp := errorutils.HTTPResponse(err); resp != nil {
		e.HTTPStatus = resp.StatusCode
		e.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
	}
	switch {
	case messaging.IsUnregistered(err):
		e.Kind, e.Code = KindTokenInvalid, "UNREGISTERED"
	case messaging.IsSenderIDMismatch(err):
		e.Kind, e.Code = KindTokenInvalid, "SENDER_ID_MISMATCH"
	case messaging.IsInvalidArgument(err):
		e.Code = "INVALID_ARGUMENT"
		e.Kind = KindPermanent
		if aboutToken(err) {
			e.Kind = KindTokenInvalid
		}
	case messaging.IsQuotaExceeded(err):
		e.Kind, e.Code = KindRateLimited, "QUOTA_EXCEEDED"
	case messaging.IsUnavailable(err):
		e.Code = "UNAVAILABLE"
	case messaging.IsInternal(err):
		e.Code = "INTERNAL"
	case messaging.IsThirdPartyAuthError(err):
		e.Kind, e.Code = KindPermanent, "THIRD_PARTY_AUTH_ERROR"
	case errorutils.IsResourceExhausted(err):
		e.Kind, e.Code = KindRateLimited, "RESOURCE_EXHAUSTED"
	case errorutils.IsUnavailable(err):
		e.Code = "UNAVAILABLE"
	case errorutils.IsInternal(err):
		e.Code = "INTERNAL"
	case errorutils.IsDeadlineExceeded(err):
		e.Code = "DEADLINE_EXCEEDED"
	case errorutils.IsUnknown(err) && e.HTTPStatus == 0:
		// A transport error the SDK could not name: the request may not
		// have reached FCM.
		e.Code = "UNKNOWN"
	case errorutils.IsInvalidArgument(err), errorutils.IsUnauthenticated(err),
		errorutils.IsPermissionDenied(err), errorutils.IsNotFound(err),
		errorutils.IsFailedPrecondition(err):
		e.Kind = KindPermanent
		e.Code = platformCode(err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil:
		e.Code = "DEADLINE_EXCEEDED"
	case e.HTTPStatus >= 500:
		e.Code = "UNKNOWN"
	case e.HTTPStatus == http.StatusTooManyRequests:
		e.Kind, e.Code = KindRateLimited, "RESOURCE_EXHAUSTED"
	case e.HTTPStatus != 0:
		e.Kind, e.Code = KindPermanent, "UNKNOWN"
	default:
		// Not an FCM answer at all (e.g. an unparsable success body). Retry:
		// losing a notification is worse than a bounded number of attempts.
		e.Code = "UNKNOWN"
	}
	return e
}

func platformCode(err error) string {
	switch {
	case errorutils.IsInvalidArgument(err):
		return "INVALID_ARGUMENT"
	case errorutils.IsUnauthenticated(err):
		return "UNAUTHENTICATED"
	case errorutils.IsPermissionDenied(err):
		return "PERMISSION_DENIED"
	case errorutils.IsNotFound(err):
		return "NOT_FOUND"
	default:
		return "FAILED_PRECONDITION"
	}
}

// aboutToken tells an INVALID_ARGUMENT caused by the registration token
// (delete it) from one caused by the payload (our bug; keep the token). FCM
// names the offending field in a google.rpc.BadRequest detail; older
// responses only say so in the message.
func aboutToken(err error) bool {
	resp := errorutils.HTTPResponse(err)
	if resp != nil && resp.Body != nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		var ge struct {
			Error struct {
				Message string `json:"message"`
				Details []struct {
					Type            string `json:"@type"`
					FieldViolations []struct {
						Field string `json:"field"`
					} `json:"fieldViolations"`
				} `json:"details"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &ge) == nil {
			for _, d := range ge.Error.Details {
				for _, fv := range d.FieldViolations {
					if fv.Field == "message.token" {
						return true
					}
				}
			}
			if strings.Contains(strings.ToLower(ge.Error.Message), "registration token") {
				return true
			}
		}
	}
	return strings.Contains(strings.ToLower(err.Error()), "registration token")
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
