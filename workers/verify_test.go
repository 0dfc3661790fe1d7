package workers_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/loyaltyjam/loyaltyjam/internal/ofd"
	"github.com/loyaltyjam/loyaltyjam/internal/ofd/ofdsim"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/verify"
	"github.com/loyaltyjam/loyaltyjam/workers"
)

// run is one task run in a scenario: optionally change the simulator's
// scenario and advance the clock first, then expect a status.
type run struct {
	advance     time.Duration
	setScenario *ofdsim.Scenario
	wantStatus  receipt.Status
	// wantScheduled: a follow-up task for next_attempt_at is in the queue.
	wantScheduled bool
}

var okScenario = &ofdsim.Scenario{Name: ofdsim.ScenarioOK}

// TestVerifyScenarios drives every simulator scenario through the verify
// handler over real HTTP, PostgreSQL and Redis and checks the final state,
// the events and the attempt budget.
func TestVerifyScenarios(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := time.Now()
	cases := []struct {
		name        string
		fn          string
		purchased   time.Time
		processor   bool
		callTimeout time.Duration
		openAPI     bool
		runs        []run
		wantReasons []string
		wantAttempt int
	}{
		{name: "ok → credited through the Processor", fn: scenarioFN(0, 0), processor: true,
			runs:        []run{{wantStatus: receipt.Credited}},
			wantReasons: []string{"verifying", "ofd_verified", "items_matched", "points_credited"}, wantAttempt: 1},
		{name: "ok without a Processor stops at verified", fn: scenarioFN(0, 0),
			runs:        []run{{wantStatus: receipt.Verified}},
			wantReasons: []string{"verifying", "ofd_verified"}, wantAttempt: 1},
		{name: "pending for 2 calls, verified on the third run", fn: scenarioFN(1, 2), processor: true,
			runs: []run{
				{wantStatus: receipt.PendingOFD, wantScheduled: true},
				{advance: 2 * time.Minute, wantStatus: receipt.PendingOFD, wantScheduled: true},
				{advance: 5 * time.Minute, wantStatus: receipt.Credited},
			},
			wantReasons: []string{"verifying", "ofd_not_yet", "verifying", "ofd_not_yet", "verifying", "ofd_verified", "items_matched", "points_credited"},
			wantAttempt: 3},
		{name: "pending beyond the window → needs_review", fn: scenarioFN(1, 9999),
			runs: []run{
				{wantStatus: receipt.PendingOFD, wantScheduled: true},
				{advance: 73 * time.Hour, wantStatus: receipt.NeedsReview},
			},
			wantReasons: []string{"verifying", "ofd_not_yet", "verifying", "ofd_pending_expired"}, wantAttempt: 2},
		{name: "invalid fiscal sign → rejected", fn: scenarioFN(3, 0),
			runs:        []run{{wantStatus: receipt.Rejected}},
			wantReasons: []string{"verifying", "ofd_invalid"}, wantAttempt: 1},
		{name: "not found (proverkacheka code 0) → rejected", fn: scenarioFN(4, 0),
			runs:        []run{{wantStatus: receipt.Rejected}},
			wantReasons: []string{"verifying", "ofd_invalid"}, wantAttempt: 1},
		{name: "not found at the Open API, old receipt → rejected not found", fn: scenarioFN(4, 0), openAPI: true,
			purchased:   now.AddDate(0, -4, 0),
			runs:        []run{{wantStatus: receipt.Rejected}},
			wantReasons: []string{"verifying", "ofd_not_found"}, wantAttempt: 1},
		{name: "autonomous KKT (code 5 no data) → needs_review after 5 answers", fn: scenarioFN(5, 0),
			runs: []run{
				{wantStatus: receipt.PendingOFD, wantScheduled: true},
				{advance: time.Hour, wantStatus: receipt.PendingOFD, wantScheduled: true},
				{advance: time.Hour, wantStatus: receipt.PendingOFD, wantScheduled: true},
				{advance: time.Hour, wantStatus: receipt.PendingOFD, wantScheduled: true},
				{advance: time.Hour, wantStatus: receipt.NeedsReview},
			},
			wantReasons: []string{"verifying", "ofd_not_yet", "verifying", "ofd_not_yet", "verifying", "ofd_not_yet",
				"verifying", "ofd_not_yet", "verifying", verify.ReasonNoData}, wantAttempt: 5},
		{name: "rate limited → rescheduled without burning attempts", fn: scenarioFN(6, 0), processor: true,
			runs: []run{
				{wantStatus: receipt.Queued, wantScheduled: true},
				{advance: 11 * time.Minute, wantStatus: receipt.Queued, wantScheduled: true},
				{advance: 11 * time.Minute, setScenario: okScenario, wantStatus: receipt.Credited},
			},
			wantReasons: []string{"verifying", "ofd_rate_limited", "verifying", "ofd_rate_limited", "verifying", "ofd_verified", "items_matched", "points_credited"},
			wantAttempt: 1},
		{name: "wait (code 4) → rescheduled, then verified", fn: scenarioFN(7, 0),
			runs: []run{
				{wantStatus: receipt.Queued, wantScheduled: true},
				{advance: 2 * time.Minute, wantStatus: receipt.Verified},
			},
			wantReasons: []string{"verifying", "ofd_rate_limited", "verifying", "ofd_verified"}, wantAttempt: 1},
		{name: "server error → retried with backoff, then verified", fn: scenarioFN(8, 0), processor: true,
			runs: []run{
				{wantStatus: receipt.Queued, wantScheduled: true},
				{advance: time.Minute, wantStatus: receipt.Queued, wantScheduled: true},
				{advance: 2 * time.Minute, setScenario: okScenario, wantStatus: receipt.Credited},
			},
			wantReasons: []string{"verifying", "ofd_unavailable", "verifying", "ofd_unavailable", "verifying", "ofd_verified", "items_matched", "points_credited"},
			wantAttempt: 3},
		{name: "server error for the whole window → needs_review", fn: scenarioFN(8, 0),
			runs: []run{
				{wantStatus: receipt.Queued, wantScheduled: true},
				{advance: 72*time.Hour + time.Minute, wantStatus: receipt.NeedsReview},
			},
			wantReasons: []string{"verifying", "ofd_unavailable", "verifying", verify.ReasonRetriesExhausted}, wantAttempt: 2},
		{name: "slow → per-call deadline → retried", fn: scenarioFN(9, 5000), callTimeout: 200 * time.Millisecond,
			runs: []run{
				{wantStatus: receipt.Queued, wantScheduled: true},
				{advance: time.Minute, setScenario: okScenario, wantStatus: receipt.Verified},
			},
			wantReasons: []string{"verifying", "ofd_unavailable", "verifying", "ofd_verified"}, wantAttempt: 2},
		{name: "malformed body → transient → retried", fn: scenarioFN(10, 0),
			runs: []run{
				{wantStatus: receipt.Queued, wantScheduled: true},
				{advance: time.Minute, setScenario: okScenario, wantStatus: receipt.Verified},
			},
			wantReasons: []string{"verifying", "ofd_unavailable", "verifying", "ofd_verified"}, wantAttempt: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clk := newClock()
			o := svcOptions{clock: clk, callTimeout: tc.callTimeout}
			proc := &testProcessor{}
			if tc.processor {
				o.processor = proc
			}
			if tc.openAPI {
				f, err := ofd.NewOpenAPI(ofd.OpenAPIConfig{BaseURL: e.simURL, MasterToken: "master", PollInterval: 10 * time.Millisecond})
				mustT(t, err)
				o.fetcher = f
			}
			_, h := e.service(t, o)
			purchased := tc.purchased
			if purchased.IsZero() {
				purchased = now.Add(-time.Hour)
			}
			r := e.newQueued(t, tc.fn, purchased)
			for i, rn := range tc.runs {
				clk.Advance(rn.advance)
				if rn.setScenario != nil {
					e.sim.SetScenario(r.FN, uint64(r.FD), *rn.setScenario)
				}
				if err := h.Verify(ctx, verifyTask(t, r.ID)); err != nil {
					t.Fatalf("run %d: %v", i, err)
				}
				got := e.get(t, r.ID)
				if got.Status != rn.wantStatus {
					t.Fatalf("run %d: status %s (%s), want %s; events %v", i, got.Status, got.StatusReason, rn.wantStatus, reasons(got))
				}
				if s := e.scheduled(t, got); s != rn.wantScheduled {
					t.Fatalf("run %d: scheduled=%v, want %v (next_attempt_at %v)", i, s, rn.wantScheduled, got.NextAttemptAt)
				}
				if rn.wantScheduled {
					if !got.NextAttemptAt.After(clk.Now()) {
						t.Fatalf("run %d: next attempt %v not after now %v", i, got.NextAttemptAt, clk.Now())
					}
					// A duplicate delivery before the retry is due changes nothing.
					if err := h.Verify(ctx, verifyTask(t, r.ID)); err != nil {
						t.Fatal(err)
					}
					if again := e.get(t, r.ID); len(again.Events) != len(got.Events) || again.Status != got.Status || again.Attempts != got.Attempts {
						t.Fatalf("run %d: early duplicate changed the receipt: %v", i, reasons(again))
					}
				}
			}
			got := e.get(t, r.ID)
			if diff := cmp.Diff(tc.wantReasons, reasons(got)); diff != "" {
				t.Errorf("event reasons (-want +got):\n%s", diff)
			}
			if got.Attempts != tc.wantAttempt {
				t.Errorf("attempts = %d, want %d", got.Attempts, tc.wantAttempt)
			}
			wantCredits := 0
			if got.Status == receipt.Credited {
				wantCredits = 1
			}
			if n := e.credits(t, r.ID); n != wantCredits {
				t.Errorf("credits = %d, want %d", n, wantCredits)
			}
			if got.Status == receipt.Verified || got.Status == receipt.Credited {
				checkVerifiedData(t, got)
			}
			// A late duplicate of the task changes nothing.
			if got.Status.Terminal() || got.Status == receipt.Verified {
				before := len(got.Events)
				if err := h.Verify(ctx, verifyTask(t, r.ID)); err != nil {
					t.Fatal(err)
				}
				if after := e.get(t, r.ID); len(after.Events) != before || after.Status != got.Status {
					t.Errorf("late duplicate changed the receipt: %s, %d → %d events", after.Status, before, len(after.Events))
				}
			}
		})
	}
}

