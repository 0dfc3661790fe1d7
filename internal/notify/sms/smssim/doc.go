// Package smssim is a local simulator of the SMS.RU HTTP API (the protocol
// package sms speaks): POST or GET /sms/send and /my/balance, with the same
// form parameters and JSON answers. It records every accepted message so a
// test, or a person running the product in dev mode, can read the sign-in
// code that "was sent".
//
// Failure modes are chosen by the recipient number. Numbers of the form
// +7 999 000 0NNN trigger:
//
//	+79990000429   HTTP 429 with Retry-After (gateway rate limit)
//	+79990000500   HTTP 500;  +79990000503  HTTP 503
//	+79990000220   status_code 220 "service temporarily unavailable"
//	+79990000201   status_code 201 "not enough money" (balance exhausted)
//	+79990000207   per-number status_code 207 "no route to this number"
//	+79990000231   per-number status_code 231 (same message too often)
//	+79990000999   answered after Options.SlowDelay
//
// Any other well-formed number is accepted. The admin API under /_sim/ (see
// Server.ServeHTTP) and the methods FailNext and SetBalance make the next N
// requests fail or drain the balance for everyone; GET /_sim/ is an HTML
// page of recent messages, GET /_sim/messages?to=+7… the same as JSON.
package smssim
