// Package mobileapi is the participant app's HTTP surface, versioned under
// /v1: sign-in (SMS code or password, JWT access + rotating refresh
// tokens), the profile, push devices, and receipt intake and history.
//
// Handlers are thin: they parse and check the request, call the domain
// (package auth, package intake, the receipt store) and render DTOs. Every
// error is {code, message[, field, request_id]} with a stable code and a
// Russian message (see internal/httpapi); a 429 carries Retry-After. The
// contract is openapi.yaml, served at /v1/openapi.yaml; the tests validate
// every response they receive against it.
package mobileapi
