package ledgerdb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
)

type fixture struct {
	db           *pgxpool.Pool
	client       int64
	program      int64
	participants []int64
}

func setup(t *testing.T, nParticipants int, crediting string, budget int64) fixture {
	t.Helper()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	f := fixture{db: db}
	must(t, db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Acme') RETURNING id`).Scan(&f.client))
	must(t, db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, budget_kopecks, crediting)
		VALUES ($1, 'p1', 'P1', 'live', '2025-01-01', '2025-12-31', $2, $3) RETURNING id`, f.client, budget, crediting).Scan(&f.program))
	for i := range nParticipants {
		var id int64
		must(t, db.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role) VALUES ($1, $2, 'seller') RETURNING id`,
			f.client, fmt.Sprintf("+7900%07d", i)).Scan(&id))
		f.participants = append(f.participants, id)
	}
	if budget > 0 {
		err := postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
			_, err := ledgerdb.SyncBudget(ctx, tx, f.program)
			return err
		})
		must(t, err)
	}
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func post(ctx context.Context, db *pgxpool.Pool, tr ledger.Transaction) (int64, error) {
	var id int64
	err := postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		var err error
		id, err = ledgerdb.Post(ctx, tx, tr)
		return err
	})
	return id, err
}

func credit(f fixture, participant, amount int64, key string) ledger.Transaction {
	return ledger.Transaction{IdempotencyKey: key, Kind: ledger.KindReceiptCredit, ClientID: f.client,
		ProgramID: f.program, ParticipantID: participant,
		Postings: ledger.Credit(f.client, f.program, participant, amount, false)}
}

func debit(f fixture, participant, amount int64, key string) ledger.Transaction {
	return ledger.Transaction{IdempotencyKey: key, Kind: "redemption", ClientID: f.client,
		ProgramID: f.program, ParticipantID: participant,
		Postings: []ledger.Posting{
			{Account: ledger.AvailableAccount(f.client, f.program, participant), AmountKopecks: -amount},
			{Account: ledger.Account{Kind: ledger.Redemption, ClientID: f.client}, AmountKopecks: amount},
		}}
}

func TestPostIdempotentAndOverdraft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, 1, "immediate", 10_000)
	p := f.participants[0]
	id1, err := post(ctx, f.db, credit(f, p, 3_000, "k1"))
	must(t, err)
	id2, err := post(ctx, f.db, credit(f, p, 3_000, "k1"))
	if !errors.Is(err, ledger.ErrAlreadyPosted) || id2 != id1 {
		t.Fatalf("second post: id %d err %v, want id %d ErrAlreadyPosted", id2, err, id1)
	}
	if _, err := post(ctx, f.db, credit(f, p, 7_001, "k2")); !errors.Is(err, ledger.ErrBudgetExhausted) {
		t.Fatalf("over budget: %v, want ErrBudgetExhausted", err)
	}
	if _, err := post(ctx, f.db, debit(f, p, 3_001, "d1")); !errors.Is(err, ledger.ErrInsufficientBalance) {
		t.Fatalf("overdraft: %v, want ErrInsufficientBalance", err)
	}
	// The failed posts left nothing behind, not even their transaction row:
	// the key can be used again.
	if _, err := post(ctx, f.db, debit(f, p, 3_000, "d1")); err != nil {
		t.Fatal(err)
	}
	// Unbalanced postings are refused before touching the database.
	bad := credit(f, p, 1, "bad")
	bad.Postings[0].AmountKopecks = -2
	if _, err := post(ctx, f.db, bad); !errors.Is(err, ledger.ErrUnbalanced) {
		t.Fatalf("unbalanced: %v", err)
	}
	// A failed post inside a larger transaction leaves that transaction usable.
	err = postgres.WithTx(ctx, f.db, func(tx pgx.Tx) error {
		if _, err := ledgerdb.Post(ctx, tx, credit(f, p, 1_000_000, "huge")); !errors.Is(err, ledger.ErrBudgetExhausted) {
			return fmt.Errorf("huge: %v", err)
		}
		_, err := ledgerdb.Post(ctx, tx, credit(f, p, 500, "small"))
		return err
	})
	must(t, err)
	b, err := ledgerdb.New(f.db).Balance(ctx, p)
	must(t, err)
	if b.AvailableKopecks != 500 || b.PendingKopecks != 0 {
		t.Fatalf("balance %+v, want 500 available", b)
	}
	rep, err := ledgerdb.New(f.db).Check(ctx)
	must(t, err)
	if !rep.OK() || rep.Transactions != 4 {
		t.Fatalf("check: %+v", rep)
	}
}

