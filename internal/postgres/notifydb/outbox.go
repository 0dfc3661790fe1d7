package notifydb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/notify"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
	"github.com/loyaltyjam/loyaltyjam/internal/reward"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

// ErrNoParticipant: the intent names a participant that does not exist.
var ErrNoParticipant = apperr.New(apperr.Invalid, "notification_participant_unknown", "Получатель уведомления не найден.")

// Enqueue writes intent in to the outbox inside tx, the transaction of the
// event that causes it, so the notification exists if and only if the
// event commits. An intent with the same DedupKey already stored is kept
// and its id returned with created=false: a retried transaction or event
// never creates two. The relay delivers it after commit.
func Enqueue(ctx context.Context, tx pgx.Tx, in notify.Intent) (id int64, created bool, err error) {
	if err := in.Validate(); err != nil {
		return 0, false, err
	}
	data, err := json.Marshal(in.Data)
	if err != nil {
		return 0, false, fmt.Errorf("notification data: %w", err)
	}
	err = tx.QueryRow(ctx, `INSERT INTO notification_intents (client_id, participant_id, event_type, data, dedup_key, urgent)
		SELECT client_id, id, $2, $3, $4, $5 FROM participants WHERE id = $1
		ON CONFLICT ON CONSTRAINT notification_intents_dedup_key DO NOTHING
		RETURNING id`, in.ParticipantID, string(in.Type), data, in.DedupKey, in.Urgent).Scan(&id)
	if err == nil {
		return id, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, false, fmt.Errorf("insert notification intent: %w", err)
	}
	err = tx.QueryRow(ctx, `SELECT id FROM notification_intents WHERE dedup_key = $1`, in.DedupKey).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, ErrNoParticipant
	}
	return id, false, err
}

// receiptEvent maps a receipt status reached by an event to the event type
// the participant hears about; other statuses are silent.
var receiptEvent = map[receipt.Status]notify.EventType{
	receipt.Credited:        notify.ReceiptCredited,
	receipt.NoEligibleItems: notify.ReceiptNoPoints,
	receipt.Rejected:        notify.ReceiptRejected,
	receipt.NeedsReview:     notify.ReceiptNeedsReview,
	// A photo the worker could not read, or a receipt someone already
	// uploaded, fails after the API answered 202: the seller must hear it
	// and learn what to do (the reason's text says it).
	receipt.Unreadable: notify.ReceiptRejected,
	receipt.Duplicate:  notify.ReceiptRejected,
}

// Notifier turns domain events into notification intents, written by
// Enqueue in the event's own transaction: the participant is told if and
// only if the event commits, and once (each intent's dedup key names its
// event). The composition root hands it to the stores that publish the
// events (cmd/loyaltyjam/deps.go).
type Notifier struct{}

var (
	_ receipt.Subscriber[pgx.Tx]        = Notifier{}
	_ ledger.ReleaseSubscriber[pgx.Tx]  = Notifier{}
	_ task.ReviewSubscriber[pgx.Tx]     = Notifier{}
	_ registry.CreditSubscriber[pgx.Tx] = Notifier{}
	_ reward.Notifier[pgx.Tx]           = Notifier{}
)

