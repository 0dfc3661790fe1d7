// Package notifydb stores the notification outbox, delivery records, the
// in-app inbox and preferences in PostgreSQL (migrations/00040). Enqueue
// writes an intent inside the caller's transaction; Notifier subscribes to
// the domain events that tell participants something (receipt.Changed,
// ledger.Released) and enqueues their intents in the event's transaction.
// Store implements notify.Store and notify.OutboxStore and the inbox
// queries.
package notifydb
