package email

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// Kind says what a caller should do about a failed send.
type Kind int

const (
	// KindRejected: the server refused this message or recipient for good
	// (5xx: no such mailbox, policy) or the message is malformed. Drop it.
	KindRejected Kind = iota
	// KindRetryable: a 4xx reply (greylisting, mailbox busy, server
	// shutting down), a timeout or a network error. Retry with backoff.
	KindRetryable
	// KindConfig: authentication or TLS failed, or the server lacks a
	// required feature. Nothing will go until an operator acts.
	KindConfig
)

// String returns the kind's snake_case name, as logged.
func (k Kind) String() string {
	switch k {
	case KindRetryable:
		return "retryable"
	case KindConfig:
		return "config"
	default:
		return "rejected"
	}
}

// Error is a classified send failure. It never holds the address.
type Error struct {
	Kind Kind
	// Code is the SMTP reply code (e.g. 550, 451), 0 if none.
	Code int
	// Text says at which step it failed and the server's reply text.
	Text string
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("email: " + e.Kind.String())
	if e.Code != 0 {
		b.WriteString(" (" + strconv.Itoa(e.Code) + ")")
	}
	if e.Text != "" {
		b.WriteString(": " + e.Text)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether sending the same message later may succeed.
func (e *Error) Retryable() bool { return e.Kind == KindRetryable }

// RetryAfter is always zero: SMTP has no way to say when to come back. It
// exists so all notify channels share the same method set.
func (e *Error) RetryAfter() time.Duration { return 0 }

// classify maps an error at step to an *Error by the SMTP reply class:
// 4xx retryable, 5xx rejected, no reply (network, timeout) retryable.
func classify(ctx context.Context, step string, err error) *Error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		e := &Error{Code: se.Code, Text: step + ": " + se.Message, Err: err}
		switch {
		case se.Code >= 400 && se.Code < 500:
			e.Kind = KindRetryable
		case se.Code == 530 || se.Code == 535 || se.Code == 538,
			step == "MAIL FROM" && se.EnhancedCode[0] == 5 && se.EnhancedCode[1] == 7:
			// Authentication required or failed, or the server refuses
			// our sender for security policy: our setup, not this message.
			e.Kind = KindConfig
		default:
			e.Kind = KindRejected
		}
		return e
	}
	if ctx.Err() != nil {
		return &Error{Kind: KindRetryable, Text: step + ": cancelled", Err: ctx.Err()}
	}
	return &Error{Kind: KindRetryable, Text: step, Err: err}
}

// classifyConfig is classify for steps where a failure means our setup is
// wrong (TLS, AUTH), unless it is a transient 4xx or a network error.
func classifyConfig(ctx context.Context, step string, err error) *Error {
	e := classify(ctx, step, err)
	if e.Kind == KindRejected || (e.Code == 0 && ctx.Err() == nil && !isNetErr(err)) {
		e.Kind = KindConfig
	}
	return e
}

func isNetErr(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne)
}
