package registrydb_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/registrydb"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

var quiet = slog.New(slog.DiscardHandler)

type fixture struct {
	db      *pgxpool.Pool
	store   *registrydb.Store
	svc     *registry.Service
	proc    *registry.Processor
	client  int64
	program int64
	maker   access.Staff
	checker access.Staff
	other   access.Staff // another client's manager
	queued  atomic.Int64
}

// setup makes a client with a live program funded with budget kopecks,
// two managers, a manager of another client and n participants with
// phones +7999000000i.
func setup(t *testing.T, n int, budget int64, threshold int64) *fixture {
	t.Helper()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	f := &fixture{db: db, store: registrydb.New(db, ledgerdb.Postings{}, auditdb.New(db), registrydb.WithSecondApproval(threshold), registrydb.WithCreditSubscribers(notifydb.Notifier{}))}
	must(t, db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Акме') RETURNING id`).Scan(&f.client))
	var other int64
	must(t, db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('rival', 'Конкурент') RETURNING id`).Scan(&other))
	must(t, db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, budget_kopecks)
		VALUES ($1, 'p1', 'Продажи', 'live', '2026-01-01', '2026-12-31', $2) RETURNING id`, f.client, budget).Scan(&f.program))
	user := func(client int64, email string) access.Staff {
		var id int64
		must(t, db.QueryRow(ctx, `INSERT INTO dashboard_users (client_id, email, role, password_hash)
			VALUES ($1, $2, 'client_manager', 'x') RETURNING id`, client, email).Scan(&id))
		return access.Staff{UserID: id, ClientID: client, Role: access.ClientManager}
	}
	f.maker, f.checker, f.other = user(f.client, "maker@acme.ru"), user(f.client, "checker@acme.ru"), user(other, "m@rival.ru")
	if n > 0 {
		_, err := db.Exec(ctx, `INSERT INTO participants (client_id, phone, name, role)
			SELECT $1, '+7999' || lpad(i::text, 7, '0'), 'Участник ' || i, 'seller' FROM generate_series(0, $2 - 1) i`, f.client, n)
		must(t, err)
	}
	if budget > 0 {
		must(t, postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
			_, err := ledgerdb.SyncBudget(ctx, tx, f.program)
			return err
		}))
	}
	f.svc = registry.NewService(f.store, registry.EnqueueFunc(func(context.Context, int64, string) error {
		f.queued.Add(1)
		return nil
	}), registry.Config{SecondApprovalKopecks: threshold, Logger: quiet})
	f.proc = registry.NewProcessor(f.store, nil, nil, registry.ProcessorConfig{Logger: quiet})
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func phone(i int) string { return fmt.Sprintf("+7999%07d", i) }

// pointsCSV renders amounts (roubles as text) per participant index.
func pointsCSV(amounts map[int]string) []byte {
	var b strings.Builder
	b.WriteString("Телефон;Баллы;Комментарий\n")
	for i := 0; i < 1<<30 && len(amounts) > 0; i++ {
		if a, ok := amounts[i]; ok {
			fmt.Fprintf(&b, "%s;%s;план\n", phone(i), a)
			delete(amounts, i)
		}
	}
	return []byte(b.String())
}

func (f *fixture) uploadPoints(t *testing.T, by access.Staff, data []byte) registry.Upload {
	t.Helper()
	u, err := f.svc.Upload(context.Background(), by, registry.UploadRequest{
		ClientID: f.client, Kind: registry.KindPoints, ProgramID: f.program, Period: "2026-03", FileName: "march.csv", Data: data})
	must(t, err)
	return u
}

// apply confirms (by checker) and processes an upload.
func (f *fixture) apply(t *testing.T, u registry.Upload) registry.Upload {
	t.Helper()
	ctx := context.Background()
	if u.Status != registry.StatusValidated {
		t.Fatalf("upload %d is %s: %v", u.ID, u.Status, u.Errors)
	}
	_, err := f.svc.Confirm(ctx, f.checker, u.ID)
	must(t, err)
	must(t, f.proc.Process(ctx, u.ID))
	u, err = f.store.Get(ctx, u.ID)
	must(t, err)
	return u
}

type ledgerState struct {
	transactions int64
	budget       int64
	participants int64
}

func (f *fixture) ledger(t *testing.T) ledgerState {
	t.Helper()
	var s ledgerState
	ctx := context.Background()
	must(t, f.db.QueryRow(ctx, `SELECT count(*) FROM ledger_transactions WHERE kind LIKE 'registry%'`).Scan(&s.transactions))
	var err error
	s.budget, err = ledgerdb.AccountBalance(ctx, f.db, ledger.BudgetAccount(f.client, f.program))
	must(t, err)
	must(t, f.db.QueryRow(ctx, `SELECT COALESCE(sum(balance_kopecks), 0) FROM ledger_accounts
		WHERE kind = 'participant_available' AND program_id = $1`, f.program).Scan(&s.participants))
	return s
}

