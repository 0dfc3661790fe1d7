// Package intake accepts receipts from participants (docs/architecture.md §3): a photo of
// the receipt's QR code, the QR text decoded on the phone, or the fiscal
// fields typed by hand.
//
// Submit validates the input (package fiscal: each rejected field comes
// back with its reason code), applies the per-participant upload limits,
// and for a photo checks the format and declared dimensions before any
// pixel is decoded, then decodes it on a bounded pool within a time budget:
// a photo without a QR code is refused at once (qr_not_found) so the seller
// can retake it; a photo that needs more work than the budget allows is
// accepted as received and finished by the decode worker.
//
// The accepted receipt and its first events are committed first; only then
// is its task enqueued. If the enqueue fails the receipt stays and the
// worker's sweeper re-enqueues it (Redis may lose tasks; PostgreSQL may
// not). A readable receipt is stored directly as queued with the events
// received/decoded → queued, so a worker picking the task up at once always
// finds it in the state it expects.
//
// Claim-once is the store's unique constraint on (fn, i, fp): the same
// participant sending a receipt again gets the existing one (Created false),
// another participant gets receiptdb's receipt_already_claimed.
package intake