func TestCheckDetectsTampering(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, 1, "immediate", 10_000)
	_, err := post(ctx, f.db, credit(f, f.participants[0], 1_000, "k1"))
	must(t, err)
	s := ledgerdb.New(f.db)
	rep, err := s.Check(ctx)
	must(t, err)
	if !rep.OK() {
		t.Fatalf("clean ledger reported %v", rep.Discrepancies)
	}
	_, err = f.db.Exec(ctx, `UPDATE ledger_accounts SET balance_kopecks = balance_kopecks + 1 WHERE participant_id = $1`, f.participants[0])
	must(t, err)
	// The deferred trigger only sees postings, so a transaction without any
	// can be committed by hand: check must report it.
	_, err = f.db.Exec(ctx, `INSERT INTO ledger_transactions (idempotency_key, kind, client_id) VALUES ('empty', 'x', $1)`, f.client)
	must(t, err)
	rep, err = s.Check(ctx)
	must(t, err)
	if len(rep.Discrepancies) != 2 {
		t.Fatalf("discrepancies %v, want a balance mismatch and an empty transaction", rep.Discrepancies)
	}
	whats := map[string]bool{}
	for _, d := range rep.Discrepancies {
		whats[d.What] = true
	}
	if !whats["balance_mismatch"] || !whats["empty_transaction"] {
		t.Fatalf("discrepancies %v", rep.Discrepancies)
	}
}

