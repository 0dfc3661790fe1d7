package points_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/points"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
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
			must(t, e.receipts.Modify(ctx, r.ID, func(ctx context.Context, x *receipt.Receipt) error {
				x.Note("user:1", receipt.ReasonModeratorApproved, nil)
				return e.svc.ProcessApproved(ctx, x, "user:1")
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

// TestApprovedReturnSettles: a return whose sale's points were spent goes
// to a moderator; approved, it takes back what the balance still holds
// (and, approved again after nothing is left, ends without points)
// instead of going back to the queue.
func TestApprovedReturnSettles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, "immediate", 1_000_000, testRules())
	sale := e.process(e.newVerified(1, yesterday(), saleItems()))
	if sale.Status != receipt.Credited {
		t.Fatalf("sale %s/%s", sale.Status, sale.StatusReason)
	}
	spend := func(key string, keep int64) {
		t.Helper()
		must(t, postgres.WithTx(ctx, e.db, func(tx pgx.Tx) error {
			bal := e.balance().AvailableKopecks
			_, err := ledgerdb.Post(ctx, tx, ledger.Transaction{IdempotencyKey: key, Kind: "redemption",
				ClientID: e.client, ProgramID: e.program, ParticipantID: e.participant,
				Postings: []ledger.Posting{
					{Account: ledger.AvailableAccount(e.client, e.program, e.participant), AmountKopecks: -(bal - keep)},
					{Account: ledger.Account{Kind: ledger.Redemption, ClientID: e.client}, AmountKopecks: bal - keep},
				}})
			return err
		}))
	}
	approve := func(id string) receipt.Receipt {
		t.Helper()
		must(t, e.receipts.Modify(ctx, id, func(ctx context.Context, x *receipt.Receipt) error {
			x.Note("user:1", receipt.ReasonModeratorApproved, nil)
			return e.svc.ProcessApproved(ctx, x, "user:1")
		}))
		r, err := e.receipts.Get(ctx, id)
		must(t, err)
		return r
	}
	spend("spend-1", 100)
	ret := e.process(e.newVerified(2, yesterday(), saleItems()))
	if ret.Status != receipt.NeedsReview || ret.StatusReason != points.ReasonReturnNoBalance {
		t.Fatalf("return without balance: %s/%s", ret.Status, ret.StatusReason)
	}
	ret = approve(ret.ID)
	var lines int64
	for _, it := range ret.Items {
		lines += it.PointsKopecks
	}
	if ret.Status != receipt.Credited || ret.StatusReason != "return_reversed" || ret.PointsKopecks != -100 || lines != -(100*(saleKopecks-1000)/saleKopecks) {
		t.Fatalf("approved return: %s/%s %d (lines %d), want credited/return_reversed -100 (lines their share)", ret.Status, ret.StatusReason,
			ret.PointsKopecks, lines)
	}
	if b := e.balance(); b.AvailableKopecks != 0 {
		t.Errorf("balance %+v", b)
	}

	// A second sale, all spent, returned: approved, nothing to take back.
	sale2 := e.process(e.newVerified(1, yesterday(), saleItems()))
	if sale2.Status != receipt.Credited {
		t.Fatalf("sale2 %s/%s", sale2.Status, sale2.StatusReason)
	}
	spend("spend-2", 0)
	ret2 := e.process(e.newVerified(2, yesterday(), saleItems()))
	if ret2.Status != receipt.NeedsReview {
		t.Fatalf("second return: %s/%s", ret2.Status, ret2.StatusReason)
	}
	if ret2 = approve(ret2.ID); ret2.Status != receipt.NoEligibleItems || ret2.StatusReason != points.ReasonReturnNothingLeft {
		t.Fatalf("approved return of spent points: %s/%s", ret2.Status, ret2.StatusReason)
	}
	e.checkLedger()
}
