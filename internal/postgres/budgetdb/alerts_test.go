package budgetdb_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/budget"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/email/emailsim"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/budgetdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"

	"github.com/jackc/pgx/v5"
)

var quiet = slog.New(slog.DiscardHandler)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The worker's check raises each threshold once per crossing and e-mails
// it once to the client's managers (through the real SMTP client and the
// simulator), however often it runs; a failed e-mail is retried by the
// next check; a top-up clears the alerts, and crossing again raises and
// e-mails them again.
func TestAlertsOncePerCrossing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	var client, program, seller, mgr int64
	must(t, db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Акме') RETURNING id`).Scan(&client))
	must(t, db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on)
		VALUES ($1, 'p1', 'Весна', 'live', current_date - 30, current_date + 30) RETURNING id`, client).Scan(&program))
	must(t, db.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role) VALUES ($1, '+79990000001', 'seller') RETURNING id`, client).Scan(&seller))
	must(t, db.QueryRow(ctx, `INSERT INTO dashboard_users (client_id, email, name, role, password_hash) VALUES ($1, 'boss@acme.ru', 'Начальник', 'client_manager', 'x') RETURNING id`, client).Scan(&mgr))
	_, err := db.Exec(ctx, `INSERT INTO dashboard_users (client_id, email, role, password_hash) VALUES ($1, 'mod@acme.ru', 'moderator', 'x')`, client)
	must(t, err)

	sim := emailsim.New(emailsim.Options{Logger: quiet})
	sctx, cancel := context.WithCancel(ctx)
	t.Cleanup(func() { cancel(); _ = sim.Close() })
	addr, err := sim.StartSMTP(sctx, "127.0.0.1:0")
	must(t, err)
	mail, err := email.New(email.Options{Addr: addr, From: "noreply@loyaltyjam.ru", Logger: quiet, Timeout: 5 * time.Second})
	must(t, err)
	send := func(ctx context.Context, to []budget.Recipient, a budget.Alert, name string) error {
		return budget.Mail(ctx, mail, to, a, name, "https://lj.example/dashboard/p/1/budget")
	}

	s := budgetdb.New(db, ledgerdb.Postings{}, auditdb.New(db), quiet)
	st := access.Staff{UserID: mgr, ClientID: client, Role: access.ClientManager}
	_, err = s.SetSettings(ctx, st, "", program, budget.Settings{AtZero: budget.Pause, AlertPercents: []int{50, 80}, AlertRunwayDays: 0})
	must(t, err)
	_, err = s.TopUp(ctx, st, "", budget.TopUpRequest{ProgramID: program, AmountKopecks: 1000_00, Document: "Счёт 1", IdempotencyKey: "t1"})
	must(t, err)
	spend := func(key string, amount int64) {
		t.Helper()
		must(t, postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
			_, err := ledgerdb.Post(ctx, tx, ledger.Transaction{IdempotencyKey: key, Kind: ledger.KindTaskReward, ClientID: client,
				ProgramID: program, ParticipantID: seller, OccurredOn: time.Now(),
				Postings: ledger.Credit(client, program, seller, amount, false)})
			return err
		}))
	}
	check := func() budgetdb.CheckResult {
		t.Helper()
		r, err := s.CheckAlerts(ctx, time.Now(), send)
		must(t, err)
		return r
	}

	spend("s1", 400_00)
	if r := check(); r.Raised != 0 || r.Emailed != 0 {
		t.Fatalf("40%% spent: %+v", r)
	}
	spend("s2", 450_00) // 85 %
	if r := check(); r.Raised != 2 || r.Emailed != 2 {
		t.Fatalf("85%% spent: %+v, want the 50 and 80 alerts raised and e-mailed", r)
	}
	mails := sim.Emails("boss@acme.ru")
	if len(mails) != 2 || !strings.Contains(mails[0].Subject, "Весна") || !strings.Contains(mails[0].Text+mails[1].Text, "израсходовано 85% бюджета (порог 80%)") {
		t.Fatalf("e-mails to the manager: %+v", mails)
	}
	if n := len(sim.Emails("mod@acme.ru")); n != 0 {
		t.Fatalf("a moderator got %d budget e-mails", n)
	}
	// Every later check while the condition holds does nothing.
	for range 3 {
		if r := check(); r.Raised != 0 || r.Emailed != 0 {
			t.Fatalf("repeat check: %+v", r)
		}
	}
	if n := len(sim.Emails("boss@acme.ru")); n != 2 {
		t.Fatalf("%d e-mails after repeated checks, want 2", n)
	}
	o, err := s.Overview(ctx, st, program, time.Now())
	must(t, err)
	if len(o.Alerts) != 2 || o.Figures.SpentPercent() != 85 || o.Figures.BalanceKopecks != money.Kopecks(150_00) {
		t.Fatalf("overview: %+v", o)
	}

	// The budget runs out while SMTP fails: the alert is raised once, its
	// e-mail is retried by the next check, not lost and not doubled.
	spend("s3", 150_00)
	sim.FailNext(1)
	if r := check(); r.Raised != 1 || r.Emailed != 0 || r.EmailFailed != 1 {
		t.Fatalf("exhausted with SMTP failing: %+v", r)
	}
	if r := check(); r.Raised != 0 || r.Emailed != 1 {
		t.Fatalf("retry: %+v", r)
	}
	last, _ := sim.Last("boss@acme.ru")
	if !strings.Contains(last.Text, "бюджет исчерпан, начисления приостановлены") {
		t.Fatalf("exhausted e-mail: %q", last.Text)
	}

	// A top-up clears them all; spending past 50 % again raises 50 anew.
	_, err = s.TopUp(ctx, st, "", budget.TopUpRequest{ProgramID: program, AmountKopecks: 3000_00, Document: "Счёт 2", IdempotencyKey: "t2"})
	must(t, err)
	if r := check(); r.Cleared != 3 || r.Raised != 0 {
		t.Fatalf("after the top-up: %+v", r) // 1000 of 4000 spent: 25 %
	}
	spend("s4", 1100_00) // 2100 of 4000: 52 %
	if r := check(); r.Raised != 1 || r.Emailed != 1 {
		t.Fatalf("crossing 50%% again: %+v", r)
	}
	if n := len(sim.Emails("boss@acme.ru")); n != 4 {
		t.Fatalf("%d e-mails in all, want 4", n)
	}
	var audited int
	must(t, db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'budget.alert'`).Scan(&audited))
	if audited != 4 {
		t.Fatalf("%d budget.alert audit entries, want 4", audited)
	}
}

// The runway alert: at the last 14 days' spending the balance lasts fewer
// days than the setting.
func TestRunwayAlert(t *testing.T) {
	t.Parallel()
	f := budget.NewFigures(10000_00, 1000_00, 1400_00) // 100 ₽ a day, 1 000 ₽ left: 10 days
	if f.RunwayDays != 10 {
		t.Fatalf("runway %d, want 10", f.RunwayDays)
	}
	conds := budget.Conditions("Весна", f, budget.Settings{AtZero: budget.Review, AlertPercents: []int{95}, AlertRunwayDays: 14})
	if len(conds) != 1 || conds[0].Kind != budget.KindRunwayDays || !strings.Contains(conds[0].Message, "примерно на 10 дн.") {
		t.Fatalf("conditions: %+v", conds)
	}
	if c := budget.Conditions("Весна", f, budget.Settings{AtZero: budget.Review, AlertRunwayDays: 7}); len(c) != 0 {
		t.Fatalf("10 days left with a 7-day threshold: %+v", c)
	}
	if c := budget.Conditions("Весна", budget.NewFigures(0, 0, 0), budget.Settings{AtZero: budget.Pause, AlertPercents: []int{1}, AlertRunwayDays: 14}); len(c) != 0 {
		t.Fatalf("a budget never funded raises %+v", c)
	}
	if c := budget.Conditions("Весна", budget.NewFigures(100, 0, 100), budget.Settings{AtZero: budget.Review, AlertRunwayDays: 14}); len(c) != 1 ||
		!strings.Contains(c[0].Message, "на модерацию") {
		t.Fatalf("exhausted under review: %+v", c)
	}
}