func checkVerifiedData(t *testing.T, r receipt.Receipt) {
	t.Helper()
	if r.OFDProvider == "" || r.SellerName == "" || len(r.SellerINN) < 10 || r.KKTRegNumber == "" ||
		r.RetailAddress == "" || len(r.OFDRaw) == 0 || r.VerifiedAt == nil || r.NextAttemptAt != nil {
		t.Errorf("verified data incomplete: provider=%q seller=%q inn=%q kkt=%q addr=%q raw=%d verified_at=%v next=%v",
			r.OFDProvider, r.SellerName, r.SellerINN, r.KKTRegNumber, r.RetailAddress, len(r.OFDRaw), r.VerifiedAt, r.NextAttemptAt)
	}
	if len(r.Items) == 0 {
		t.Fatal("no items stored")
	}
	var sum int64
	for i, it := range r.Items {
		if it.LineNo != i+1 || it.Name == "" || it.QuantityMilli <= 0 {
			t.Errorf("item %d: %+v", i, it)
		}
		sum += it.SumKopecks
	}
	if d := sum - r.SumKopecks; d < -100 || d > 100 {
		t.Errorf("items sum %d, receipt sum %d", sum, r.SumKopecks)
	}
}

// TestDuplicateDeliveryAppliesOnce runs the same task concurrently and
// again afterwards: one verification, one credit.
func TestDuplicateDeliveryAppliesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	proc := &testProcessor{}
	_, h := e.service(t, svcOptions{processor: proc})
	ctx := context.Background()
	var ids []string
	for range 5 {
		ids = append(ids, e.newQueued(t, scenarioFN(0, 0), time.Now().Add(-time.Hour)).ID)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for _, id := range ids {
		for range 4 {
			wg.Go(func() {
				if err := h.Verify(ctx, verifyTask(t, id)); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, id := range ids {
		if err := h.Verify(ctx, verifyTask(t, id)); err != nil {
			t.Fatal(err)
		}
		r := e.get(t, id)
		if r.Status != receipt.Credited {
			t.Errorf("%s: status %s", id, r.Status)
		}
		if n := e.credits(t, id); n != 1 {
			t.Errorf("%s: %d credits, want 1", id, n)
		}
		rs := reasons(r)
		for _, want := range []string{"ofd_verified", "points_credited"} {
			if n := count(rs, want); n != 1 {
				t.Errorf("%s: %d %s events, want 1: %v", id, n, want, rs)
			}
		}
	}
}

func count(ss []string, s string) int {
	n := 0
	for _, x := range ss {
		if x == s {
			n++
		}
	}
	return n
}

// TestProcessorFailureRollsBackVerification proves the one-transaction
// contract: when the Processor fails, neither the verification nor the
// credit it wrote commits; the retry applies both once.
func TestProcessorFailureRollsBackVerification(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	proc := &testProcessor{}
	_, h := e.service(t, svcOptions{processor: proc})
	ctx := context.Background()
	r := e.newQueued(t, scenarioFN(0, 0), time.Now().Add(-time.Hour))
	proc.FailNext(r.ID)
	err := h.Verify(ctx, verifyTask(t, r.ID))
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("want a retryable error, got %v", err)
	}
	got := e.get(t, r.ID)
	if got.Status != receipt.Verifying || len(got.Items) != 0 || got.VerifiedAt != nil || e.credits(t, r.ID) != 0 {
		t.Fatalf("after failed Process: status %s, %d items, verified_at %v, %d credits",
			got.Status, len(got.Items), got.VerifiedAt, e.credits(t, r.ID))
	}
	if err := h.Verify(ctx, verifyTask(t, r.ID)); err != nil {
		t.Fatal(err)
	}
	got = e.get(t, r.ID)
	if got.Status != receipt.Credited || e.credits(t, r.ID) != 1 {
		t.Fatalf("after retry: status %s, %d credits", got.Status, e.credits(t, r.ID))
	}
	if proc.calls.Load() != 2 {
		t.Errorf("Process called %d times, want 2", proc.calls.Load())
	}
	want := []string{"verifying", "verifying", "ofd_verified", "items_matched", "points_credited"}
	if diff := cmp.Diff(want, reasons(got)); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
}

// TestPoisonTasks: a bad payload or an unknown receipt is never retried.
func TestPoisonTasks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, h := e.service(t, svcOptions{})
	ctx := context.Background()
	for name, task := range map[string]*asynq.Task{
		"bad json":       asynq.NewTask(queue.TypeReceiptVerify, []byte("{")),
		"no receipt id":  asynq.NewTask(queue.TypeReceiptVerify, []byte(`{}`)),
		"unknown id":     verifyTask(t, "00000000-0000-0000-0000-000000000001"),
		"not a uuid":     verifyTask(t, "nope"),
		"decode unknown": asynq.NewTask(queue.TypeReceiptDecode, []byte(`{"receipt_id":"00000000-0000-0000-0000-000000000001"}`)),
	} {
		handle := h.Verify
		if task.Type() == queue.TypeReceiptDecode {
			handle = h.Decode
		}
		if err := handle(ctx, task); !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("%s: err = %v, want SkipRetry", name, err)
		}
	}
}

// TestRetryDelay checks the asynq retry policy for failed steps.
func TestRetryDelay(t *testing.T) {
	t.Parallel()
	var prev time.Duration
	for n := range 12 {
		d := workers.RetryDelay(n, errors.New("db down"), nil)
		if d < prev || d <= 0 || d > 10*time.Minute {
			t.Errorf("RetryDelay(%d) = %s after %s", n, d, prev)
		}
		prev = d
	}
	if d := workers.RetryDelay(3, asynq.ErrLeaseExpired, nil); d != 0 {
		t.Errorf("lease expired: %s, want 0", d)
	}
}
