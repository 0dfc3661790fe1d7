// Package apperr is the one error table of the product. Domain code returns
// an *Error with a Kind (what class of failure), a stable machine Code
// (e.g. "receipt_already_claimed") and a Message safe to show a user, in
// Russian. Transports map Kind to their own status codes; anything that is
// not an *Error is an internal failure whose details stay in the log.
package apperr

import (
	"errors"
	"fmt"
)

// Kind classifies an error for transports.
type Kind int

// The kinds of failure. Transports map each to a status (HTTP, task retry).
const (
	Internal     Kind = iota // a bug or an outage; never shown in detail
	Invalid                  // the input is wrong; the caller must fix it
	NotFound                 // the thing does not exist (or is not the caller's)
	Conflict                 // the state forbids it (already claimed, already done)
	Unauthorized             // no valid credentials
	Forbidden                // valid credentials, not allowed
	RateLimited              // too many requests; retry later
	TooLarge                 // the payload is too big
	Unsupported              // the media type is not accepted
	Unavailable              // a dependency is down; retry later
)

// Error is a domain error with a stable code and a user-safe message.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// Field names the offending input field, when there is one.
	Field string
	// Err is the underlying cause, for logs only.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Wrap returns an *Error with cause err.
func Wrap(err error, kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message, Err: err}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// KindOf returns the kind of err (Internal when err has none).
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return Internal
}
