// Package ledgerdb stores the points ledger (internal/ledger) in PostgreSQL.
//
// Post writes one transaction inside the caller's database transaction, so a
// receipt's status and its points commit together. It locks the accounts it
// touches in id order (no deadlocks between postings), checks the
// non-negative balances itself under those locks (so an overdraft is a
// domain error and the caller's transaction stays usable), and relies on
// the CHECK constraints and the deferred balanced-transaction trigger of
// the schema as the last line of defence.
//
// ReleasePending (run hourly through ReleaseDue by the worker) posts each
// participant's release in its own transaction and publishes it there as a
// ledger.Released to the store's subscribers (the notifier, wired in
// cmd/loyaltyjam), so the release and what they write commit together.
package ledgerdb
