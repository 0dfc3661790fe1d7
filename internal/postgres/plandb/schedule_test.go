package plandb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/plan"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
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

// The period's standing: tiers, forecast, shops and regions, leaderboard
// with names masked unless asked; another client sees nothing.
func TestSummarize(t *testing.T) {
	t.Parallel()
	f := setup(t, 3, 0)
	ctx := context.Background()
	var shop int64
	must(t, f.db.QueryRow(ctx, `INSERT INTO shops (client_id, code, name) VALUES ($1, 's1', 'Магазин 1') RETURNING id`, f.client).Scan(&shop))
	_, err := f.db.Exec(ctx, `UPDATE participants SET shop_id = $1, region = 'Москва', name = 'Иван Петров' WHERE id = $2`, shop, f.pids[0])
	must(t, err)
	_, err = f.store.SetTable(ctx, f.maker, f.client, f.program, nov, table, "")
	must(t, err)
	f.targets(t, map[int]int64{0: 10_000_000, 1: 10_000_000, 2: 10_000_000})
	f.receipt(t, 0, mid, 1, 12_000_000, 0)
	f.receipt(t, 1, mid, 1, 7_000_000, 0)
	s, err := f.store.Summarize(ctx, f.client, f.program, nov, 2, false)
	must(t, err)
	if s.Participants != 3 || s.Tiers[0] != 1 || s.Tiers[1] != 1 || s.Tiers[3] != 1 || s.ForecastKopecks != 100000+480000 {
		t.Fatalf("summary: %+v", s)
	}
	if len(s.Leaderboard) != 2 || s.Leaderboard[0].ParticipantID != f.pids[0] || s.Leaderboard[0].Name != "И. П." || s.Leaderboard[0].AttainmentBP != 12000 {
		t.Fatalf("leaderboard: %+v", s.Leaderboard)
	}
	if len(s.ByShop) != 2 || s.ByShop[0].Key != "Магазин 1" || s.ByShop[0].AttainmentBP != 12000 || len(s.ByRegion) != 2 {
		t.Fatalf("groups: %+v %+v", s.ByShop, s.ByRegion)
	}
	s, err = f.store.Summarize(ctx, f.client, f.program, nov, 1, true)
	must(t, err)
	if s.Leaderboard[0].Name != "Иван Петров" {
		t.Fatalf("names shown: %+v", s.Leaderboard)
	}
	if _, err := f.store.Summarize(ctx, f.other, f.program, nov, 1, true); err == nil {
		t.Fatal("another client summarised our program")
	}
}

// Points spent between a preview and its approval: the debit no longer
// fits, nothing is posted, and a new preview cuts the debit to what is left.
func TestSpentAfterPreview(t *testing.T) {
	t.Parallel()
	f := setup(t, 1, 0)
	ctx := context.Background()
	_, err := f.store.SetTable(ctx, f.maker, f.client, f.program, nov, table, "")
	must(t, err)
	f.targets(t, map[int]int64{0: 10_000_000})
	f.receipt(t, 0, mid, 1, 7_000_000, 0)
	r, err := f.store.Preview(ctx, f.maker, f.client, f.program, nov)
	must(t, err)
	_, err = f.store.Approve(ctx, f.maker, f.client, r.ID)
	must(t, err)
	f.receipt(t, 0, mid, 2, 1_000_000, 0) // back under 70 %
	r, err = f.store.Preview(ctx, f.maker, f.client, f.program, nov)
	must(t, err)
	if r.DebitKopecks != 100000 {
		t.Fatalf("debit %d", r.DebitKopecks)
	}
	must(t, postgres.WithTx(ctx, f.db, func(tx pgx.Tx) error {
		_, err := ledgerdb.Post(ctx, tx, ledger.Transaction{IdempotencyKey: "spend", Kind: "redemption", ClientID: f.client,
			ProgramID: f.program, ParticipantID: f.pids[0], Postings: []ledger.Posting{
				{Account: ledger.AvailableAccount(f.client, f.program, f.pids[0]), AmountKopecks: -60000},
				{Account: ledger.Account{Kind: ledger.Redemption, ClientID: f.client}, AmountKopecks: 60000}}})
		return err
	}))
	if _, err := f.store.Approve(ctx, f.maker, f.client, r.ID); !errors.Is(err, plandb.ErrBalanceChanged) {
		t.Fatalf("approve after spending: %v", err)
	}
	if f.available(t, 0) != 40000 {
		t.Fatalf("balance %d", f.available(t, 0))
	}
	r, err = f.store.Preview(ctx, f.maker, f.client, f.program, nov)
	must(t, err)
	_, err = f.store.Approve(ctx, f.maker, f.client, r.ID)
	must(t, err)
	if r.DebitKopecks != 40000 || f.available(t, 0) != 0 {
		t.Fatalf("re-preview: %+v, balance %d", r, f.available(t, 0))
	}
}
