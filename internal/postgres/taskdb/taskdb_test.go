package taskdb_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

func TestWholePath(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, 1, 1_000_000)
	p := e.parts[0]
	tk := e.newTask(t, func(x *task.Task) {
		x.Evidence.Checklist = []task.ChecklistItem{{Key: "placed", Question: "Стойка установлена?", Kind: task.YesNo, Required: true}}
		x.GeofenceMeters = 300
	})

	avail, err := e.store.Available(ctx, p)
	if err != nil || len(avail) != 1 || avail[0].Task.ID != tk.ID || avail[0].Remaining != 1 {
		t.Fatalf("Available = %+v, %v", avail, err)
	}
	if !avail[0].Slot.End.Equal(start.AddDate(0, 0, 7)) {
		t.Errorf("slot due %v, want the end of the first week", avail[0].Slot.End)
	}
	sub, err := e.store.Take(ctx, p, tk.ID, 0)
	if err != nil || sub.Status != task.Taken || sub.ShopID != e.shops[0] {
		t.Fatalf("Take = %+v, %v", sub, err)
	}
	again, err := e.store.Take(ctx, p, tk.ID, 0)
	if err != nil || again.ID != sub.ID {
		t.Fatalf("second Take = %d, %v; want the open take %d", again.ID, err, sub.ID)
	}
	u := e.upload(shelfJPEG(t, 1, 400, 300, 85))
	u.Answers = []byte(`{"placed": true}`)
	sub, err = e.store.Submit(ctx, p, sub.ID, u)
	if err != nil || sub.Status != task.Submitted || len(sub.Photos) != 1 || len(sub.Flags) != 0 {
		t.Fatalf("Submit = %+v, %v", sub, err)
	}
	q, err := e.store.Queue(ctx, e.moderator, task.QueueFilter{ClientID: e.clientID})
	if err != nil || len(q) != 1 || q[0].ID != sub.ID {
		t.Fatalf("Queue = %+v, %v", q, err)
	}
	if _, err := e.store.Review(ctx, e.moderator, sub.ID, task.Review{Action: task.ActClaim}); err != nil {
		t.Fatal(err)
	}
	sub, err = e.store.Review(ctx, e.moderator, sub.ID, task.Review{Action: task.ActApprove})
	if err != nil || sub.Status != task.Approved || sub.PointsKopecks != tk.RewardKopecks {
		t.Fatalf("approve = %+v, %v", sub, err)
	}
	if got := e.balance(t, p.ID); got != tk.RewardKopecks {
		t.Errorf("participant balance %d, want %d", got, tk.RewardKopecks)
	}
	var budget int64
	if err := e.db.QueryRow(ctx, `SELECT balance_kopecks FROM ledger_accounts WHERE kind = 'program_budget' AND program_id = $1`, e.programID).Scan(&budget); err != nil || budget != 1_000_000-tk.RewardKopecks {
		t.Errorf("budget %d, %v; want %d", budget, err, 1_000_000-tk.RewardKopecks)
	}
	var intents int
	if err := e.db.QueryRow(ctx, `SELECT count(*) FROM notification_intents WHERE participant_id = $1 AND event_type = 'task_reviewed'`, p.ID).Scan(&intents); err != nil || intents != 1 {
		t.Errorf("task_reviewed intents = %d, %v; want 1", intents, err)
	}
	mine, err := e.store.MySubmissions(ctx, p, taskdb.MineFilter{})
	if err != nil || mine.TotalKopecks != tk.RewardKopecks || len(mine.PerTask) != 1 || len(mine.Submissions) != 1 {
		t.Fatalf("MySubmissions = %+v, %v", mine, err)
	}
	// The period's limit is used: the task is no longer offered this week,
	// and a take is refused by the counter.
	if avail, _ := e.store.Available(ctx, p); len(avail) != 0 {
		t.Errorf("task still offered after the limit: %+v", avail)
	}
	if _, err := e.store.Take(ctx, p, tk.ID, 0); errCode(err) != "task_participant_limit" {
		t.Errorf("take over the limit: %v", err)
	}
	// Next week is a new period.
	e.clock.Set(start.AddDate(0, 0, 7).Add(time.Hour))
	sub2, err := e.store.Take(ctx, p, tk.ID, 0)
	if err != nil || sub2.Slot.N != 1 {
		t.Fatalf("take next week = %+v, %v", sub2, err)
	}
	u = e.upload()
	u.Answers = []byte(`{"placed": true}`)
	if _, err := e.store.Submit(ctx, p, sub2.ID, u); errCode(err) != "task_too_few_photos" {
		t.Errorf("report without photos: %v", err)
	}
}

func TestApprovalCreditsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, 1, 1_000_000)
	p := e.parts[0]
	tk := e.newTask(t, nil)
	sub, err := e.store.Take(ctx, p, tk.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if sub, err = e.store.Submit(ctx, p, sub.ID, e.upload(shelfJPEG(t, 2, 300, 200, 80))); err != nil {
		t.Fatal(err)
	}
	const workers = 16
	var wg sync.WaitGroup
	var ok, failed atomic.Int32
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := e.store.Review(ctx, e.moderator, sub.ID, task.Review{Action: task.ActApprove})
			if err != nil || got.Status != task.Approved {
				failed.Add(1)
				t.Errorf("approve: %+v, %v", got.Status, err)
				return
			}
			ok.Add(1)
		}()
	}
	wg.Wait()
	if got := e.balance(t, p.ID); got != tk.RewardKopecks {
		t.Errorf("balance after %d approvals = %d, want %d (once)", ok.Load(), got, tk.RewardKopecks)
	}
	var n int
	if err := e.db.QueryRow(ctx, `SELECT count(*) FROM ledger_transactions WHERE idempotency_key = $1`, task.RewardKey(sub.ID)).Scan(&n); err != nil || n != 1 {
		t.Errorf("ledger transactions for the submission = %d, %v", n, err)
	}
	// A later rejection cannot take it back.
	if _, err := e.store.Review(ctx, e.moderator, sub.ID, task.Review{Action: task.ActReject, ReasonCode: "not_done"}); errCode(err) != "task_submission_already_reviewed" {
		t.Errorf("reject after approve: %v", err)
	}
}

func TestBudgetExhaustedLeavesReportWaiting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, 1, 10_000) // 100 points, the reward is 300
	p := e.parts[0]
	tk := e.newTask(t, nil)
	sub, _ := e.store.Take(ctx, p, tk.ID, 0)
	if _, err := e.store.Submit(ctx, p, sub.ID, e.upload(shelfJPEG(t, 3, 300, 200, 80))); err != nil {
		t.Fatal(err)
	}
	_, err := e.store.Review(ctx, e.moderator, sub.ID, task.Review{Action: task.ActApprove})
	if !errors.Is(err, ledger.ErrBudgetExhausted) {
		t.Fatalf("approve over budget: %v", err)
	}
	got, _ := e.store.Submission(ctx, e.moderator, sub.ID)
	if got.Status != task.Submitted || e.balance(t, p.ID) != 0 {
		t.Errorf("after a failed approval: status %s, balance %d", got.Status, e.balance(t, p.ID))
	}
}

