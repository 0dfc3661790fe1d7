// Package mobileapi is the participant app's HTTP surface, versioned under
// /v1, and the only one: sign-in (SMS code or password, JWT access +
// rotating refresh tokens), the profile, push devices, receipt intake and
// history (api.go, auth.go, me.go, receipts.go, upload.go), the inbox and
// notification preferences (inbox.go), points (points.go) and
// merchandiser tasks (tasks.go). Staff routes are internal/adminapi's.
//
// Handlers are thin: they parse and check the request, call the domain
// (package auth, package intake, the stores behind the small interfaces
// declared here: Inbox, Ledger, Tasks) and render DTOs. Every route but
// sign-in runs behind one authenticate middleware. Every error is
// {code, message[, field, request_id]} with a stable code and a Russian
// message (see internal/httpapi); a 429 carries Retry-After. The contract
// is openapi.yaml, served at /v1/openapi.yaml; the tests validate every
// response they receive against it, and served_test.go checks that the
// served routes and the document name the same set.
package mobileapi