func (f *fixture) balance(t *testing.T, i int) int64 {
	t.Helper()
	var id int64
	must(t, f.db.QueryRow(context.Background(), `SELECT id FROM participants WHERE phone = $1`, phone(i)).Scan(&id))
	b, err := ledgerdb.AccountBalance(context.Background(), f.db, ledger.AvailableAccount(f.client, f.program, id))
	must(t, err)
	return b
}

func TestSameRegistryTwiceCreditsOnce(t *testing.T) {
	t.Parallel()
	f := setup(t, 10, 1_000_000, 0)
	data := pointsCSV(map[int]string{0: "100", 1: "50,50", 2: "10", 3: "0"})
	first := f.apply(t, f.uploadPoints(t, f.maker, data))
	if first.Status != registry.StatusApplied || first.Result.Posted != 3 || first.Result.CreditKopecks != 16050 {
		t.Fatalf("first: %s %+v", first.Status, first.Result)
	}
	after := f.ledger(t)
	if after.participants != 16050 || after.budget != 1_000_000-16050 || after.transactions != 3 {
		t.Fatalf("ledger after first: %+v", after)
	}
	// The same file again: validated with everything unchanged, posts nothing.
	again := f.uploadPoints(t, f.maker, data)
	if pv := again.Points; pv.Unchanged != 3 || pv.New != 1 || pv.CreditKopecks != 0 || pv.DebitKopecks != 0 {
		t.Errorf("preview of the same file: %+v", pv)
	}
	again = f.apply(t, again)
	if again.Status != registry.StatusApplied || again.Result.Posted != 0 {
		t.Errorf("second: %s %+v", again.Status, again.Result)
	}
	if got := f.ledger(t); got != after {
		t.Errorf("ledger changed by the same file: %+v, was %+v", got, after)
	}
	// Processing an applied upload again (a retried task) does nothing.
	must(t, f.proc.Process(context.Background(), first.ID))
	if got := f.ledger(t); got != after {
		t.Errorf("ledger changed by a retried task: %+v", got)
	}
	// Each credited participant is told once, whatever was re-run.
	var intents, people int
	must(t, f.db.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT participant_id)
		FROM notification_intents WHERE event_type = 'registry_credited'`).Scan(&intents, &people))
	if intents != 3 || people != 3 {
		t.Errorf("registry_credited intents: %d for %d participants, want 3 for 3", intents, people)
	}
	// The period reads as a month: «за март 2026», in the notification and
	// in the ledger memo the participant sees in the history.
	var title, memo string
	must(t, f.db.QueryRow(context.Background(), `SELECT data->>'title' FROM notification_intents
		WHERE event_type = 'registry_credited' LIMIT 1`).Scan(&title))
	must(t, f.db.QueryRow(context.Background(), `SELECT memo FROM ledger_transactions
		WHERE kind LIKE 'registry%' LIMIT 1`).Scan(&memo))
	if title != "март 2026" || !strings.HasPrefix(memo, "за март 2026") {
		t.Errorf("period shown as %q (notification), %q (memo), want «март 2026»", title, memo)
	}
}

func TestConcurrentConfirmAndProcessCreditOnce(t *testing.T) {
	t.Parallel()
	f := setup(t, 50, 10_000_000, 0)
	amounts := map[int]string{}
	for i := range 50 {
		amounts[i] = fmt.Sprint(i + 1)
	}
	data := pointsCSV(amounts)
	// Two uploads of the same file, confirmed and processed concurrently,
	// each confirmed by many goroutines at once.
	ups := []registry.Upload{f.uploadPoints(t, f.maker, data), f.uploadPoints(t, f.maker, data)}
	ctx := context.Background()
	var wg sync.WaitGroup
	var confirmed, refused atomic.Int64
	for _, u := range ups {
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.svc.Confirm(ctx, f.checker, u.ID)
				switch {
				case err == nil:
					confirmed.Add(1)
				case errors.Is(err, registry.ErrNotConfirmable):
					refused.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if confirmed.Load() != 2 || refused.Load() != 14 {
		t.Fatalf("confirmed %d refused %d, want 2 and 14", confirmed.Load(), refused.Load())
	}
	// Each confirmation is audited once, by whoever won it; refusals are not.
	for _, u := range ups {
		var n int
		var actor int64
		var client int64
		if err := f.db.QueryRow(ctx, `SELECT count(*), max(actor_id), max(client_id) FROM audit_log
			WHERE action = 'registry.confirm' AND object_kind = 'registry_upload' AND object_id = $1`, fmt.Sprint(u.ID)).Scan(&n, &actor, &client); err != nil {
			t.Fatal(err)
		}
		if n != 1 || actor != f.checker.UserID || client != f.client {
			t.Errorf("upload %d: %d registry.confirm entries by %d for client %d, want 1 by %d for %d", u.ID, n, actor, client, f.checker.UserID, f.client)
		}
	}
	for _, u := range ups {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := f.proc.Process(ctx, u.ID); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	want := int64(50 * 51 / 2 * 100)
	if got := f.ledger(t); got.participants != want || got.transactions != 50 || got.budget != 10_000_000-want {
		t.Errorf("ledger %+v, want %d credited once in 50 transactions", got, want)
	}
	posted := 0
	for _, u := range ups {
		u, err := f.store.Get(ctx, u.ID)
		must(t, err)
		if u.Status != registry.StatusApplied {
			t.Errorf("upload %d is %s", u.ID, u.Status)
		}
		posted += u.Result.Posted
	}
	if posted != 50 {
		t.Errorf("posted %d lines over both uploads, want 50", posted)
	}
	var check ledgerdb.Report
	check, err := ledgerdb.New(f.db).Check(ctx)
	must(t, err)
	if !check.OK() {
		t.Errorf("ledger check: %v", check.Discrepancies)
	}
}

// spend moves a participant's points to redemption, as a prize order would.
func (f *fixture) spend(t *testing.T, i int, amount int64) {
	t.Helper()
	ctx := context.Background()
	var id int64
	must(t, f.db.QueryRow(ctx, `SELECT id FROM participants WHERE phone = $1`, phone(i)).Scan(&id))
	must(t, postgres.WithTx(ctx, f.db, func(tx pgx.Tx) error {
		_, err := ledgerdb.Post(ctx, tx, ledger.Transaction{IdempotencyKey: fmt.Sprintf("spend:%d", i), Kind: "redemption",
			ClientID: f.client, Postings: []ledger.Posting{
				{Account: ledger.AvailableAccount(f.client, f.program, id), AmountKopecks: -amount},
				{Account: ledger.Account{Kind: ledger.Redemption, ClientID: f.client}, AmountKopecks: amount}}})
		return err
	}))
}

func TestCorrectedRegistryPostsOnlyDifferences(t *testing.T) {
	t.Parallel()
	f := setup(t, 5, 1_000_000, 0)
	f.apply(t, f.uploadPoints(t, f.maker, pointsCSV(map[int]string{0: "100", 1: "50", 2: "30", 3: "20"})))
	f.spend(t, 2, 2500) // participant 2 spent most of their 30 points
	before := f.ledger(t)

	// Corrected: 0 gets more, 1 less, 2 is removed (debit refused: spent),
	// 3 unchanged, 4 is new.
	corr := f.uploadPoints(t, f.maker, pointsCSV(map[int]string{0: "120", 1: "40", 3: "20", 4: "5"}))
	if pv := corr.Points; pv.CreditKopecks != 2500 || pv.DebitKopecks != 4000 || pv.Changed != 2 || pv.Removed != 1 ||
		pv.Unchanged != 1 || pv.New != 1 || pv.PreviousTotalKopecks != 20000 {
		t.Errorf("preview: %+v", pv)
	}
	corr = f.apply(t, corr)
	r := corr.Result
	if corr.Status != registry.StatusApplied || r.Posted != 3 || r.CreditKopecks != 2500 || r.DebitKopecks != 1000 ||
		len(r.DebitsRefused) != 1 || r.DebitsRefused[0].WantKopecks != 3000 || r.DebitsRefused[0].BalanceKopecks != 500 {
		t.Fatalf("result: %s %+v", corr.Status, r)
	}
	for i, want := range []int64{12000, 4000, 500, 2000, 500} {
		if got := f.balance(t, i); got != want {
			t.Errorf("participant %d balance %d, want %d", i, got, want)
		}
	}
	after := f.ledger(t)
	if after.transactions != before.transactions+3 || after.budget != before.budget-2500+1000 {
		t.Errorf("ledger %+v, before %+v", after, before)
	}
	// Back to the first amounts: the versioned keys post again (a key that
	// was used before is not reused).
	back := f.apply(t, f.uploadPoints(t, f.maker, pointsCSV(map[int]string{0: "100", 1: "50", 2: "30", 3: "20"})))
	if back.Result.Posted != 3 { // 0: −20, 1: +10, 4: −5; 2 is still at 30 (refused before)
		t.Errorf("back: %+v", back.Result)
	}
	for i, want := range []int64{10000, 5000, 500, 2000, 0} {
		if got := f.balance(t, i); got != want {
			t.Errorf("after going back participant %d balance %d, want %d", i, got, want)
		}
	}
}

func TestBudgetCheckedBeforeAnythingIsPosted(t *testing.T) {
	t.Parallel()
	f := setup(t, 3, 10000, 0) // 100 points of budget
	u := f.apply(t, f.uploadPoints(t, f.maker, pointsCSV(map[int]string{0: "60", 1: "60"})))
	if u.Status != registry.StatusFailed || u.FailureCode != "budget_exhausted" || u.FailureText == "" {
		t.Fatalf("upload %s %q %q", u.Status, u.FailureCode, u.FailureText)
	}
	if got := f.ledger(t); got.transactions != 0 || got.budget != 10000 {
		t.Errorf("something was posted: %+v", got)
	}
	// Failed is terminal: a retried task does nothing.
	must(t, f.proc.Process(context.Background(), u.ID))
}

func TestMakerChecker(t *testing.T) {
	t.Parallel()
	f := setup(t, 3, 1_000_000, 10000) // registries crediting ≥ 100 points need a second person
	ctx := context.Background()
	small := f.uploadPoints(t, f.maker, pointsCSV(map[int]string{0: "99,99"}))
	if small.NeedsSecondApproval {
		t.Error("small registry needs a second approval")
	}
	large := f.uploadPoints(t, f.maker, pointsCSV(map[int]string{0: "99,99", 1: "0,01"}))
	if !large.NeedsSecondApproval {
		t.Fatal("large registry does not need a second approval")
	}
	if _, err := f.svc.Confirm(ctx, f.maker, large.ID); !errors.Is(err, registry.ErrSecondApproval) {
		t.Errorf("uploader confirmed their own large registry: %v", err)
	}
	// The database refuses it too, whatever the service does.
	if _, err := f.store.Confirm(ctx, large.ID, f.maker.UserID); !errors.Is(err, registry.ErrSecondApproval) {
		t.Errorf("store let the uploader confirm: %v", err)
	}
	if _, err := f.svc.Confirm(ctx, f.other, large.ID); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("another client's manager: %v", err)
	}
	if _, err := f.svc.Confirm(ctx, f.checker, large.ID); err != nil {
		t.Errorf("checker: %v", err)
	}
	if _, err := f.svc.Confirm(ctx, f.maker, small.ID); err != nil {
		t.Errorf("uploader of a small registry: %v", err)
	}
}

func TestMalformedUploadsChangeNothing(t *testing.T) {
	t.Parallel()
	f := setup(t, 3, 1_000_000, 0)
	ctx := context.Background()
	tests := []struct {
		name     string
		data     []byte
		wantCode string // file error; "" means stored as rejected
	}{
		{"garbage", []byte{0x00, 0x01, 0xff, 0xfe, 0x00}, "registry_file_unreadable"},
		{"wrong header", []byte("a;b\n1;2\n"), ""},
		{"unknown participant", pointsCSV(map[int]string{0: "10", 77: "5"}), ""},
		{"over the limit", make([]byte, registry.DefaultMaxFileBytes+1), "registry_file_too_large"},
	}
	for _, tc := range tests {
		u, err := f.svc.Upload(ctx, f.maker, registry.UploadRequest{ClientID: f.client, Kind: registry.KindPoints,
			ProgramID: f.program, Period: "2026-03", Data: tc.data})
		if tc.wantCode != "" {
			if e, ok := apperr.As(err); !ok || e.Code != tc.wantCode {
				t.Errorf("%s: err %v, want %s", tc.name, err, tc.wantCode)
			}
			continue
		}
		must(t, err)
		if u.Status != registry.StatusRejected || u.ErrorCount == 0 || len(u.Errors) == 0 || u.Errors[0].Reason == "" {
			t.Errorf("%s: %s %+v", tc.name, u.Status, u.Errors)
		}
		if _, err := f.svc.Confirm(ctx, f.checker, u.ID); !errors.Is(err, registry.ErrNotConfirmable) {
			t.Errorf("%s: confirmed a rejected upload: %v", tc.name, err)
		}
		if err := f.proc.Process(ctx, u.ID); !errors.Is(err, registry.ErrPermanent) {
			t.Errorf("%s: processing a rejected upload: %v", tc.name, err)
		}
	}
	if got := f.ledger(t); got.transactions != 0 {
		t.Errorf("ledger changed: %+v", got)
	}
	var lines int
	must(t, f.db.QueryRow(ctx, `SELECT count(*) FROM registry_point_lines`).Scan(&lines))
	if lines != 0 {
		t.Errorf("%d lines stored for rejected uploads", lines)
	}
}
