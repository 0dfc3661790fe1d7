package sms

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind says what a caller should do about a failed send.
type Kind int

const (
	// KindRejected: this message to this number will never go (bad or
	// unreachable number, stop list, empty or too long text). Drop it.
	KindRejected Kind = iota
	// KindRetryable: a transient failure (gateway 5xx, "service
	// temporarily unavailable", timeout, network). Retry with backoff.
	KindRetryable
	// KindRateLimited: a gateway limit (HTTP 429, daily limit, too many
	// messages to this number). Retry no sooner than RetryAfter.
	KindRateLimited
	// KindAccount: our account or configuration is wrong (bad api_id,
	// balance exhausted, sender name not approved). Nothing will go until
	// an operator acts; alert, and do not retry in a tight loop.
	KindAccount
)

// String returns the kind's snake_case name, as logged.
func (k Kind) String() string {
	switch k {
	case KindRetryable:
		return "retryable"
	case KindRateLimited:
		return "rate_limited"
	case KindAccount:
		return "account"
	default:
		return "rejected"
	}
}

// Error is a classified send failure. It never holds the phone number or
// the text.
type Error struct {
	Kind Kind
	// Code is the gateway's status_code (e.g. 201 balance exhausted), 0 if
	// the failure happened before the gateway answered in its protocol.
	Code int
	// HTTPStatus is the HTTP status of the answer, 0 if there was none.
	HTTPStatus int
	// Text is the gateway's status_text or our description.
	Text string
	// Err is the underlying transport error, if any.
	Err error

	retryAfter time.Duration
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sms: ")
	b.WriteString(e.Kind.String())
	if e.Code != 0 {
		b.WriteString(" (code " + strconv.Itoa(e.Code) + ")")
	}
	if e.HTTPStatus != 0 && e.HTTPStatus != http.StatusOK {
		b.WriteString(" (HTTP " + strconv.Itoa(e.HTTPStatus) + ")")
	}
	if e.Text != "" {
		b.WriteString(": " + e.Text)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the transport error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether sending the same message later may succeed
// without anyone acting.
func (e *Error) Retryable() bool { return e.Kind == KindRetryable || e.Kind == KindRateLimited }

// RetryAfter is the delay the gateway asked for, or a conservative one for
// limits it does not time, or zero.
func (e *Error) RetryAfter() time.Duration { return e.retryAfter }

// classifyCode maps an SMS.RU status_code (request-level or per-number) to
// an *Error. Codes are from SMS.RU's published list for /sms/send.
func classifyCode(code int, text string) *Error {
	e := &Error{Code: code, Text: text, HTTPStatus: http.StatusOK}
	switch code {
	case 220, 500: // service temporarily unavailable; server error, repeat
		e.Kind = KindRetryable
	case 206, 230, 232: // daily limits: the account's, or per number
		e.Kind, e.retryAfter = KindRateLimited, time.Hour
	case 231, 233: // same text to this number too often; code resend too soon
		e.Kind, e.retryAfter = KindRateLimited, time.Minute
	case 200, 201, 204, 300, 301, 302: // api_id; balance; sender name; token/auth; account not confirmed
		e.Kind = KindAccount
	default: // 202 bad number, 203 no text, 205 too long, 207 no route,
		// 209 stop list, 208/210/211/212/213 our request is malformed.
		e.Kind = KindRejected
	}
	if e.Text == "" {
		e.Text = "gateway status " + strconv.Itoa(code)
	}
	return e
}

func parseRetryAfter(v string) time.Duration {
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
