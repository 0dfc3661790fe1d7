// Package ofd fetches Russian fiscal receipts (54-ФЗ) from the fiscal data
// services and turns them into one domain Receipt.
//
// Every back-end sits behind the one-method Fetcher interface. Fetch returns
// either a cross-checked Receipt or an error that is a typed outcome the
// verification worker branches on:
//
//   - errors.Is(err, ErrNotYet): the operator has not got the receipt yet
//     (proverkacheka code 2/5, Open API PROCESSING or 404 on a young receipt);
//     retry later with growing delays. errors.As(err, *PendingError) gives the
//     provider's reason.
//   - *RejectedError: a final answer (invalid fiscal sign, not found and too
//     old, operation types 3/4, a receipt that does not match the QR). Never
//     retry; Reason is a stable slug (Reason* constants).
//   - *RateLimitedError: the provider or our own shared limiter refused the
//     call; reschedule after RetryAfter without burning the retry budget.
//   - IsTransient(err): the provider is down or answered garbage (5xx,
//     timeout, malformed body, SOAP fault); retry.
//
// Clients: Proverkacheka (proverkacheka.com JSON API) and OpenAPI (official
// FNS Open API, SOAP). Chain tries providers in order and falls through on
// rate limits and transient failures only. Limited wraps a Fetcher with a
// Limiter (ofdredis.Limiter, in Redis) so that all worker processes share one
// per-provider rate limit and daily quota.
//
// DecodeReceipt is the tolerant decoder for the receipt JSON of every
// envelope (proverkacheka, irkkt, Open API ticket, bare receipt); CrossCheck
// compares a decoded receipt with the QR query.
//
// Time convention (shared with package fiscal): Query.Time and Receipt.Time
// are the shop's local wall-clock reading stored in time.UTC as a "no zone"
// marker. Money is int64 kopecks, quantities are int64 thousandths.
//
// The simulator of both services lives in package ofdsim.
package ofd
