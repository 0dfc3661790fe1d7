package dashboard

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

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
type DefaultApprover struct {
	Receipts ReceiptStore
	Credit   func(ctx context.Context, r *receipt.Receipt, actor string) error
}

func (a DefaultApprover) decide(ctx context.Context, st access.Staff, id string, fn func(ctx context.Context, tx pgx.Tx, r *receipt.Receipt, actor string) error) error {
	return a.Receipts.Update(ctx, id, func(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) error {
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
func (a DefaultApprover) Approve(ctx context.Context, st access.Staff, id string) error {
	return a.decide(ctx, st, id, func(ctx context.Context, tx pgx.Tx, r *receipt.Receipt, actor string) error {
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
func (a DefaultApprover) Reject(ctx context.Context, st access.Staff, id, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return ErrNoReason
	}
	if len([]rune(reason)) > 500 {
		reason = string([]rune(reason)[:500])
	}
	return a.decide(ctx, st, id, func(ctx context.Context, tx pgx.Tx, r *receipt.Receipt, actor string) error {
		return r.Transition(receipt.Rejected, actor, "moderator_rejected", map[string]any{"comment": reason})
	})
}
