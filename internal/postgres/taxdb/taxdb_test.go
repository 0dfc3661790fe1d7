package taxdb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taxdb"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
	"github.com/loyaltyjam/loyaltyjam/internal/tax"
)

const rub = money.Kopecks(100)

type fixture struct {
	db       *pgxpool.Pool
	store    *taxdb.Store
	clients  [2]int64
	programs [2]int64
}

func setup(t *testing.T) fixture {
	t.Helper()
	db, _ := pgtest.New(t)
	ctx := context.Background()
	f := fixture{db: db, store: taxdb.New(db, ledgerdb.Postings{}, auditdb.New(db), sealbox.Random(), nil)}
	for i := range f.clients {
		if err := db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ($1, 'C') RETURNING id`, fmt.Sprintf("c%d", i)).Scan(&f.clients[i]); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on)
			VALUES ($1, 'prog', 'P', 'live', '2024-01-01', '2030-12-31') RETURNING id`, f.clients[i]).Scan(&f.programs[i]); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f fixture) participants(t *testing.T, client int, n int) []int64 {
	t.Helper()
	rows, err := f.db.Query(context.Background(), `INSERT INTO participants (client_id, phone, role, status)
		SELECT $1, '+7900' || lpad((g + $3)::text, 7, '0'), 'seller', 'active' FROM generate_series(1, $2) g RETURNING id`,
		f.clients[client], n, client*1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

var (
	msk      = time.FixedZone("MSK", 3*3600)
	sys      = audit.Actor{Kind: audit.System, Name: "test"}
	taxStaff = func(client int64) access.Staff {
		return access.Staff{UserID: 1, ClientID: client, Role: access.TaxOfficer}
	}
	operator = access.Staff{UserID: 2, Role: access.Operator}
)

func at(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, msk) }

func TestRecordReverseAndRunCorrections(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	p := f.participants(t, 0, 1)[0]
	s := f.store
	if err := s.SaveSettings(ctx, taxdb.Settings{ProgramID: f.programs[0], ClientID: f.clients[0], Agent: "client",
		Mode: tax.GrossUp, Kind: tax.Standard}, sys); err != nil {
		t.Fatal(err)
	}
	in := taxdb.Income{ClientID: f.clients[0], ProgramID: f.programs[0], ParticipantID: p, Ref: "r1", At: at(2025, 3, 10), Value: 10000 * rub}
	r1, err := s.RecordIncome(ctx, in)
	if err != nil || r1.Outcome.Cash != 896*rub || r1.Outcome.Withheld != 896*rub || r1.Year != 2025 {
		t.Fatalf("record: %+v %v", r1, err)
	}
	again, err := s.RecordIncome(ctx, in)
	if err != nil || !again.Replay || again.ID != r1.ID || again.Outcome.Tax != r1.Outcome.Tax {
		t.Fatalf("replay: %+v %v", again, err)
	}
	// the caller's transaction: rolled back, nothing stays
	err = postgres.WithTx(ctx, f.db, func(tx pgx.Tx) error {
		in2 := in
		in2.Ref, in2.At = "r-rolled-back", at(2025, 3, 11)
		if _, err := s.RecordIncome(postgres.ContextWithTx(ctx, tx), in2); err != nil {
			return err
		}
		return errors.New("redemption failed")
	})
	if err == nil {
		t.Fatal("want the caller's error")
	}
	var n int
	if err := f.db.QueryRow(ctx, `SELECT count(*) FROM tax_income WHERE ref = 'r-rolled-back'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rolled-back income stayed: %d %v", n, err)
	}
	if _, err := s.CloseMonth(ctx, taxdb.Scope{Agent: "client", ClientID: f.clients[0]}, 2025, 3, sys); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseMonth(ctx, taxdb.Scope{Agent: "client", ClientID: f.clients[0]}, 2025, 3, sys); !errors.Is(err, taxdb.ErrRunClosed) {
		t.Fatalf("closing twice: %v", err)
	}
	// the reward comes back in April: the closed March stays, April's run
	// carries the refund as a correction
	rv, err := s.ReverseIncome(ctx, "r1", at(2025, 4, 2))
	if err != nil || rv.Outcome.Tax != -896*rub || rv.Outcome.Withheld != -896*rub || rv.Year != 2025 {
		t.Fatalf("reverse: %+v %v", rv, err)
	}
	if _, err := f.db.Exec(ctx, `UPDATE tax_income SET tax = 0 WHERE ref = 'r1'`); err == nil {
		t.Fatal("a recorded row was rewritten")
	}
	april, err := s.CloseMonth(ctx, taxdb.Scope{Agent: "client", ClientID: f.clients[0]}, 2025, 4, sys)
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.RunReport(ctx, taxStaff(f.clients[0]), april)
	if err != nil || len(run.Lines) != 1 || run.Total.Tax != -896*rub || run.Periods[0].Withheld != -896*rub {
		t.Fatalf("april run: %+v %v", run, err)
	}
	if _, err := s.RunReport(ctx, taxStaff(f.clients[1]), april); !errors.Is(err, taxdb.ErrNotFound) {
		t.Fatalf("another client's staff read a run: %v", err)
	}
	// the ledger: 896 ₽ withheld into the client's tax account, and refunded
	var taxBalance int64
	var postings int
	if err := f.db.QueryRow(ctx, `SELECT a.balance_kopecks, (SELECT count(*) FROM ledger_postings p WHERE p.account_id = a.id)
		FROM ledger_accounts a WHERE kind = 'tax' AND client_id = $1`, f.clients[0]).Scan(&taxBalance, &postings); err != nil || taxBalance != 0 || postings != 2 {
		t.Fatalf("tax account: balance %d, %d postings, %v", taxBalance, postings, err)
	}
	if _, err := s.ReverseIncome(ctx, "nope", at(2025, 4, 2)); !errors.Is(err, taxdb.ErrNoIncome) {
		t.Fatalf("reverse unknown: %v", err)
	}
}

func TestProfileSealedMaskedAuditedVersioned(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	p := f.participants(t, 0, 1)[0]
	s := f.store
	me := audit.Actor{Kind: audit.Participant, ID: p}
	d := tax.LegalData{LastName: "Секретова", FirstName: "Анна", BirthDate: "1990-05-01", INN: "500100732259",
		Citizenship: "643", Residency: tax.Resident, DocType: "21", DocSeries: "4509", DocNumber: "123456", DocIssued: "2010-06-01",
		Address: "Москва, ул. Тайная, 1"}
	bad := d
	bad.INN = "500100732258"
	if _, err := s.SaveProfile(ctx, f.clients[0], p, bad, me); err == nil || strings.Contains(err.Error(), "500100732258") {
		t.Fatalf("bad ИНН: %v", err)
	}
	if _, err := s.SaveProfile(ctx, f.clients[1], p, d, me); !errors.Is(err, taxdb.ErrNotFound) {
		t.Fatalf("saving under another client: %v", err)
	}
	v1, err := s.SaveProfile(ctx, f.clients[0], p, d, me)
	if err != nil || v1.Version != 1 {
		t.Fatal(v1, err)
	}
	var sealed string
	if err := f.db.QueryRow(ctx, `SELECT sealed FROM tax_profile_versions WHERE participant_id = $1`, p).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"Секретова", "500100732259", "123456", "Тайная"} {
		if strings.Contains(sealed, secret) {
			t.Fatalf("sealed row holds %q", secret)
		}
	}
	var logged int
	if err := f.db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE after::text LIKE '%500100732259%' OR after::text LIKE '%Секретова%'`).Scan(&logged); err != nil || logged != 0 {
		t.Fatalf("audit holds legal data: %d %v", logged, err)
	}
	masked, err := s.StaffProfile(ctx, access.Staff{UserID: 9, ClientID: f.clients[0], Role: access.ClientManager}, p)
	if err != nil || masked.Full != nil || masked.Masked.INN != "**********59" || strings.Contains(masked.Masked.Name, "Секретова") {
		t.Fatalf("masked: %+v %v", masked, err)
	}
	if _, err := s.StaffProfile(ctx, taxStaff(f.clients[1]), p); !errors.Is(err, taxdb.ErrNotFound) {
		t.Fatalf("another client's staff: %v", err)
	}
	if _, err := s.StaffFullProfile(ctx, access.Staff{UserID: 9, ClientID: f.clients[0], Role: access.ClientManager},
		audit.StaffActor(9, "m", ""), p, "check"); !errors.Is(err, access.ErrForbidden) {
		t.Fatalf("manager read full data: %v", err)
	}
	full, err := s.StaffFullProfile(ctx, taxStaff(f.clients[0]), audit.StaffActor(1, "tax", ""), p, "6-НДФЛ")
	if err != nil || full.Full == nil || full.Full.INN != d.INN {
		t.Fatalf("full: %+v %v", full, err)
	}
	var reads int
	if err := f.db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'tax_profile.read' AND object_id = $1`, fmt.Sprint(p)).Scan(&reads); err != nil || reads != 1 {
		t.Fatalf("audited reads %d %v", reads, err)
	}
	// before a filed report a correction rewrites the version; after, it starts the next
	d.Address = "Москва, ул. Новая, 2"
	if v, err := s.SaveProfile(ctx, f.clients[0], p, d, me); err != nil || v.Version != 1 {
		t.Fatalf("unfiled correction: %+v %v", v, err)
	}
	if _, err := s.RecordIncome(ctx, taxdb.Income{ClientID: f.clients[0], ProgramID: f.programs[0], ParticipantID: p, Ref: "x", At: at(2025, 1, 5), Value: 5000 * rub}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseMonth(ctx, taxdb.Scope{Agent: "client", ClientID: f.clients[0]}, 2025, 1, sys); err != nil {
		t.Fatal(err)
	}
	d.LastName = "Иванова"
	v2, err := s.SaveProfile(ctx, f.clients[0], p, d, me)
	if err != nil || v2.Version != 2 {
		t.Fatalf("filed correction: %+v %v", v2, err)
	}
	if got, err := s.Profile(ctx, p); err != nil || got.Data.LastName != "Иванова" || got.Version != 2 {
		t.Fatalf("current: %+v %v", got, err)
	}
	// fmt and slog never print the data
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("profile", "data", d)
	if out := buf.String() + fmt.Sprintf("%v %+v %#v", d, d, d); strings.Contains(out, "Иванова") || strings.Contains(out, d.INN) {
		t.Fatalf("printed: %s", out)
	}
}

func TestConsentsAndGate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	p := f.participants(t, 0, 1)[0]
	s := f.store
	var shop int64
	if err := f.db.QueryRow(ctx, `INSERT INTO shops (client_id, code, name) VALUES ($1, 's1', 'S') RETURNING id`, f.clients[0]).Scan(&shop); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(ctx, `UPDATE participants SET shop_id = $1 WHERE id = $2`, shop, p); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSettings(ctx, taxdb.Settings{ProgramID: f.programs[0], ClientID: f.clients[0], Agent: "client", Mode: tax.Notify,
		Kind: tax.Advertising, Requirements: tax.Requirements{PersonalData: true, Offer: true, Employer: true}}, sys); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSettings(ctx, taxdb.Settings{ProgramID: f.programs[1], ClientID: f.clients[0], Agent: "client", Mode: tax.Notify, Kind: tax.Standard}, sys); !errors.Is(err, taxdb.ErrNotFound) {
		t.Fatalf("settings on another client's program: %v", err)
	}
	lack, err := s.Lacking(ctx, f.clients[0], f.programs[0], p)
	if err != nil || len(lack) != 3 {
		t.Fatalf("lacking %v %v", lack, err)
	}
	me := audit.Actor{Kind: audit.Participant, ID: p}
	pd, err := s.Grant(ctx, taxdb.Consent{ClientID: f.clients[0], Kind: tax.ConsentPersonalData, ParticipantID: p, TextVersion: "pd-2025.1",
		Channel: "app", Evidence: "tap on screen consent/pd v2025.1, ip 10.0.0.1"}, me)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := s.Grant(ctx, taxdb.Consent{ClientID: f.clients[0], Kind: tax.ConsentPersonalData, ParticipantID: p, TextVersion: "pd-2025.1",
		Channel: "app", Evidence: "again"}, me); err != nil || again.ID != pd.ID {
		t.Fatalf("second grant: %+v %v", again, err)
	}
	if _, err := s.Grant(ctx, taxdb.Consent{ClientID: f.clients[0], Kind: tax.ConsentOffer, ParticipantID: p, ProgramID: f.programs[0],
		TextVersion: "rules-1", Channel: "app", Evidence: "accepted"}, me); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Grant(ctx, taxdb.Consent{ClientID: f.clients[0], Kind: tax.ConsentEmployer, ShopID: shop, TextVersion: "emp-1",
		Channel: "paper", Evidence: "scan 2025-01-10 #77", GivenBy: "ООО Магазин, директор"}, audit.StaffActor(5, "mgr", "")); err != nil {
		t.Fatal(err)
	}
	if lack, err := s.Lacking(ctx, f.clients[0], f.programs[0], p); err != nil || len(lack) != 0 {
		t.Fatalf("after grants: %v %v", lack, err)
	}
	if err := s.Withdraw(ctx, f.clients[0], p, pd.ID, "app", me); err != nil {
		t.Fatal(err)
	}
	if lack, err := s.Lacking(ctx, f.clients[0], f.programs[0], p); err != nil || len(lack) != 1 || lack[0] != tax.ConsentPersonalData {
		t.Fatalf("after withdrawal: %v %v", lack, err)
	}
	if err := s.Withdraw(ctx, f.clients[1], 0, pd.ID, "app", sys); !errors.Is(err, taxdb.ErrNotFound) {
		t.Fatalf("withdraw from another client: %v", err)
	}
	if cs, err := s.Consents(ctx, f.clients[0], p); err != nil || len(cs) != 3 {
		t.Fatalf("consents %d %v", len(cs), err)
	}

	// redemption's port: delivered and reversed in its transaction, replayed harmlessly
	for i := 0; i < 2; i++ {
		if err := postgres.WithTx(ctx, f.db, func(tx pgx.Tx) error {
			return s.Delivered(ctx, tx, "R-1", f.clients[0], f.programs[0], p, 700*rub, at(2025, 4, 1))
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		if err := postgres.WithTx(ctx, f.db, func(tx pgx.Tx) error { return s.Reversed(ctx, tx, "R-1") }); err != nil {
			t.Fatal(err)
		}
	}
	if err := postgres.WithTx(ctx, f.db, func(tx pgx.Tx) error { return s.Reversed(ctx, tx, "never-delivered") }); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := f.db.QueryRow(ctx, `SELECT count(*) FROM tax_income WHERE ref = 'redemption:R-1'`).Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("redemption rows %d %v", rows, err)
	}

	// the gate: 3 000 ₽ received, 1 500 ₽ more crosses the exemption
	gate := tax.Gate{Store: s, Now: func() time.Time { return at(2025, 6, 1) }}
	if _, err := s.RecordIncome(ctx, taxdb.Income{ClientID: f.clients[0], ProgramID: f.programs[0], ParticipantID: p, Ref: "g1", At: at(2025, 5, 1), Value: 3000 * rub}); err != nil {
		t.Fatal(err)
	}
	for value, want := range map[money.Kopecks]bool{1000 * rub: false, 1500 * rub: true} {
		if got, err := gate.NeedsTaxProfile(ctx, f.clients[0], p, value); err != nil || got != want {
			t.Errorf("gate(%s) = %v %v, want %v", value, got, err, want)
		}
	}
	if _, err := s.SaveProfile(ctx, f.clients[0], p, tax.LegalData{LastName: "А", FirstName: "Б", BirthDate: "1990-01-01",
		Citizenship: "643", Residency: tax.Resident, DocType: "21", DocNumber: "1", DocIssued: "2010-01-01"}, me); err != nil {
		t.Fatal(err)
	}
	if got, err := gate.NeedsProfile(ctx, p, 1500*rub); err != nil || got {
		t.Errorf("gate with a complete profile = %v %v", got, err)
	}
}

// TestYearOfRewards generates a year of rewards and reversals for 1 000
// participants across two clients, closes the monthly runs (and January of
// the next year, which carries late reversals of December), and checks
// that the runs add up to the annual statements exactly, per person and in
// total, that tenants are isolated, and that a full run logs no PII.
//
// Not parallel: it captures the process's default logger.
func TestYearOfRewards(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	var logs bytes.Buffer
	var logMu sync.Mutex
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	s := f.store
	if err := s.SaveSettings(ctx, taxdb.Settings{ProgramID: f.programs[0], ClientID: f.clients[0], Agent: "client", Mode: tax.GrossUp,
		Kind: tax.Standard}, sys); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSettings(ctx, taxdb.Settings{ProgramID: f.programs[1], ClientID: f.clients[1], Agent: "client", Mode: tax.Notify,
		Kind: tax.Advertising}, sys); err != nil {
		t.Fatal(err)
	}
	people := [2][]int64{f.participants(t, 0, 700), f.participants(t, 1, 300)}
	rng := rand.New(rand.NewPCG(2025, 18))
	type person struct {
		client int
		id     int64
		name   string
		inn    string
	}
	var all []person
	var secrets []string
	for c := range people {
		for i, id := range people[c] {
			pp := person{client: c, id: id, name: fmt.Sprintf("Тестфамилия%04d", len(all)), inn: innFor(rng)}
			all = append(all, pp)
			if i%3 != 0 { // a third never fills the profile
				res := tax.Resident
				if i%17 == 0 {
					res = tax.NonResident
				}
				if _, err := s.SaveProfile(ctx, f.clients[c], id, tax.LegalData{LastName: pp.name, FirstName: "Имя", BirthDate: "1991-02-03",
					INN: pp.inn, Citizenship: "643", Residency: res, DocType: "21", DocSeries: "4500", DocNumber: fmt.Sprintf("%06d", i),
					DocIssued: "2011-01-01", Address: "Город, улица " + pp.name}, audit.Actor{Kind: audit.Participant, ID: id}); err != nil {
					t.Fatal(err)
				}
				secrets = append(secrets, pp.name, pp.inn)
			}
		}
	}
	type ev struct {
		p       person
		at      time.Time
		value   money.Kopecks
		ref     string
		reverse bool
	}
	var evs []ev
	for _, pp := range all {
		n := 1 + rng.IntN(8)
		for k := 0; k < n; k++ {
			e := ev{p: pp, at: time.Date(2025, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), 0, 0, 0, msk),
				value: money.Kopecks(100*(200+rng.Int64N(3000)) + rng.Int64N(100)), ref: fmt.Sprintf("p%d-%d", pp.id, k)}
			evs = append(evs, e)
			if rng.IntN(10) == 0 {
				// a reversal weeks later — sometimes in a later month, sometimes next January
				evs = append(evs, ev{p: pp, at: e.at.AddDate(0, 0, 5+rng.IntN(40)), ref: e.ref, reverse: true})
			}
		}
	}
	// events happen in time order per participant; deliver in 4 workers by participant
	byPerson := map[int64][]ev{}
	for _, e := range evs {
		byPerson[e.p.id] = append(byPerson[e.p.id], e)
	}
	started := time.Now()
	work := make(chan []ev)
	var wg sync.WaitGroup
	var firstErr error
	var errMu sync.Mutex
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for list := range work {
				sort.SliceStable(list, func(i, j int) bool { return list[i].at.Before(list[j].at) })
				for _, e := range list {
					var err error
					if e.reverse {
						_, err = s.ReverseIncome(ctx, e.ref, e.at)
					} else {
						_, err = s.RecordIncome(ctx, taxdb.Income{ClientID: f.clients[e.p.client], ProgramID: f.programs[e.p.client],
							ParticipantID: e.p.id, Ref: e.ref, At: e.at, Value: e.value})
					}
					if err != nil {
						errMu.Lock()
						firstErr = err
						errMu.Unlock()
						return
					}
				}
			}
		}()
	}
	for _, list := range byPerson {
		work <- list
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	elapsed := time.Since(started)
	t.Logf("%d deliveries and reversals recorded by 4 workers in %s (%.0f/s)", len(evs), elapsed.Round(time.Millisecond), float64(len(evs))/elapsed.Seconds())
	for c := range f.clients {
		sc := taxdb.Scope{Agent: "client", ClientID: f.clients[c]}
		runSums := map[int64]*sums{}
		var total sums
		for m := time.January; m <= 12; m++ {
			id, err := s.CloseMonth(ctx, sc, 2025, m, sys)
			if err != nil {
				t.Fatal(err)
			}
			addRun(t, s, f.clients[c], id, runSums, &total)
		}
		for m := time.January; m <= 2; m++ { // late reversals of December
			id, err := s.CloseMonth(ctx, sc, 2026, m, sys)
			if err != nil {
				t.Fatal(err)
			}
			addRun(t, s, f.clients[c], id, runSums, &total)
		}
		var open int
		if err := f.db.QueryRow(ctx, `SELECT count(*) FROM tax_income WHERE client_id = $1 AND run_id IS NULL`, f.clients[c]).Scan(&open); err != nil || open != 0 {
			t.Fatalf("rows left out of the runs: %d %v", open, err)
		}
		sts, err := s.Statements(ctx, taxStaff(f.clients[c]), audit.StaffActor(1, "tax", ""), sc, 2025)
		if err != nil {
			t.Fatal(err)
		}
		if len(sts) != len(people[c]) {
			t.Fatalf("client %d: %d statements for %d people", c, len(sts), len(people[c]))
		}
		var stTotal sums
		for _, st := range sts {
			if st.ClientID != f.clients[c] {
				t.Fatalf("statement of another client's participant %d", st.ParticipantID)
			}
			rs := runSums[st.ParticipantID]
			if rs == nil {
				rs = &sums{}
			}
			var months money.Kopecks
			for _, m := range st.Months {
				months += m.Income
			}
			for _, m := range st.Months {
				if m.Income < 0 {
					t.Fatalf("participant %d: month %d income %s: a reversal must lower the month the reward came in", st.ParticipantID, m.Month, m.Income)
				}
			}
			if rs.income != st.Income || months != st.Income || rs.tax != st.Computed || rs.withheld != st.Withheld ||
				rs.notWithheld != st.NotWithheld || st.Computed != st.Assessment.Tax() {
				t.Fatalf("participant %d: runs %+v, statement income %s (months %s) computed %s assessed %s withheld %s not %s",
					st.ParticipantID, *rs, st.Income, months, st.Computed, st.Assessment.Tax(), st.Withheld, st.NotWithheld)
			}
			stTotal.income += st.Income
			stTotal.tax += st.Computed
			stTotal.withheld += st.Withheld
			stTotal.notWithheld += st.NotWithheld
		}
		if stTotal != total || total.tax <= 0 {
			t.Fatalf("client %d: runs total %+v, statements %+v", c, total, stTotal)
		}
		var taxAccount money.Kopecks
		if err := f.db.QueryRow(ctx, `SELECT COALESCE(sum(balance_kopecks), 0) FROM ledger_accounts WHERE kind = 'tax' AND client_id = $1`,
			f.clients[c]).Scan(&taxAccount); err != nil || taxAccount != total.withheld {
			t.Fatalf("client %d: tax account %s, withheld %s (%v)", c, taxAccount, total.withheld, err)
		}
		t.Logf("client %d: %d people, income %s, tax %s, withheld %s, not withheld %s", c, len(sts), total.income, total.tax, total.withheld, total.notWithheld)
		// exports build, and the other client's staff see nothing
		tbl := taxdb.StatementsTable(sts, tax.Rules2025)
		if _, err := tbl.XLSX(); err != nil {
			t.Fatal(err)
		}
		// 6-НДФЛ section 2 for the year (rows dated in 2025) adds up to the events of the year
		six, err := s.SixNDFL(ctx, taxStaff(f.clients[c]), sc, 2025, 4)
		if err != nil {
			t.Fatalf("6-НДФЛ: %v", err)
		}
		var sec2 sums
		for _, r := range six.Rows {
			if r[0] != "2" {
				continue
			}
			for i, dst := range []*money.Kopecks{&sec2.income, nil, nil, &sec2.tax, &sec2.withheld, &sec2.notWithheld} {
				if dst == nil {
					continue
				}
				v, err := money.Parse(strings.ReplaceAll(r[4+i], ",", "."))
				if err != nil {
					t.Fatalf("6-НДФЛ cell %q: %v", r[4+i], err)
				}
				*dst += v
			}
		}
		var want sums
		if err := f.db.QueryRow(ctx, `SELECT sum(income), sum(tax), sum(withheld), sum(not_withheld) FROM tax_income
			WHERE client_id = $1 AND tax_year = 2025 AND local_date < '2026-01-01'`, f.clients[c]).
			Scan(&want.income, &want.tax, &want.withheld, &want.notWithheld); err != nil {
			t.Fatal(err)
		}
		if sec2 != want {
			t.Fatalf("client %d: 6-НДФЛ section 2 %+v, events %+v\n%v", c, sec2, want, six.Rows)
		}
		other := taxStaff(f.clients[1-c])
		if _, err := s.Statements(ctx, other, audit.StaffActor(1, "tax", ""), sc, 2025); !errors.Is(err, taxdb.ErrNotFound) {
			t.Fatalf("other client's statements: %v", err)
		}
		if _, err := s.YearToDate(ctx, other, sc, 2025, false); !errors.Is(err, taxdb.ErrNotFound) {
			t.Fatalf("other client's YTD: %v", err)
		}
		if _, err := s.SixNDFL(ctx, other, sc, 2025, 4); !errors.Is(err, taxdb.ErrNotFound) {
			t.Fatalf("other client's 6-НДФЛ: %v", err)
		}
		if runs, err := s.Runs(ctx, operator, sc); err != nil || len(runs) != 14 {
			t.Fatalf("operator runs: %d %v", len(runs), err)
		}
		missing, err := s.YearToDate(ctx, taxStaff(f.clients[c]), sc, 2025, true)
		if err != nil || len(missing) == 0 {
			t.Fatalf("missing profiles: %d %v", len(missing), err)
		}
		for _, m := range missing {
			if m.Complete {
				t.Fatalf("complete profile listed as missing")
			}
		}
	}
	if rep, err := ledgerdb.New(f.db).Check(ctx); err != nil || !rep.OK() {
		t.Fatalf("ledger check: %+v %v", rep, err)
	}
	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	for _, sec := range secrets {
		if strings.Contains(out, sec) {
			t.Fatalf("the log holds %q", sec)
		}
	}
	var auditPII int
	if err := f.db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE after::text ~ 'Тестфамилия' OR before::text ~ 'Тестфамилия'`).Scan(&auditPII); err != nil || auditPII != 0 {
		t.Fatalf("audit holds names: %d %v", auditPII, err)
	}
}

