// Package email sends e-mail (participant credentials, reports) over SMTP.
//
// Client submits one message per Send: it dials with a timeout, optionally
// upgrades with STARTTLS (or starts in TLS for port 465), authenticates with
// AUTH PLAIN when credentials are configured, and writes a MIME message:
// UTF-8 subject and display names as RFC 2047 encoded-words, text/plain
// alone or multipart/alternative with an HTML part, both quoted-printable.
//
// Failures are *Error values: SMTP 4xx replies and network errors are
// retryable, 5xx replies on the recipient are KindRejected (bad address,
// drop it), authentication and TLS failures are KindConfig (alert an
// operator).
//
// Package emailsim is a local SMTP server for tests and dev mode that
// records what it receives and shows it over HTTP.
package email
