package receipt

import "context"

// Changed is the domain event of one stored change of a receipt: the
// receipt as it was stored and the events (transitions and notes) recorded
// on it since it was stored before, oldest first. The store publishes it
// to its Subscribers inside the transaction that stores the change; a
// change that recorded no event publishes nothing.
type Changed struct {
	Receipt Receipt
	Events  []Event
}

// Subscriber consumes receipt changes in the transaction that stores them,
// so what it writes (a notification in the outbox, the report rollups)
// commits with the receipt or not at all. Tx is the store's transaction
// handle (pgx.Tx for internal/postgres/receiptdb): the domain states the
// contract without naming the driver.
//
// A store retries a transaction that lost a race, so ReceiptChanged may
// run more than once for one change, each time in a fresh transaction of
// which at most one commits. Implementations must write idempotently (a
// dedup key, or replacing what the receipt contributed before), never
// count calls. An error rolls the whole change back and is returned by the
// store's save.
type Subscriber[Tx any] interface {
	ReceiptChanged(ctx context.Context, tx Tx, c Changed) error
}
