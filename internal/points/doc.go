// Package points turns a verified receipt into points: it matches the
// receipt's lines to the client's SKU catalog, evaluates the program's rules
// (internal/rules) in force on the purchase date, sends anomalies to a
// moderator, reverses the points of a returned sale, and posts the credit
// to the ledger — all inside the caller's database transaction, so the
// receipt's status and its points commit together or not at all.
//
// The package holds no SQL: it reads and writes through its Store's unit of
// work (Store.InTx, implemented by internal/postgres/pointsdb), which joins
// the transaction the context carries, and through two ports of other
// domains called with that same context: the catalog (Catalogs,
// *catalogdb.Store) and the ledger (ledger.Postings, ledgerdb.Postings).
//
// Process is the hook the verification worker calls when a receipt becomes
// verified (the receipt store's Modify locks the receipt and hands on a
// context carrying its transaction). Retrying it is safe: a receipt that already left `verified` is
// left alone, and the ledger's idempotency key "receipt:<id>:v<version>"
// refuses a second credit.
//
// Caps and the budget hold under concurrent receipts without serializing a
// program's credits through the whole evaluation: the cap windows are read
// under transaction-scoped advisory locks on the participant (and on the
// shop when the rules cap the shop's day), taken before any ledger lock;
// the budget is read unlocked and spent by ledger.Postings.Post, which locks
// the budget account and refuses to overdraw it. On that refusal the receipt
// is evaluated again under Postings.LockBudget, so it gets what is left of the
// budget or nothing, as if the credits had run one after another. A
// program's credits therefore wait for each other only from the budget
// update to commit.
package points
