// Package points turns a verified receipt into points: it matches the
// receipt's lines to the client's SKU catalog, evaluates the program's rules
// (internal/rules) in force on the purchase date, sends anomalies to a
// moderator, reverses the points of a returned sale, and posts the credit
// to the ledger — all inside the caller's database transaction, so the
// receipt's status and its points commit together or not at all.
//
// Process is the hook the verification worker calls when a receipt becomes
// verified (receiptdb.Update gives it the transaction and the locked
// receipt). Retrying it is safe: a receipt that already left `verified` is
// left alone, and the ledger's idempotency key "receipt:<id>:v<version>"
// refuses a second credit.
//
// Per program the credit path is serialized by a lock on the program's
// budget account, taken before the cap counters are read, so caps and the
// budget hold under concurrent receipts.
package points
