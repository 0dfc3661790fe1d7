// Package emailsim is a local SMTP server (github.com/emersion/go-smtp) for
// tests and dev mode. It accepts mail to any address, records each message
// with its subject decoded and its text and HTML parts extracted, and shows
// them over HTTP: GET /_sim/emails?to=… as JSON, GET /_sim/ as a page.
//
// Failure modes are chosen by the recipient's local part:
//
//	fail-…@any      550 5.1.1 at RCPT TO (no such mailbox: permanent)
//	tempfail-…@any  451 4.3.0 at RCPT TO (try again later)
//	slow-…@any      RCPT TO answered after Options.SlowDelay
//
// and for everyone by FailNext (the next N messages get 451 at DATA). AUTH
// PLAIN is offered over the unencrypted connection; with Options.Username
// set, only those credentials are accepted (535 otherwise) and
// authentication is required, otherwise any credentials pass.
package emailsim
