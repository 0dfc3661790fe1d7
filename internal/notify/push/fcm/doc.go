// Package fcm delivers push notifications to phones through Firebase Cloud
// Messaging (FCM HTTP v1), using the Firebase Admin SDK's messaging client.
// It is the Firebase adapter for package push: Sender takes a push.Message
// and returns *push.Error values (see package push for what each kind
// means). Only cmd wiring and tests import it.
//
// The same Sender talks to the real FCM (production: a service account
// credentials file and a project id) or to the local simulator in
// package fcmsim (tests and dev mode: Options.Endpoint pointing at it, no
// authentication). Nothing else changes between the two, so tests exercise
// the real SDK request encoding and error decoding.
//
// Note that the SDK itself already retries 503 responses and network errors
// up to 4 times with exponential backoff (0 s, 1 s, 2 s, 4 s, or the
// server's Retry-After when it is longer and at most 2 minutes) before
// Send returns; a caller's task timeout must leave room for that.
package fcm
