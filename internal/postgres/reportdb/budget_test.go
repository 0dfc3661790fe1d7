package reportdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/kpi"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

func post(t *testing.T, db *pgxpool.Pool, tr ledger.Transaction) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := ledgerdb.Post(ctx, tx, tr); err != nil {
		t.Fatalf("post %s: %v", tr.IdempotencyKey, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestBudgetAndRedemptionFromLedger: registry and task payouts come out of
// the same program budget as receipt credits, so the budget's spending,
// burn rate and the redemption figures are read from the ledger.
func TestBudgetAndRedemptionFromLedger(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.New(t)
	d := reporttest.Load(t, db, now)
	ctx := context.Background()
	s := reportdb.New(db)
	v := d.Vetluga
	p, err := s.Program(ctx, access.Staff{UserID: 1, ClientID: v.ClientID, Role: access.ClientManager}, v.ProgramID)
	if err != nil {
		t.Fatal(err)
	}
	// As of the data's clock: the receipt credits of the last 30 days (the
	// two of this month, 150 points each) are the burn.
	b, err := s.Budget(ctx, p, now)
	if err != nil {
		t.Fatal(err)
	}
	if b.SpentKopecks != 60000 || b.Last30Kopecks != 30000 || b.Last30ByKind[ledger.KindReceiptCredit] != 30000 ||
		b.BalanceKopecks != p.BudgetKopecks-60000 || b.FundedKopecks != p.BudgetKopecks {
		t.Errorf("receipts only: %+v", b)
	}

	// A registry line (no business date: dated by posting) and a task
	// reward, both paid from the program's budget, and a redemption of
	// part of a participant's balance.
	today := time.Now()
	part := v.Participants[0]
	post(t, db, ledger.Transaction{IdempotencyKey: "test:registry:1", Kind: ledger.KindRegistryCredit, ClientID: v.ClientID,
		ProgramID: v.ProgramID, ParticipantID: part, Memo: "реестр за февраль",
		Postings: ledger.Credit(v.ClientID, v.ProgramID, part, 700000, false)})
	post(t, db, ledger.Transaction{IdempotencyKey: "test:task:1", Kind: ledger.KindTaskReward, ClientID: v.ClientID,
		ProgramID: v.ProgramID, ParticipantID: part, OccurredOn: today, Memo: "выкладка",
		Postings: ledger.Credit(v.ClientID, v.ProgramID, part, 200000, false)})
	post(t, db, ledger.Transaction{IdempotencyKey: "test:redeem:1", Kind: "redemption", ClientID: v.ClientID,
		ProgramID: v.ProgramID, ParticipantID: part, Memo: "приз",
		Postings: []ledger.Posting{
			{Account: ledger.AvailableAccount(v.ClientID, v.ProgramID, part), AmountKopecks: -250000},
			{Account: ledger.Account{Kind: ledger.Redemption, ClientID: v.ClientID}, AmountKopecks: 250000},
		}})

	b, err = s.Budget(ctx, p, today)
	if err != nil {
		t.Fatal(err)
	}
	budgetAddsUp(t, b)
	if b.SpentKopecks != 960000 || b.BalanceKopecks != p.BudgetKopecks-960000 {
		t.Errorf("spent %d balance %d, want 960000 and %d", b.SpentKopecks, b.BalanceKopecks, p.BudgetKopecks-960000)
	}
	// The receipts of March 2026 are long out of today's window.
	if b.Last30Kopecks != 900000 || b.Last30ByKind[ledger.KindRegistryCredit] != 700000 ||
		b.Last30ByKind[ledger.KindTaskReward] != 200000 || b.BurnDays != 30 {
		t.Errorf("last 30 days: %d by kind %v over %d days", b.Last30Kopecks, b.Last30ByKind, b.BurnDays)
	}
	if n := len(b.Monthly); n == 0 || !b.Monthly[n-1].Start.Equal(time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)) ||
		b.Monthly[n-1].SpentKopecks != 900000 {
		t.Errorf("monthly spending: %v, want this month's 900000 last", b.Monthly)
	}

	in, err := s.OverviewAsOf(ctx, p, report.Period{From: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
		To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}, today)
	if err != nil {
		t.Fatal(err)
	}
	if in.PointsIssuedAll != 960000 || in.PointsRedeemed != 250000 || in.PointsAvailable != 960000-250000 {
		t.Errorf("issued %d redeemed %d available %d", in.PointsIssuedAll, in.PointsRedeemed, in.PointsAvailable)
	}
	for _, kv := range kpi.Compute(in) {
		if kv.Key == kpi.RedemptionRate.Key && kv.Display != "26,0 %" {
			t.Errorf("redemption rate %s, want 26,0 %% (2 500 of 9 600)", kv.Display)
		}
	}
	// Krasnodol's budget is untouched.
	kp, err := s.Program(ctx, access.Staff{Role: access.Operator}, d.Krasnodol.ProgramID)
	if err != nil {
		t.Fatal(err)
	}
	if kb, err := s.Budget(ctx, kp, today); err != nil || kb.SpentKopecks != 60000 || kb.Last30Kopecks != 0 {
		t.Errorf("krasnodol budget %+v %v", kb, err)
	}
}

// TestChurnSkipsRunningMonth: a period ending in the month that is still
// running compares the two complete months before it.
func TestChurnSkipsRunningMonth(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.New(t)
	d := reporttest.Load(t, db, now)
	ctx := context.Background()
	s := reportdb.New(db)
	p, err := s.Program(ctx, access.Staff{Role: access.Operator}, d.Vetluga.ProgramID)
	if err != nil {
		t.Fatal(err)
	}
	per := report.Period{From: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	feb, mar := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// On 15 March the period's last month is running: January → February
	// (nobody was active in January).
	in, err := s.OverviewAsOf(ctx, p, per, now)
	if err != nil {
		t.Fatal(err)
	}
	if !in.ChurnShifted || !in.ChurnPrevMonth.Equal(jan) || !in.ChurnMonth.Equal(feb) || in.ActivePrevMonth != 0 || in.ChurnedPrevMonth != 0 {
		t.Errorf("mid-March: %v → %v shifted %v, %d active %d churned", in.ChurnPrevMonth, in.ChurnMonth, in.ChurnShifted,
			in.ActivePrevMonth, in.ChurnedPrevMonth)
	}
	// Once March is over: February → March, both February sellers stayed.
	in, err = s.OverviewAsOf(ctx, p, per, time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if in.ChurnShifted || !in.ChurnPrevMonth.Equal(feb) || !in.ChurnMonth.Equal(mar) || in.ActivePrevMonth != 2 || in.ChurnedPrevMonth != 0 {
		t.Errorf("April: %v → %v shifted %v, %d active %d churned", in.ChurnPrevMonth, in.ChurnMonth, in.ChurnShifted,
			in.ActivePrevMonth, in.ChurnedPrevMonth)
	}
	// The other indicators still cover the period.
	if in.Active != 2 || in.Uploaders != 3 {
		t.Errorf("active %d uploaders %d", in.Active, in.Uploaders)
	}
}

func TestChurnMonths(t *testing.T) {
	t.Parallel()
	m := func(y int, mo time.Month, d int) time.Time { return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		last, today, prev, cur time.Time
		shifted                bool
	}{
		{m(2026, 3, 1), m(2026, 3, 15), m(2026, 1, 1), m(2026, 2, 1), true},
		{m(2026, 3, 1), m(2026, 4, 1), m(2026, 2, 1), m(2026, 3, 1), false},
		{m(2026, 1, 1), m(2026, 3, 15), m(2025, 12, 1), m(2026, 1, 1), false},
		{m(2026, 6, 1), m(2026, 3, 15), m(2026, 1, 1), m(2026, 2, 1), true}, // a period reaching into the future
	} {
		prev, cur, shifted := reportdb.ChurnMonths(tc.last, tc.today)
		if !prev.Equal(tc.prev) || !cur.Equal(tc.cur) || shifted != tc.shifted {
			t.Errorf("ChurnMonths(%v, %v) = %v %v %v", tc.last, tc.today, prev, cur, shifted)
		}
	}
}
