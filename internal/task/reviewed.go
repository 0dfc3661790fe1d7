package task

import "context"

// Reviewed is the domain event of a report review: a reviewer approved,
// rejected or sent back one submission.
type Reviewed struct {
	// EventID is the submission event that caused it (unique per review).
	EventID       int64
	ClientID      int64
	ParticipantID int64
	SubmissionID  int64
	TaskID        int64
	TaskTitle     string
	// Status is approved, rejected or rework_requested.
	Status     SubmissionStatus
	ReasonCode string
	Message    string // Russian, for the push/SMS text
	// PointsKopecks is the reward credited by an approval.
	PointsKopecks int64
	// Pending: the points stay pending until the program's period closes.
	Pending bool
}

// ReviewSubscriber consumes reviews in the transaction that records them,
// so what it writes (the participant's "task_reviewed" notification)
// commits with the review or not at all. Tx is the store's transaction
// handle (pgx.Tx for internal/postgres/taskdb). A retried transaction calls
// it again: implementations write idempotently (keyed on EventID). An error
// rolls the review back.
type ReviewSubscriber[Tx any] interface {
	TaskReviewed(ctx context.Context, tx Tx, r Reviewed) error
}
