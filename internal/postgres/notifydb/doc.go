// Package notifydb stores the notification outbox, delivery records, the
// in-app inbox and preferences in PostgreSQL (migrations/00040). Enqueue
// and ReceiptHook write intents inside the caller's transaction; Store
// implements notify.Store and notify.OutboxStore and the inbox queries.
package notifydb
