package fcm

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

	"github.com/loyaltyjam/loyaltyjam/internal/notify/push"
)

func logLevel(e *push.Error) slog.Level {
	if e.Kind == push.KindPermanent {
		return slog.LevelError
	}
	return slog.LevelWarn
}

// classify turns an SDK error into a *push.Error. The SDK's predicates use a
// type assertion on its own error type, so err must be the raw SDK error.
func classify(ctx context.Context, err error) *push.Error {
	e := &push.Error{Kind: push.KindRetryable, Err: err}
	if resp := errorutils.HTTPResponse(err); resp != nil {
		e.HTTPStatus = resp.StatusCode
		e.Wait = parseRetryAfter(resp.Header.Get("Retry-After"))
	}
	switch {
	case messaging.IsUnregistered(err):
		e.Kind, e.Code = push.KindTokenInvalid, "UNREGISTERED"
	case messaging.IsSenderIDMismatch(err):
		e.Kind, e.Code = push.KindTokenInvalid, "SENDER_ID_MISMATCH"
	case messaging.IsInvalidArgument(err):
		e.Code = "INVALID_ARGUMENT"
		e.Kind = push.KindPermanent
		if aboutToken(err) {
			e.Kind = push.KindTokenInvalid
		}
	case messaging.IsQuotaExceeded(err):
		e.Kind, e.Code = push.KindRateLimited, "QUOTA_EXCEEDED"
	case messaging.IsUnavailable(err):
		e.Code = "UNAVAILABLE"
	case messaging.IsInternal(err):
		e.Code = "INTERNAL"
	case messaging.IsThirdPartyAuthError(err):
		e.Kind, e.Code = push.KindPermanent, "THIRD_PARTY_AUTH_ERROR"
	case errorutils.IsResourceExhausted(err):
		e.Kind, e.Code = push.KindRateLimited, "RESOURCE_EXHAUSTED"
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
		e.Kind = push.KindPermanent
		e.Code = platformCode(err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil:
		e.Code = "DEADLINE_EXCEEDED"
	case e.HTTPStatus >= 500:
		e.Code = "UNKNOWN"
	case e.HTTPStatus == http.StatusTooManyRequests:
		e.Kind, e.Code = push.KindRateLimited, "RESOURCE_EXHAUSTED"
	case e.HTTPStatus != 0:
		e.Kind, e.Code = push.KindPermanent, "UNKNOWN"
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
