package points_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/points"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// What happens when the budget cannot pay, by the program's setting
// (programs.budget_at_zero): pause settles the receipt without points and
// tells the seller crediting is paused; review sends it to the moderation
// queue with the points it would earn, and once the budget is topped up a
// moderator's approval credits it in full.
func TestBudgetAtZero(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	approve := func(e *env, id string) receipt.Receipt {
		t.Helper()
		must(t, e.receipts.Modify(ctx, id, func(ctx context.Context, x *receipt.Receipt) error {
			x.Note("user:1", receipt.ReasonModeratorApproved, nil)
			return e.svc.ProcessApproved(ctx, x, "user:1")
		}))
		r, err := e.receipts.Get(ctx, id)
		must(t, err)
		return r
	}
	topUp := func(e *env, key string, amount int64) {
		t.Helper()
		must(t, postgres.WithTx(ctx, e.db, func(tx pgx.Tx) error {
			return ledgerdb.FundProgram(ctx, tx, e.client, e.program, amount, key)
		}))
	}

	t.Run("pause: no points, a clear message", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, "immediate", 0, testRules())
		r := e.process(e.newVerified(1, yesterday(), saleItems()))
		if r.Status != receipt.NoEligibleItems || r.StatusReason != points.ReasonBudgetPaused || r.PointsKopecks != 0 {
			t.Fatalf("%s/%s %d", r.Status, r.StatusReason, r.PointsKopecks)
		}
		if msg := receipt.Message(r.StatusReason); msg == "" || msg == r.StatusReason {
			t.Fatalf("no message for %s", r.StatusReason)
		}
		if r.Items[0].PointsReason != rules.CapBudget {
			t.Errorf("line reason %q", r.Items[0].PointsReason)
		}
	})

	t.Run("pause: a partial budget pays what is left", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, "immediate", 12000, testRules())
		r := e.process(e.newVerified(1, yesterday(), saleItems()))
		if r.Status != receipt.Credited || r.PointsKopecks != 12000 {
			t.Fatalf("%s/%s %d", r.Status, r.StatusReason, r.PointsKopecks)
		}
	})

	for _, tc := range []struct {
		name   string
		budget int64
	}{{"review: an empty budget", 0}, {"review: a budget short of the receipt", 12000}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "immediate", tc.budget, testRules())
			_, err := e.db.Exec(ctx, `UPDATE programs SET budget_at_zero = 'review' WHERE id = $1`, e.program)
			must(t, err)
			r := e.process(e.newVerified(1, yesterday(), saleItems()))
			if r.Status != receipt.NeedsReview || r.StatusReason != points.ReasonBudgetReview || r.PointsKopecks != 0 {
				t.Fatalf("%s/%s %d", r.Status, r.StatusReason, r.PointsKopecks)
			}
			last := r.Events[len(r.Events)-1]
			if p, _ := last.Data["proposed_kopecks"].(float64); int64(p) != saleKopecks {
				t.Fatalf("proposed %v, want %d (event %+v)", last.Data["proposed_kopecks"], saleKopecks, last.Data)
			}
			if b := e.balance(); b.AvailableKopecks != 0 {
				t.Fatalf("a held receipt paid %+v", b)
			}
			topUp(e, "top-up", 1_000_000)
			r = approve(e, r.ID)
			if r.Status != receipt.Credited || r.PointsKopecks != saleKopecks {
				t.Fatalf("approved after the top-up: %s/%s %d", r.Status, r.StatusReason, r.PointsKopecks)
			}
			e.checkLedger()
		})
	}

	t.Run("review: approved without a top-up pays what is left, never loops", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, "immediate", 0, testRules())
		_, err := e.db.Exec(ctx, `UPDATE programs SET budget_at_zero = 'review' WHERE id = $1`, e.program)
		must(t, err)
		r := e.process(e.newVerified(1, yesterday(), saleItems()))
		if r.Status != receipt.NeedsReview {
			t.Fatalf("%s/%s", r.Status, r.StatusReason)
		}
		r = approve(e, r.ID)
		if r.Status != receipt.NoEligibleItems || r.StatusReason != points.ReasonBudgetPaused {
			t.Fatalf("approved at zero: %s/%s", r.Status, r.StatusReason)
		}
	})
}
