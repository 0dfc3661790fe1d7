package plandb_test

import (
	"context"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/plan"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/plandb"
)

// The scheduler closes the previous month on the program's close day (not
// before), and each period once; a quarter closes in the quarter's next
// month; a close over the threshold is previewed and left for staff.
func TestScheduledClose(t *testing.T) {
	t.Parallel()
	f := setup(t, 2, 200000)
	ctx := context.Background()
	_, err := f.store.SetTable(ctx, f.maker, f.client, f.program, nov, table, "")
	must(t, err)
	f.targets(t, map[int]int64{0: 10_000_000, 1: 10_000_000})
	f.receipt(t, 0, mid, 1, 7_000_000, 0)
	q4 := plan.Period{Kind: plan.Quarter, Year: 2026, N: 4}
	_, err = f.store.SetTable(ctx, f.maker, f.client, f.program, q4, table, "")
	must(t, err)
	_, err = f.store.SetTargets(ctx, f.maker, f.client, f.program, q4, []plandb.Target{{ParticipantID: f.pids[1], Value: 1_000_000}}, "")
	must(t, err)
	f.receipt(t, 1, time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC), 1, 20_000_000, 0) // 2 000 % of the quarter: 4 % capped at 5 000 ₽

	if err := f.store.SetSchedule(ctx, f.rival, f.other, f.program, 3); err == nil {
		t.Fatal("a rival scheduled our program")
	}
	if err := f.store.SetSchedule(ctx, f.maker, f.client, f.program, 29); err == nil {
		t.Fatal("day 29 accepted")
	}
	must(t, f.store.SetSchedule(ctx, f.maker, f.client, f.program, 3))
	made, posted, err := f.store.CloseDue(ctx, time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	must(t, err)
	if made != 0 || posted != 0 {
		t.Fatalf("before the close day: %d %d", made, posted)
	}
	made, posted, err = f.store.CloseDue(ctx, time.Date(2026, 12, 3, 0, 30, 0, 0, time.UTC))
	must(t, err)
	if made != 1 || posted != 1 || f.available(t, 0) != 100000 {
		t.Fatalf("November: %d %d, balance %d", made, posted, f.available(t, 0))
	}
	made, _, err = f.store.CloseDue(ctx, time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC))
	must(t, err)
	if made != 0 {
		t.Fatal("November closed twice by the scheduler")
	}
	// Q4 in January: 5 000 ₽ is over the 2 000 ₽ threshold, so a preview only.
	made, posted, err = f.store.CloseDue(ctx, time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC))
	must(t, err)
	if made != 1 || posted != 0 || f.available(t, 1) != 0 {
		t.Fatalf("Q4: made %d posted %d, balance %d", made, posted, f.available(t, 1))
	}
	var status string
	var madeBy *int64
	must(t, f.db.QueryRow(ctx, `SELECT status, made_by FROM plan_close_runs WHERE period = '2026-Q4'`).Scan(&status, &madeBy))
	if status != "preview" || madeBy != nil {
		t.Fatalf("Q4 run: %s %v", status, madeBy)
	}
}
