package ledger

import "context"

// Released is the domain event of a release (KindRelease): a participant's
// pending points of a program became available at period close.
type Released struct {
	ClientID, ProgramID, ParticipantID int64
	AmountKopecks                      int64
	// Key is the release transaction's idempotency key: one per release,
	// so a consumer keyed on it writes once however often it is called.
	Key string
}

// ReleaseSubscriber consumes releases in the transaction that posts them,
// so what it writes (the participant's "points released" notification)
// commits with the release or not at all. Tx is the store's transaction
// handle (pgx.Tx for internal/postgres/ledgerdb). A retried transaction
// calls it again: implementations write idempotently (keyed on Key). An
// error rolls the release back.
type ReleaseSubscriber[Tx any] interface {
	PointsReleased(ctx context.Context, tx Tx, r Released) error
}
