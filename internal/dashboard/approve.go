package dashboard

import (
	"context"
	"fmt"
	"strings"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// Approver decides receipts waiting in the moderation queue.
type Approver interface {
	// Approve accepts a needs_review receipt. Returns ErrNotInReview if the
	// receipt is not waiting for a moderator, access.ErrForbidden if staff
	// may not moderate its client.
	Approve(ctx context.Context, st access.Staff, receiptID string) error
	// Reject rejects it with a reason the participant sees.
	Reject(ctx context.Context, st access.Staff, receiptID, reason string) error
}

// Errors of moderation.
var (
	ErrNotInReview = apperr.New(apperr.Conflict, "receipt_not_in_review", "Чек уже не ждёт модерации.")
	ErrNoReason    = apperr.New(apperr.Invalid, "reject_reason_required", "Укажите причину отклонения.")
)

// ReceiptUpdater locks a receipt and runs fn in one transaction, handing
// it the transaction (*receiptdb.Store with Tx pgx.Tx) and a ctx that
// carries it, which Credit joins; the dashboard never sees the driver's type.
type ReceiptUpdater[Tx any] interface {
	Update(ctx context.Context, id string, fn func(ctx context.Context, tx Tx, r *receipt.Receipt) error) error
}

// DefaultApprover moderates through the receipt store: every decision is a
// state transition with an event naming the moderator ("user:<id>"), so the
// notification hook tells the participant. An approved receipt with
// verified items is handed to Credit, in the same transaction, while still
// in needs_review (Credit moves it on: the points service matches, applies
// the rules without the anomaly check and posts); without Credit it moves
// to matched. One without items (the fiscal data never came) goes back to
// queued to be verified again; verification then ends it verified or, if
// the operator still has nothing, rejected (verify.ReasonNoDataAfterReview)
// — never in the queue a second time. The points service likewise settles
// an approved receipt (points.Service.ProcessApproved), so an approval
// always ends in a terminal state.
//
// Credit, if set, is called inside the approve transaction with the
// receipt still in needs_review, to move it on and post its points (the
// points service's ProcessApproved), joining the transaction ctx carries.
// Nil: the approved receipt moves to matched.
type DefaultApprover[Tx any] struct {
	Receipts ReceiptUpdater[Tx]
	Credit   func(ctx context.Context, r *receipt.Receipt, actor string) error
}

func (a DefaultApprover[Tx]) decide(ctx context.Context, st access.Staff, id string, fn func(ctx context.Context, tx Tx, r *receipt.Receipt, actor string) error) error {
	return a.Receipts.Update(ctx, id, func(ctx context.Context, tx Tx, r *receipt.Receipt) error {
		if !st.CanSee(r.ClientID) {
			return apperr.New(apperr.NotFound, "receipt_not_found", "Чек не найден.")
		}
		if err := st.CheckClient(r.ClientID, access.Moderator, access.ClientManager); err != nil {
			return err
		}
		if r.Status != receipt.NeedsReview {
			return ErrNotInReview
		}
		return fn(ctx, tx, r, fmt.Sprintf("user:%d", st.UserID))
	})
}

// Approve implements Approver.
func (a DefaultApprover[Tx]) Approve(ctx context.Context, st access.Staff, id string) error {
	return a.decide(ctx, st, id, func(ctx context.Context, tx Tx, r *receipt.Receipt, actor string) error {
		if len(r.Items) == 0 {
			return r.Transition(receipt.Queued, actor, receipt.ReasonModeratorApproved, nil)
		}
		if a.Credit != nil {
			r.Note(actor, receipt.ReasonModeratorApproved, nil)
			return a.Credit(ctx, r, actor) // ctx carries the receipt's transaction
		}
		return r.Transition(receipt.Matched, actor, receipt.ReasonModeratorApproved, nil)
	})
}

// Reject implements Approver.
func (a DefaultApprover[Tx]) Reject(ctx context.Context, st access.Staff, id, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return ErrNoReason
	}
	if len([]rune(reason)) > 500 {
		reason = string([]rune(reason)[:500])
	}
	return a.decide(ctx, st, id, func(ctx context.Context, tx Tx, r *receipt.Receipt, actor string) error {
		return r.Transition(receipt.Rejected, actor, "moderator_rejected", map[string]any{"comment": reason})
	})
}

// errNoModeration answers moderation when Options.Approver is nil.
var errNoModeration = apperr.New(apperr.NotFound, "moderation_not_configured", "Модерация не подключена.")

// noApprover is the Approver of a dashboard without one.
type noApprover struct{}

func (noApprover) Approve(context.Context, access.Staff, string) error { return errNoModeration }

func (noApprover) Reject(context.Context, access.Staff, string, string) error { return errNoModeration }