// TestLimitsUnderConcurrency: many participants take and report the same
// task in the same shop at once; the counters in the database hold the
// per-participant and per-shop limits.
func TestLimitsUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, 6, 1_000_000)
	tk := e.newTask(t, func(x *task.Task) { x.PerParticipant, x.PerShop = 2, 5 })
	const perParticipant = 4 // attempts each, more than the limit
	var wg sync.WaitGroup
	var taken atomic.Int32
	errs := make(chan error, len(e.parts)*perParticipant)
	for _, p := range e.parts {
		for i := 0; i < perParticipant; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sub, err := e.store.Take(ctx, p, tk.ID, e.shops[1])
				if err != nil {
					errs <- err
					return
				}
				if _, err := e.store.Submit(ctx, p, sub.ID, e.upload(shelfJPEG(t, uint64(sub.ID)+100, 160, 120, 80))); err != nil {
					// Two goroutines of one participant may get the same
					// open take; only one reports it.
					errs <- err
					return
				}
				taken.Add(1)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		switch errCode(err) {
		case "task_participant_limit", "task_shop_limit", "task_submission_bad_status":
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	var perShop int
	if err := e.db.QueryRow(ctx, `SELECT count(*) FROM task_submissions WHERE task_id = $1 AND shop_id = $2 AND status <> 'taken'`, tk.ID, e.shops[1]).Scan(&perShop); err != nil {
		t.Fatal(err)
	}
	if perShop != 5 || taken.Load() != 5 {
		t.Errorf("reports in the shop = %d (reported %d), want exactly the shop limit 5", perShop, taken.Load())
	}
	rows, err := e.db.Query(ctx, `SELECT participant_id, count(*) FROM task_submissions WHERE task_id = $1 GROUP BY 1`, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var pid int64
		var n int
		if err := rows.Scan(&pid, &n); err != nil {
			t.Fatal(err)
		}
		if n > 2 {
			t.Errorf("participant %d has %d attempts, limit 2", pid, n)
		}
	}
	// A rejection gives the unit back: someone else may now take it.
	q, err := e.store.Queue(ctx, e.moderator, task.QueueFilter{ClientID: e.clientID})
	if err != nil || len(q) == 0 {
		t.Fatalf("queue: %v", err)
	}
	if _, err := e.store.Review(ctx, e.moderator, q[0].ID, task.Review{Action: task.ActReject, ReasonCode: "photo_unreadable"}); err != nil {
		t.Fatal(err)
	}
	var taker taskdb.Participant
	for _, p := range e.parts {
		var n int
		_ = e.db.QueryRow(ctx, `SELECT count(*) FROM task_submissions WHERE task_id = $1 AND participant_id = $2 AND status <> 'rejected'`, tk.ID, p.ID).Scan(&n)
		if n < 2 {
			taker = p
			break
		}
	}
	if _, err := e.store.Take(ctx, taker, tk.ID, e.shops[1]); err != nil {
		t.Errorf("take after a rejection freed the shop's unit: %v", err)
	}
	if _, err := e.store.Take(ctx, taker, tk.ID, e.shops[1]); err != nil {
		t.Errorf("second take returns the open one: %v", err)
	}
}

func TestDuplicatePhotoFlags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, 4, 1_000_000)
	tk := e.newTask(t, func(x *task.Task) { x.PerParticipant = 3 })
	orig := shelfJPEG(t, 10, 640, 480, 92)
	report := func(p taskdb.Participant, photo []byte) task.Submission {
		t.Helper()
		sub, err := e.store.Take(ctx, p, tk.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		sub, err = e.store.Submit(ctx, p, sub.ID, e.upload(photo))
		if err != nil {
			t.Fatal(err)
		}
		return sub
	}
	first := report(e.parts[0], orig)
	if len(first.Flags) != 0 {
		t.Fatalf("first report flagged: %+v", first.Flags)
	}
	recoded := encode(t, halfSize(decodeJPEG(t, orig)), 55) // re-encoded at q55 and resized to half
	tests := []struct {
		name  string
		p     taskdb.Participant
		photo []byte
		want  task.FlagCode
	}{
		{"same bytes", e.parts[1], orig, task.FlagDuplicatePhoto},
		{"re-encoded and resized", e.parts[2], recoded, task.FlagSimilarPhoto},
		{"another shelf", e.parts[3], shelfJPEG(t, 11, 640, 480, 92), ""},
	}
	for _, tc := range tests {
		sub := report(tc.p, tc.photo)
		var got task.FlagCode
		for _, f := range sub.Flags {
			if f.Code == task.FlagDuplicatePhoto || f.Code == task.FlagSimilarPhoto {
				got = f.Code
				if f.RefSubmissionID != first.ID {
					t.Errorf("%s: ref %d, want %d", tc.name, f.RefSubmissionID, first.ID)
				}
				if f.Bits != nil {
					t.Logf("%s: %d bits", tc.name, *f.Bits)
				}
			}
		}
		if got != tc.want {
			t.Errorf("%s: photo flag %q, want %q (%+v)", tc.name, got, tc.want, sub.Flags)
		}
	}
}

