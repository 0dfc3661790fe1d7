package points_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/points"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// TestModerationSettles: a receipt outside the program's dates is rejected
// as such, rules or not; one within them but bought before the program's
// first rules goes to review once, and the moderator's approval ends it in
// a terminal state (the first rules apply; no rules at all: no points)
// instead of sending it back to the queue.
func TestModerationSettles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name                   string
		setup                  string // SQL with $1 the program
		wantFirst, wantFinal   receipt.Status
		wantReason, wantFinalR string
		wantPoints             int64
	}{
		{name: "before the program starts, no rules then",
			setup:     `UPDATE programs SET starts_on = current_date WHERE id = $1`,
			wantFirst: receipt.Rejected, wantReason: rules.ReasonOutsideProgram},
		{name: "before the program starts, rules from today",
			setup: `WITH p AS (UPDATE programs SET starts_on = current_date WHERE id = $1 RETURNING id)
				UPDATE program_rules SET effective_from = current_date WHERE program_id = (SELECT id FROM p)`,
			wantFirst: receipt.Rejected, wantReason: rules.ReasonOutsideProgram},
		{name: "after the program ends",
			setup:     `UPDATE programs SET starts_on = current_date - 30, ends_on = current_date - 2 WHERE id = $1`,
			wantFirst: receipt.Rejected, wantReason: rules.ReasonOutsideProgram},
		{name: "in the program before its first rules: approval credits under them",
			setup:     `UPDATE program_rules SET effective_from = current_date WHERE program_id = $1`,
			wantFirst: receipt.NeedsReview, wantReason: points.ReasonRulesMissing,
			wantFinal: receipt.Credited, wantFinalR: "points_credited", wantPoints: saleKopecks},
		{name: "a program without rules: approval ends without points",
			setup:     `DELETE FROM program_rules WHERE program_id = $1`,
			wantFirst: receipt.NeedsReview, wantReason: points.ReasonRulesMissing,
			wantFinal: receipt.NoEligibleItems, wantFinalR: points.ReasonNoRules},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "immediate", 1_000_000, testRules())
			if _, err := e.db.Exec(ctx, tc.setup, e.program); err != nil {
				t.Fatal(err)
			}
			r := e.process(e.newVerified(1, yesterday(), saleItems()))
			if r.Status != tc.wantFirst || r.StatusReason != tc.wantReason {
				t.Fatalf("processed: %s/%s, want %s/%s", r.Status, r.StatusReason, tc.wantFirst, tc.wantReason)
			}
			if tc.wantFinal == "" {
				return
			}
			must(t, e.receipts.Update(ctx, r.ID, func(ctx context.Context, tx pgx.Tx, x *receipt.Receipt) error {
				x.Note("user:1", "moderator_approved", nil)
				return e.svc.ProcessApproved(ctx, tx, x, "user:1")
			}))
			r, err := e.receipts.Get(ctx, r.ID)
			must(t, err)
			if r.Status != tc.wantFinal || r.StatusReason != tc.wantFinalR || r.PointsKopecks != tc.wantPoints {
				t.Fatalf("approved: %s/%s %d, want %s/%s %d", r.Status, r.StatusReason, r.PointsKopecks,
					tc.wantFinal, tc.wantFinalR, tc.wantPoints)
			}
			reviews := 0
			for _, ev := range r.Events {
				if ev.To == receipt.NeedsReview && ev.From != receipt.NeedsReview {
					reviews++
				}
			}
			if reviews != 1 {
				t.Errorf("the receipt went to review %d times", reviews)
			}
			if b := e.balance(); b.AvailableKopecks != tc.wantPoints {
				t.Errorf("balance %+v", b)
			}
			e.checkLedger()
		})
	}
}
