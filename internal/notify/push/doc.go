// Package push delivers push notifications to phones through Firebase Cloud
// Messaging (FCM HTTP v1), using the Firebase Admin SDK's messaging client.
//
// The same Sender talks to the real FCM (production: a service account
// credentials file and a project id) or to the local simulator in
// package fcmsim (tests and dev mode: Options.Endpoint pointing at it, no
// authentication). Nothing else changes between the two, so tests exercise
// the real SDK request encoding and error decoding.
//
// Errors returned by Send are *Error values. Callers decide what to do by
// kind, never by message text:
//
//   - errors.Is(err, ErrTokenInvalid): FCM says the registration token is
//     unregistered, malformed or belongs to another project. Delete the
//     token; retrying is pointless.
//   - (*Error).Retryable(): quota exceeded (429), unavailable (503),
//     internal (500), timeouts and network errors. Retry later, no sooner
//     than (*Error).RetryAfter() when it is non-zero.
//   - anything else is permanent for this message (bad payload, bad
//     credentials, wrong project).
//
// Note that the SDK itself already retries 503 responses and network errors
// up to 4 times with exponential backoff (0 s, 1 s, 2 s, 4 s, or the
// server's Retry-After when it is longer and at most 2 minutes) before
// Send returns; a caller's task timeout must leave room for that.
package push
