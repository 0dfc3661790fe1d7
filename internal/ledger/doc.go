// Package ledger is the double-entry points ledger (docs/architecture.md §4–§5). Every
// movement of points is a Transaction of Postings that sum to zero, posted
// once under a unique idempotency key; account balances are a cache of their
// postings that `loyaltyjam ledger check` reconciles.
//
// Sign convention: an account's balance is the sum of its postings. Points
// flow from the client's funding account (which goes negative: it is what
// the client owes the platform) to a program's budget, from the budget to a
// participant's pending or available account, and from there to redemption.
// A participant's accounts and a program's budget never go below zero.
//
// The package is pure: the PostgreSQL store is internal/postgres/ledgerdb.
package ledger
