package taskdb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

// Issue 13: a task reward over the limit is credited only when a second,
// different staff member approves it, and never by auto-approval.
func TestRewardOverLimitWaitsForSecondApprover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, 2, 1_000_000, taskdb.WithSecondApproval(10_000)) // 100 points
	p := e.parts[0]
	tk := e.newTask(t, nil)
	if tk.RewardKopecks < 10_000 {
		t.Fatalf("reward %d is under the limit", tk.RewardKopecks)
	}
	sub, err := e.store.Take(ctx, p, tk.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if sub, err = e.store.Submit(ctx, p, sub.ID, e.upload(shelfJPEG(t, 40, 300, 200, 80))); err != nil {
		t.Fatal(err)
	}
	first, err := e.store.Review(ctx, e.moderator, sub.ID, task.Review{Action: task.ActApprove})
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != task.InReview || first.FirstApprovedBy != e.moderator.UserID || e.balance(t, p.ID) != 0 {
		t.Fatalf("after the first approval: %s, first approver %d, balance %d", first.Status, first.FirstApprovedBy, e.balance(t, p.ID))
	}
	// The second approver must be a different person.
	if _, err := e.store.Review(ctx, e.moderator, sub.ID, task.Review{Action: task.ActApprove}); !errors.Is(err, task.ErrSecondApproval) {
		t.Fatalf("the first approver approving again: %v", err)
	}
	if e.balance(t, p.ID) != 0 {
		t.Fatal("credited by one person")
	}
	// The database refuses it too.
	if _, err := e.db.Exec(ctx, `UPDATE task_submissions SET status = 'approved', reviewed_by = first_approved_by,
		ledger_tx_id = (SELECT min(id) FROM ledger_transactions) WHERE id = $1`, sub.ID); err == nil {
		t.Fatal("the database let one person approve it")
	}
	done, err := e.store.Review(ctx, e.manager, sub.ID, task.Review{Action: task.ActApprove})
	if err != nil || done.Status != task.Approved || e.balance(t, p.ID) != tk.RewardKopecks {
		t.Fatalf("second approval: %s %v, balance %d", done.Status, err, e.balance(t, p.ID))
	}

	// Auto-approval does not credit a reward over the limit.
	auto := e.newTask(t, func(x *task.Task) { x.AutoApprove = task.AutoApprove{Enabled: true, MinApproved: 0} })
	q := e.parts[1]
	s2, err := e.store.Take(ctx, q, auto.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s2, err = e.store.Submit(ctx, q, s2.ID, e.upload(shelfJPEG(t, 41, 300, 200, 80))); err != nil {
		t.Fatal(err)
	}
	if s2.Status != task.Submitted || e.balance(t, q.ID) != 0 {
		t.Fatalf("auto-approval over the limit: %s, balance %d", s2.Status, e.balance(t, q.ID))
	}
}