func TestLocationAndCaptureFlags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, 3, 1_000_000)
	tk := e.newTask(t, func(x *task.Task) { x.GeofenceMeters = 200 })
	far := shopLat + 0.05 // ~5.5 km north
	tests := []struct {
		name string
		edit func(*taskdb.Upload)
		want task.FlagCode
	}{
		{"far from the shop", func(u *taskdb.Upload) { u.Lat = &far }, task.FlagOutsideGeofence},
		{"captured before the task", func(u *taskdb.Upload) { u.CapturedAt = start.Add(-24 * time.Hour) }, task.FlagCaptureOutside},
		{"no location", func(u *taskdb.Upload) { u.Lat, u.Lon = nil, nil }, task.FlagNoLocation},
	}
	for i, tc := range tests {
		p := e.parts[i]
		sub, err := e.store.Take(ctx, p, tk.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		u := e.upload(shelfJPEG(t, uint64(20+i), 300, 200, 80))
		tc.edit(&u)
		sub, err = e.store.Submit(ctx, p, sub.ID, u)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(sub.Flags) != 1 || sub.Flags[0].Code != tc.want {
			t.Errorf("%s: flags %+v, want %s", tc.name, sub.Flags, tc.want)
		}
	}
}

func TestAutoApprovalForCleanHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, 1, 1_000_000)
	p := e.parts[0]
	tk := e.newTask(t, func(x *task.Task) {
		x.Recurrence = task.Daily
		x.AutoApprove = task.AutoApprove{Enabled: true, MinApproved: 1}
	})
	sub, _ := e.store.Take(ctx, p, tk.ID, 0)
	sub, err := e.store.Submit(ctx, p, sub.ID, e.upload(shelfJPEG(t, 30, 300, 200, 80)))
	if err != nil || sub.Status != task.Submitted {
		t.Fatalf("first report (no history yet) = %s, %v; want submitted", sub.Status, err)
	}
	if _, err := e.store.Review(ctx, e.moderator, sub.ID, task.Review{Action: task.ActApprove}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(start.AddDate(0, 0, 1).Add(time.Hour))
	sub, _ = e.store.Take(ctx, p, tk.ID, 0)
	sub, err = e.store.Submit(ctx, p, sub.ID, e.upload(shelfJPEG(t, 31, 300, 200, 80)))
	if err != nil || sub.Status != task.Approved || !sub.AutoApproved {
		t.Fatalf("clean report of a clean participant = %+v, %v; want auto-approved", sub, err)
	}
	if got := e.balance(t, p.ID); got != 2*tk.RewardKopecks {
		t.Errorf("balance %d, want %d", got, 2*tk.RewardKopecks)
	}
	// A flagged report waits for a moderator whatever the history.
	e.clock.Set(start.AddDate(0, 0, 2).Add(time.Hour))
	sub, _ = e.store.Take(ctx, p, tk.ID, 0)
	u := e.upload(shelfJPEG(t, 32, 300, 200, 80))
	u.CapturedAt = time.Time{}
	if sub, err = e.store.Submit(ctx, p, sub.ID, u); err != nil || sub.Status != task.Submitted {
		t.Errorf("flagged report = %s, %v; want submitted", sub.Status, err)
	}
}

func TestReworkAndExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, 2, 1_000_000)
	tk := e.newTask(t, func(x *task.Task) { x.PerShop = 1; x.Recurrence = task.Once; x.DueAt = start.AddDate(0, 0, 3) })
	p := e.parts[0]
	sub, _ := e.store.Take(ctx, p, tk.ID, 0)
	sub, _ = e.store.Submit(ctx, p, sub.ID, e.upload(shelfJPEG(t, 40, 300, 200, 80)))
	if _, err := e.store.Review(ctx, e.moderator, sub.ID, task.Review{Action: task.ActRework}); errCode(err) != "task_invalid" {
		t.Errorf("rework without a comment: %v", err)
	}
	sub, err := e.store.Review(ctx, e.moderator, sub.ID, task.Review{Action: task.ActRework, Comment: "Снимите полку целиком"})
	if err != nil || sub.Status != task.ReworkRequested {
		t.Fatalf("rework = %s, %v", sub.Status, err)
	}
	// The other participant cannot take the shop's only unit meanwhile.
	if _, err := e.store.Take(ctx, e.parts[1], tk.ID, 0); errCode(err) != "task_shop_limit" {
		t.Errorf("take of a held shop unit: %v", err)
	}
	// Not reported before the due time: expired, and the unit is free.
	e.clock.Set(start.AddDate(0, 0, 3).Add(time.Minute))
	if _, err := e.store.Submit(ctx, p, sub.ID, e.upload(shelfJPEG(t, 41, 300, 200, 80))); errCode(err) != "task_slot_over" {
		t.Errorf("late report: %v", err)
	}
	n, err := e.store.ExpireOverdue(ctx, 100)
	if err != nil || n != 1 {
		t.Fatalf("ExpireOverdue = %d, %v", n, err)
	}
	var used int
	if err := e.db.QueryRow(ctx, `SELECT used FROM task_quotas WHERE task_id = $1 AND scope = 'shop'`, tk.ID).Scan(&used); err != nil || used != 0 {
		t.Errorf("shop counter after expiry = %d, %v", used, err)
	}
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newEnv(t, 1, 1_000_000)
	b := addClient(t, a.db, "other", 1, 1_000_000)
	tk := a.newTask(t, nil)
	sub, _ := a.store.Take(ctx, a.parts[0], tk.ID, 0)
	sub, _ = a.store.Submit(ctx, a.parts[0], sub.ID, a.upload(shelfJPEG(t, 50, 300, 200, 80)))

	// The other client's staff sees nothing of it and changes nothing.
	if _, err := b.store.Review(ctx, b.moderator, sub.ID, task.Review{Action: task.ActApprove}); errCode(err) != "task_submission_not_found" {
		t.Errorf("foreign approve: %v", err)
	}
	if _, err := b.store.Submission(ctx, b.moderator, sub.ID); errCode(err) != "task_submission_not_found" {
		t.Errorf("foreign read: %v", err)
	}
	if _, err := b.store.Task(ctx, b.manager, tk.ID); errCode(err) != "task_not_found" {
		t.Errorf("foreign task: %v", err)
	}
	if _, err := b.store.Queue(ctx, b.moderator, task.QueueFilter{ClientID: a.clientID}); errCode(err) != "forbidden" {
		t.Errorf("foreign queue: %v", err)
	}
	if _, err := b.store.CreateTask(ctx, b.manager, task.Task{ProgramID: a.programID, Title: "x", RewardKopecks: 1,
		StartsAt: start, DueAt: start.Add(time.Hour)}); errCode(err) != "task_invalid" {
		t.Errorf("task in a foreign program: %v", err)
	}
	// A moderator may review but not create tasks.
	if _, err := a.store.CreateTask(ctx, a.moderator, task.Task{ProgramID: a.programID, Title: "x", RewardKopecks: 1,
		StartsAt: start, DueAt: start.Add(time.Hour)}); errCode(err) != "forbidden" {
		t.Errorf("moderator creating a task: %v", err)
	}
	// The other client's participant can neither take the task nor read the report.
	if _, err := b.store.Take(ctx, b.parts[0], tk.ID, 0); errCode(err) != "task_not_found" {
		t.Errorf("foreign take: %v", err)
	}
	if _, err := b.store.MySubmission(ctx, b.parts[0], sub.ID); errCode(err) != "task_submission_not_found" {
		t.Errorf("foreign report read: %v", err)
	}
	if _, err := b.store.Submit(ctx, b.parts[0], sub.ID, b.upload()); errCode(err) != "task_submission_not_found" {
		t.Errorf("foreign report submit: %v", err)
	}
	// Nor a shop of another client.
	tk2 := a.newTask(t, nil)
	if _, err := a.store.Take(ctx, a.parts[0], tk2.ID, b.shops[0]); errCode(err) != "task_shop_not_eligible" {
		t.Errorf("take in a foreign shop: %v", err)
	}
	// An operator sees every client.
	op := access.Staff{UserID: 9, Role: access.Operator}
	if _, err := a.store.Submission(ctx, op, sub.ID); err != nil {
		t.Errorf("operator read: %v", err)
	}
}