// ReceiptChanged writes an intent for every event of c that moves the
// receipt into credited, no_eligible_items, rejected, unreadable, duplicate
// or needs_review (including moderators' decisions from needs_review). The
// dedup key is "receipt:<id>:<status>:<n>", n counting how often the
// receipt reached that status, so a retried transaction writes nothing new
// while a second real visit (needs_review again after a re-check) is still
// told.
func (Notifier) ReceiptChanged(ctx context.Context, tx pgx.Tx, c receipt.Changed) error {
	r := &c.Receipt
	var programName string
	for _, e := range c.Events {
		typ, ok := receiptEvent[e.To]
		if !ok || e.From == e.To || r.ParticipantID == 0 {
			continue
		}
		if programName == "" {
			var err error
			if programName, err = programNameOf(ctx, tx, r); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM receipt_events
			WHERE receipt_id = $1 AND to_status = $2 AND from_status IS DISTINCT FROM to_status`,
			r.ID, string(e.To)).Scan(&n); err != nil {
			return fmt.Errorf("count receipt events: %w", err)
		}
		d := notify.Data{
			ReceiptID: r.ID, ProgramName: programName, Reason: e.Reason, ReasonMessage: e.Message,
			SumKopecks: r.SumKopecks,
		}
		if r.HasIdentity() {
			at := r.PurchasedAt
			d.PurchasedAt = &at
		}
		if typ == notify.ReceiptCredited {
			d.PointsKopecks = r.PointsKopecks
			d.Pending = e.Reason == "points_pending"
			// Negative: a return took the sale's points back, which the
			// seller must hear as such, not as "no points".
			if d.PointsKopecks == 0 {
				typ = notify.ReceiptNoPoints // nothing to celebrate
			}
		}
		key := "receipt:" + r.ID + ":" + string(e.To) + ":" + strconv.Itoa(n)
		if _, _, err := Enqueue(ctx, tx, notify.Intent{ParticipantID: r.ParticipantID, Type: typ, Data: d, DedupKey: key}); err != nil {
			return err
		}
	}
	return nil
}

// programNameOf is the name shown in the text: the receipt's program, or
// the client's name while no program is known.
func programNameOf(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) (string, error) {
	var name string
	var err error
	if r.ProgramID != nil {
		err = tx.QueryRow(ctx, `SELECT name FROM programs WHERE id = $1`, *r.ProgramID).Scan(&name)
	} else {
		err = tx.QueryRow(ctx, `SELECT name FROM clients WHERE id = $1`, r.ClientID).Scan(&name)
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("program name: %w", err)
	}
	return name, nil
}

// PointsReleased writes the participant's "points_released" intent with
// the release's key as its dedup key: one per release transaction, none if
// the release rolls back. The outbox delivers it once the points are
// available.
func (Notifier) PointsReleased(ctx context.Context, tx pgx.Tx, r ledger.Released) error {
	var programName string
	if err := tx.QueryRow(ctx, `SELECT name FROM programs WHERE id = $1`, r.ProgramID).Scan(&programName); err != nil {
		return fmt.Errorf("program %d name: %w", r.ProgramID, err)
	}
	_, _, err := Enqueue(ctx, tx, notify.Intent{ParticipantID: r.ParticipantID, Type: notify.PointsReleased,
		DedupKey: r.Key, Data: notify.Data{ProgramName: programName, PointsKopecks: r.AmountKopecks}})
	return err
}

// TaskReviewed writes the "task_reviewed" intent of a report review; its
// dedup key names the review event, so a retried transaction writes one and
// each rework round its own.
func (Notifier) TaskReviewed(ctx context.Context, tx pgx.Tx, r task.Reviewed) error {
	d := notify.Data{
		TaskID:        strconv.FormatInt(r.TaskID, 10),
		Title:         r.TaskTitle,
		Approved:      r.Status == task.Approved,
		PointsKopecks: r.PointsKopecks,
		Pending:       r.Pending,
		Reason:        r.ReasonCode,
		ReasonMessage: r.Message,
	}
	if r.Status == task.ReworkRequested {
		d.Reason = "rework_requested"
		d.ReasonMessage = "Отчёт нужно доработать: " + r.Message
	}
	if d.Approved {
		d.ReasonMessage = ""
	}
	_, _, err := Enqueue(ctx, tx, notify.Intent{
		ParticipantID: r.ParticipantID,
		Type:          notify.TaskReviewed,
		Data:          d,
		DedupKey:      fmt.Sprintf("task_submission:%d:%s:%d", r.SubmissionID, r.Status, r.EventID),
	})
	return err
}

// Notify implements reward.Notifier: the intent goes to the outbox in tx
// (a repeat of its DedupKey is dropped there).
func (Notifier) Notify(ctx context.Context, tx pgx.Tx, in notify.Intent) error {
	_, _, err := Enqueue(ctx, tx, in)
	return err
}

// RegistryCredited writes the "registry_credited" intent of a credited
// registry line, keyed on the line's ledger key: the outbox delivers it once
// the points are there.
func (Notifier) RegistryCredited(ctx context.Context, tx pgx.Tx, c registry.LineCredited) error {
	_, _, err := Enqueue(ctx, tx, notify.Intent{ParticipantID: c.ParticipantID,
		Type: notify.RegistryCredited, DedupKey: c.Key,
		Data: notify.Data{ProgramName: c.ProgramName, PointsKopecks: c.PointsKopecks, Pending: c.Pending, Title: c.PeriodName}})
	return err
}