type sums struct{ income, tax, withheld, notWithheld money.Kopecks }

func addRun(t *testing.T, s *taxdb.Store, client int64, id int64, per map[int64]*sums, total *sums) {
	t.Helper()
	run, err := s.RunReport(context.Background(), taxStaff(client), id)
	if err != nil {
		t.Fatal(err)
	}
	// the 2026 January run may carry 2025 corrections only here (no 2026 income)
	for _, l := range run.Lines {
		x := per[l.ParticipantID]
		if x == nil {
			x = &sums{}
			per[l.ParticipantID] = x
		}
		x.income += l.Income
		x.tax += l.Tax
		x.withheld += l.Withheld
		x.notWithheld += l.NotWithheld
		total.income += l.Income
		total.tax += l.Tax
		total.withheld += l.Withheld
		total.notWithheld += l.NotWithheld
	}
	if _, err := taxdb.PaymentRegistry(run).XLSX(); err != nil {
		t.Fatal(err)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// innFor returns a random valid personal ИНН (check digits of приказ ФНС ММВ-7-6/435@).
func innFor(rng *rand.Rand) string {
	d := make([]int, 12)
	for i := 0; i < 10; i++ {
		d[i] = rng.IntN(10)
	}
	d[0] = 1 + rng.IntN(9)
	w1 := []int{7, 2, 4, 10, 3, 5, 9, 4, 6, 8}
	w2 := []int{3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8}
	sum := 0
	for i, w := range w1 {
		sum += d[i] * w
	}
	d[10] = sum % 11 % 10
	sum = 0
	for i, w := range w2 {
		sum += d[i] * w
	}
	d[11] = sum % 11 % 10
	var b strings.Builder
	for _, x := range d {
		b.WriteByte(byte('0' + x))
	}
	return b.String()
}

// TestSixNDFLBands: a resident's income above 2.4 million ₽ splits into the
// 13 % and 15 % lines of section 2, a non-resident's goes to 30 %.
func TestSixNDFLBands(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	ps := f.participants(t, 0, 2)
	s := f.store
	if _, err := s.SaveProfile(ctx, f.clients[0], ps[1], tax.LegalData{Residency: tax.NonResident}, audit.Actor{Kind: audit.Participant, ID: ps[1]}); err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		if _, err := s.RecordIncome(ctx, taxdb.Income{ClientID: f.clients[0], ProgramID: f.programs[0], ParticipantID: p,
			Ref: fmt.Sprint("big-", i), At: at(2025, 2, 3), Value: 2_504_000 * rub}); err != nil {
			t.Fatal(err)
		}
	}
	six, err := s.SixNDFL(ctx, taxStaff(f.clients[0]), taxdb.Scope{Agent: "client", ClientID: f.clients[0]}, 2025, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"2", "13%", "2720", "1", "2404000,00", "4000,00", "2400000,00", "312000,00", "0,00", "312000,00"},
		{"2", "15%", "2720", "1", "100000,00", "0,00", "100000,00", "15000,00", "0,00", "15000,00"},
		{"2", "30%", "2720", "1", "2504000,00", "4000,00", "2500000,00", "750000,00", "0,00", "750000,00"},
	}
	if len(six.Rows) != len(want) {
		t.Fatalf("rows %v", six.Rows)
	}
	for i := range want {
		if strings.Join(six.Rows[i], ";") != strings.Join(want[i], ";") {
			t.Errorf("row %d: %v, want %v", i, six.Rows[i], want[i])
		}
	}
	if _, err := s.SixNDFL(ctx, taxStaff(f.clients[0]), taxdb.Scope{Agent: "client", ClientID: f.clients[0]}, 2025, 5); err == nil {
		t.Error("quarter 5 accepted")
	}
}
