package workers_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ofd/ofdsim"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/verify"
)

// TestApprovedWithoutDataSettles: a receipt that went to review because
// the operator gave no data, approved by a moderator (back to queued, as
// the dashboard's Approver does), ends verified when the data has come and
// rejected when it still has not, never in the moderation queue again.
func TestApprovedWithoutDataSettles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name        string
		fn          string
		toReview    []time.Duration // clock advances of the runs that lead to review
		after       *ofdsim.Scenario
		want        receipt.Status
		wantReason  string
		wantReviews int
	}{
		{name: "operator down for the window, still down", fn: scenarioFN(8, 0),
			toReview: []time.Duration{0, 72*time.Hour + time.Minute}, want: receipt.Rejected,
			wantReason: verify.ReasonNoDataAfterReview},
		{name: "operator down for the window, then answers", fn: scenarioFN(8, 0),
			toReview: []time.Duration{0, 72*time.Hour + time.Minute}, after: okScenario, want: receipt.Verified,
			wantReason: "ofd_verified"},
		{name: "autonomous cash register, still no data", fn: scenarioFN(5, 0),
			toReview: []time.Duration{0, time.Hour, time.Hour, time.Hour, time.Hour}, want: receipt.Rejected,
			wantReason: verify.ReasonNoDataAfterReview},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clk := newClock()
			_, h := e.service(t, svcOptions{clock: clk})
			r := e.newQueued(t, tc.fn, time.Now().Add(-time.Hour))
			for _, d := range tc.toReview {
				clk.Advance(d)
				mustT(t, h.Verify(ctx, verifyTask(t, r.ID)))
			}
			if got := e.get(t, r.ID); got.Status != receipt.NeedsReview {
				t.Fatalf("before the approval: %s (%s)", got.Status, got.StatusReason)
			}
			mustT(t, e.store.Update(ctx, r.ID, func(_ context.Context, _ pgx.Tx, x *receipt.Receipt) error {
				return x.Transition(receipt.Queued, "user:7", receipt.ReasonModeratorApproved, nil)
			}))
			if tc.after != nil {
				e.sim.SetScenario(r.FN, uint64(r.FD), *tc.after)
			}
			clk.Advance(time.Minute)
			mustT(t, h.Verify(ctx, verifyTask(t, r.ID)))
			got := e.get(t, r.ID)
			if got.Status != tc.want || got.StatusReason != tc.wantReason {
				t.Fatalf("after the approval: %s (%s), want %s (%s); events %v", got.Status, got.StatusReason,
					tc.want, tc.wantReason, reasons(got))
			}
			reviews := 0
			for _, ev := range got.Events {
				if ev.To == receipt.NeedsReview {
					reviews++
				}
			}
			if reviews != 1 {
				t.Errorf("the receipt went to review %d times: %v", reviews, reasons(got))
			}
		})
	}
}
