package registry

import "context"

// LineCredited is the domain event of a registry line that credited a
// participant: applying a registry (or a correction of it) raised the
// participant's points for the period by PointsKopecks.
type LineCredited struct {
	ParticipantID int64
	ProgramID     int64
	ProgramName   string
	// PeriodName is the period as people read it (PeriodName).
	PeriodName    string
	PointsKopecks int64
	// Pending: the points stay pending until the program's period closes.
	Pending bool
	// Key is the line's ledger key (LineKey): one per version of the
	// line, so a consumer keyed on it writes once however often it is
	// called.
	Key string
}

// CreditSubscriber consumes registry credits in the transaction that posts
// them, so what it writes (the participant's "registry_credited"
// notification) commits with the points or not at all. Tx is the store's
// transaction handle (pgx.Tx for internal/postgres/registrydb). A retried
// transaction calls it again: implementations write idempotently (keyed
// on Key). An error rolls the application back.
type CreditSubscriber[Tx any] interface {
	RegistryCredited(ctx context.Context, tx Tx, c LineCredited) error
}