// TestConcurrentPostings posts thousands of credits and debits from many
// goroutines against a budget that runs out, then proves every balance from
// the outcomes the callers saw, the budget, and ledger check.
func TestConcurrentPostings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const (
		participants = 12
		workers      = 16
		ops          = 2400
		budget       = 300_000 // runs out part-way
	)
	f := setup(t, participants, "immediate", budget)
	var (
		mu               sync.Mutex
		net              = map[int64]int64{}
		credited         int64
		exhausted, short atomic.Int64
		next             atomic.Int64
		wg               sync.WaitGroup
		errs             = make(chan error, workers)
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for {
				i := next.Add(1)
				if i > ops {
					return
				}
				p := f.participants[rng.IntN(participants)]
				amount := int64(1 + rng.IntN(400))
				var tr ledger.Transaction
				isCredit := rng.IntN(3) != 0
				if isCredit {
					tr = credit(f, p, amount, fmt.Sprintf("c%d", i))
				} else {
					tr = debit(f, p, amount, fmt.Sprintf("d%d", i))
				}
				// A retry of the same key must never post twice.
				for range 1 + rng.IntN(2) {
					_, err := post(ctx, f.db, tr)
					switch {
					case err == nil:
						mu.Lock()
						if isCredit {
							net[p] += amount
							credited += amount
						} else {
							net[p] -= amount
						}
						mu.Unlock()
					case errors.Is(err, ledger.ErrAlreadyPosted):
					case errors.Is(err, ledger.ErrBudgetExhausted):
						exhausted.Add(1)
					case errors.Is(err, ledger.ErrInsufficientBalance):
						short.Add(1)
					default:
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if exhausted.Load() == 0 || short.Load() == 0 {
		t.Fatalf("the test did not reach the limits: %d budget refusals, %d balance refusals", exhausted.Load(), short.Load())
	}
	s := ledgerdb.New(f.db)
	for _, p := range f.participants {
		b, err := s.Balance(ctx, p)
		must(t, err)
		if b.AvailableKopecks != net[p] || b.AvailableKopecks < 0 {
			t.Errorf("participant %d: balance %d, callers saw %d", p, b.AvailableKopecks, net[p])
		}
	}
	left, err := ledgerdb.AccountBalance(ctx, f.db, ledger.BudgetAccount(f.client, f.program))
	must(t, err)
	if credited > budget || left != budget-credited || left < 0 {
		t.Errorf("budget: credited %d of %d, %d left", credited, budget, left)
	}
	rep, err := s.Check(ctx)
	must(t, err)
	if !rep.OK() {
		t.Fatalf("ledger check: %v", rep.Discrepancies)
	}
	t.Logf("%d transactions, %d postings; %d budget refusals, %d balance refusals; credited %d of %d",
		rep.Transactions, rep.Postings, exhausted.Load(), short.Load(), credited, budget)
}

func TestReleasePendingAndHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, 1, "period_close", 100_000)
	p := f.participants[0]
	s := ledgerdb.New(f.db, notifydb.Notifier{})
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	for i, c := range []struct {
		on     string
		amount int64
	}{{"2025-01-10", 1_000}, {"2025-01-31", 2_000}, {"2025-02-01", 4_000}} {
		tr := ledger.Transaction{IdempotencyKey: fmt.Sprintf("r%d", i), Kind: ledger.KindReceiptCredit, ClientID: f.client,
			ProgramID: f.program, ParticipantID: p, OccurredOn: day(c.on), Memo: "покупка " + c.on,
			Postings: ledger.Credit(f.client, f.program, p, c.amount, true)}
		_, err := post(ctx, f.db, tr)
		must(t, err)
	}
	n, total, err := s.ReleasePending(ctx, f.program, day("2025-02-01"))
	must(t, err)
	if n != 1 || total != 3_000 {
		t.Fatalf("release: %d participants %d kopecks, want 1 and 3000", n, total)
	}
	// Idempotent.
	if n, total, err = s.ReleasePending(ctx, f.program, day("2025-02-01")); err != nil || n != 0 || total != 0 {
		t.Fatalf("second release: %d %d %v", n, total, err)
	}
	// A late receipt of January is released by the next run.
	_, err = post(ctx, f.db, ledger.Transaction{IdempotencyKey: "late", Kind: ledger.KindReceiptCredit, ClientID: f.client,
		ProgramID: f.program, ParticipantID: p, OccurredOn: day("2025-01-20"),
		Postings: ledger.Credit(f.client, f.program, p, 500, true)})
	must(t, err)
	if n, total, err = s.ReleaseDue(ctx, day("2025-02-03")); err != nil || n != 1 || total != 500 {
		t.Fatalf("late release: %d %d %v", n, total, err)
	}
	b, err := s.Balance(ctx, p)
	must(t, err)
	if b.AvailableKopecks != 3_500 || b.PendingKopecks != 4_000 {
		t.Fatalf("balance %+v", b)
	}
	// History: newest first, paged, with reasons.
	var all []ledger.Entry
	cursor := ""
	for range 10 {
		page, err := s.History(ctx, p, cursor, 2)
		must(t, err)
		all = append(all, page.Entries...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(all) != 6 {
		t.Fatalf("history has %d entries, want 6", len(all))
	}
	if all[0].Kind != ledger.KindRelease || all[0].AvailableKopecks != 500 || all[0].PendingKopecks != -500 || all[0].Reason == "" {
		t.Fatalf("newest entry %+v", all[0])
	}
	if all[5].PendingKopecks != 1_000 || all[5].Reason != "Начисление за чек: покупка 2025-01-10" {
		t.Fatalf("oldest entry %+v", all[5])
	}
	if _, err := s.History(ctx, p, "!!", 2); !errors.Is(err, ledgerdb.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
	rep, err := s.Check(ctx)
	must(t, err)
	if !rep.OK() {
		t.Fatal(rep.Discrepancies)
	}
}

func TestSyncBudget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, 0, "immediate", 10_000)
	sync := func() int64 {
		var n int64
		must(t, postgres.WithTx(ctx, f.db, func(tx pgx.Tx) error {
			var err error
			n, err = ledgerdb.SyncBudget(ctx, tx, f.program)
			return err
		}))
		return n
	}
	if n := sync(); n != 0 {
		t.Fatalf("resync funded %d", n)
	}
	_, err := f.db.Exec(ctx, `UPDATE programs SET budget_kopecks = 25000 WHERE id = $1`, f.program)
	must(t, err)
	if n := sync(); n != 15_000 {
		t.Fatalf("raise funded %d, want 15000", n)
	}
	left, err := ledgerdb.AccountBalance(ctx, f.db, ledger.BudgetAccount(f.client, f.program))
	must(t, err)
	funding, err := ledgerdb.AccountBalance(ctx, f.db, ledger.FundingAccount(f.client))
	must(t, err)
	if left != 25_000 || funding != -25_000 {
		t.Fatalf("budget %d funding %d", left, funding)
	}
}
