package points_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pointsdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// addProgram adds a program of e's client with its budget and rules (nil:
// none) and returns its id.
func (e *env) addProgram(code, status string, mechanics []string, r *rules.Rules, extra string, args ...any) int64 {
	e.t.Helper()
	ctx := context.Background()
	var id int64
	q := `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, budget_kopecks, mechanics)
		VALUES ($1, $2, $2, $3, '2020-01-01', '2099-12-31', 1000000, $4) RETURNING id`
	must(e.t, e.db.QueryRow(ctx, q, e.client, code, status, mechanics).Scan(&id))
	if extra != "" {
		_, err := e.db.Exec(ctx, `UPDATE programs SET `+extra+` WHERE id = $1`, append([]any{id}, args...)...)
		must(e.t, err)
	}
	must(e.t, postgres.WithTx(ctx, e.db, func(tx pgx.Tx) error {
		if _, err := ledgerdb.SyncBudget(ctx, tx, id); err != nil {
			return err
		}
		if r == nil {
			return nil
		}
		_, err := pointsdb.SaveRules(ctx, tx, id, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), *r)
		return err
	}))
	return id
}

type progResult struct {
	status string
	points int64
	reason string
}

func (e *env) results(id string) map[int64]progResult {
	e.t.Helper()
	rows, err := e.db.Query(context.Background(), `SELECT program_id, status, points_kopecks, reason
		FROM receipt_program_results WHERE receipt_id = $1`, id)
	must(e.t, err)
	out := map[int64]progResult{}
	for rows.Next() {
		var pid int64
		var r progResult
		must(e.t, rows.Scan(&pid, &r.status, &r.points, &r.reason))
		out[pid] = r
	}
	must(e.t, rows.Err())
	return out
}

func (e *env) credits(id string) map[int64]int64 {
	e.t.Helper()
	rows, err := e.db.Query(context.Background(), `SELECT program_id, count(*) FROM ledger_transactions
		WHERE receipt_id = $1 AND kind = 'receipt_credit' GROUP BY program_id`, id)
	must(e.t, err)
	out := map[int64]int64{}
	for rows.Next() {
		var pid, n int64
		must(e.t, rows.Scan(&pid, &n))
		out[pid] = n
	}
	must(e.t, rows.Err())
	return out
}

// Two live receipt programs: one receipt is credited once in each, by each
// program's rules, and explained per program; a registry-only program and a
// program the seller's chain is not eligible for take nothing.
func TestReceiptCreditedInEveryLiveProgram(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "immediate", 1_000_000, testRules())
	second := rules.Rules{Earn: []rules.Earn{{PercentBP: 1000}}} // 10 % of every program SKU
	p2 := e.addProgram("second", "live", []string{"receipts"}, &second, "")
	reg := e.addProgram("registry-only", "live", []string{"registries"}, &second, "")
	other := e.addProgram("other-chain", "live", []string{"receipts"}, &second, "eligible_chains = $2", []string{"Лента"})
	id := e.newVerified(1, yesterday(), saleItems())
	r := e.process(id)
	// Second program: 10 % of 900 ₽ × 1.00 and of 800 ₽ × 1.40.
	const secondKopecks = 9000 + 11200
	if r.Status != receipt.Credited || r.PointsKopecks != saleKopecks+secondKopecks {
		t.Fatalf("receipt %s/%s %d, want credited %d", r.Status, r.StatusReason, r.PointsKopecks, saleKopecks+secondKopecks)
	}
	if r.ProgramID == nil || *r.ProgramID != e.program {
		t.Errorf("receipt program %v, want the first that credited, %d", r.ProgramID, e.program)
	}
	if r.Items[0].PointsKopecks != 10000+9000 || r.Items[1].PointsKopecks != 5600+11200 || r.Items[2].PointsKopecks != 0 {
		t.Errorf("items %+v", r.Items)
	}
	res := e.results(id)
	if res[e.program] != (progResult{"credited", saleKopecks, "points_credited"}) ||
		res[p2] != (progResult{"credited", secondKopecks, "points_credited"}) || len(res) != 2 {
		t.Fatalf("results %+v", res)
	}
	if _, ok := res[reg]; ok {
		t.Error("a registry-only program evaluated a receipt")
	}
	if _, ok := res[other]; ok {
		t.Error("a program the seller's chain is not eligible for evaluated the receipt")
	}
	if c := e.credits(id); c[e.program] != 1 || c[p2] != 1 || len(c) != 2 {
		t.Fatalf("ledger credits per program %v", c)
	}
	if b := e.balance(); b.AvailableKopecks != saleKopecks+secondKopecks {
		t.Fatalf("balance %+v", b)
	}
	// Processing again (a retried task, or the receipt forced back to
	// verified) credits nothing twice: one credit per (receipt, program).
	must(t, e.receipts.Update(context.Background(), id, func(_ context.Context, _ pgx.Tx, x *receipt.Receipt) error {
		x.Status = receipt.Verified
		return nil
	}))
	e.process(id)
	if c := e.credits(id); c[e.program] != 1 || c[p2] != 1 {
		t.Fatalf("after reprocessing, ledger credits per program %v", c)
	}
	if b := e.balance(); b.AvailableKopecks != saleKopecks+secondKopecks {
		t.Fatalf("after reprocessing, balance %+v", b)
	}
	e.checkLedger()
}

// A program's caps count only what that program paid: the second
// program's per-day cap is not used up by the first program's points.
func TestSeveralProgramsCapsPerProgram(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "immediate", 1_000_000, testRules())
	capped := rules.Rules{Earn: []rules.Earn{{PercentBP: 1000}}, Caps: rules.Caps{ParticipantDay: 25000}}
	p2 := e.addProgram("capped", "live", []string{"receipts"}, &capped, "")
	day := yesterday()
	first := e.process(e.newVerified(1, day, saleItems()))
	second := e.process(e.newVerified(1, day.Add(time.Hour), saleItems()))
	r1, r2 := e.results(first.ID), e.results(second.ID)
	if r1[p2].points != 20200 || r2[p2].points != 25000-20200 || r2[e.program].points != saleKopecks {
		t.Fatalf("first %+v, second %+v", r1, r2)
	}
}

// With no receipt program for the seller (only a registry program live),
// the receipt keeps the old outcome: rejected, no program.
func TestRegistryOnlyProgramNeverTakesReceipts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "immediate", 1_000_000, testRules())
	_, err := e.db.Exec(context.Background(), `UPDATE programs SET mechanics = '{registries}' WHERE id = $1`, e.program)
	must(t, err)
	r := e.process(e.newVerified(1, yesterday(), saleItems()))
	if r.Status != receipt.Rejected || r.StatusReason != "no_program" {
		t.Fatalf("receipt %s/%s, want rejected/no_program", r.Status, r.StatusReason)
	}
}

// A program in test credits only testers; live and test together credit a
// tester in both.
func TestTestProgramOnlyForTesters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "immediate", 1_000_000, testRules())
	tr := rules.Rules{Earn: []rules.Earn{{FixedPerUnitKopecks: 100}}}
	p2 := e.addProgram("pilot", "test", []string{"receipts"}, &tr, "")
	r := e.process(e.newVerified(1, yesterday(), saleItems()))
	if res := e.results(r.ID); len(res) != 1 || res[e.program].status != "credited" {
		t.Fatalf("non-tester results %+v", res)
	}
	_, err := e.db.Exec(context.Background(), `UPDATE participants SET is_tester = true WHERE id = $1`, e.participant)
	must(t, err)
	r = e.process(e.newVerified(1, yesterday(), saleItems()))
	if res := e.results(r.ID); len(res) != 2 || res[p2].points != 200+140 {
		t.Fatalf("tester results %+v", res)
	}
}

// Two programs, one without rules: the other credits and the receipt is
// credited; both without rules: a moderator decides.
func TestSeveralProgramsWithoutRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "immediate", 1_000_000, testRules())
	p2 := e.addProgram("norules", "live", []string{"receipts"}, nil, "")
	r := e.process(e.newVerified(1, yesterday(), saleItems()))
	res := e.results(r.ID)
	if r.Status != receipt.Credited || res[p2].status != "needs_review" || res[p2].reason != "program_rules_missing" {
		t.Fatalf("receipt %s, results %+v", r.Status, res)
	}
	_, err := e.db.Exec(context.Background(), `UPDATE programs SET status = 'closed' WHERE id = $1`, e.program)
	must(t, err)
	e.addProgram("norules2", "live", []string{"receipts"}, nil, "")
	r = e.process(e.newVerified(1, yesterday(), saleItems()))
	if r.Status != receipt.NeedsReview || r.StatusReason != "program_rules_missing" {
		t.Fatalf("receipt %s/%s, want needs_review", r.Status, r.StatusReason)
	}
}

// A return of a sale credited in two programs takes back each program's
// share from that program's account into its budget: a partial return
// splits pro rata, the rest of the sale comes back whole, and a retried
// return reverses once.
func TestReturnOfSaleInSeveralPrograms(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, "immediate", 1_000_000, testRules())
	second := rules.Rules{Earn: []rules.Earn{{PercentBP: 1000}}}
	p2 := e.addProgram("second", "live", []string{"receipts"}, &second, "")
	items := saleItems()[:1] // two canisters of antifreeze: 100 ₽ + 90 ₽ of points
	sale := e.process(e.newVerified(1, yesterday(), items))
	if sale.Status != receipt.Credited || sale.PointsKopecks != 10000+9000 {
		t.Fatalf("sale %s/%s %d", sale.Status, sale.StatusReason, sale.PointsKopecks)
	}
	one := []receipt.Item{items[0]}
	one[0].QuantityMilli, one[0].SumKopecks = 1000, 45000
	ret := e.process(e.newVerified(2, yesterday(), one))
	if ret.Status != receipt.Credited || ret.StatusReason != "return_reversed" || ret.PointsKopecks != -9500 {
		t.Fatalf("partial return %s/%s %d", ret.Status, ret.StatusReason, ret.PointsKopecks)
	}
	perProgram := func() map[int64]int64 {
		rows, err := e.db.Query(ctx, `SELECT t.program_id, SUM(p.amount_kopecks) FROM ledger_transactions t
			JOIN ledger_postings p ON p.transaction_id = t.id JOIN ledger_accounts a ON a.id = p.account_id
			WHERE a.kind = 'participant_available' AND a.participant_id = $1 GROUP BY t.program_id`, e.participant)
		must(t, err)
		out := map[int64]int64{}
		for rows.Next() {
			var pid, v int64
			must(t, rows.Scan(&pid, &v))
			out[pid] = v
		}
		must(t, rows.Err())
		return out
	}
	if got := perProgram(); got[e.program] != 5000 || got[p2] != 4500 {
		t.Fatalf("after a partial return, per program %v", got)
	}
	// Retried from verified: nothing more is taken.
	_, err := e.db.Exec(ctx, `UPDATE receipts SET status = 'verified' WHERE id = $1`, ret.ID)
	must(t, err)
	if again := e.process(ret.ID); again.PointsKopecks != -9500 {
		t.Fatalf("retried return %d", again.PointsKopecks)
	}
	rest := e.process(e.newVerified(2, yesterday(), one))
	if rest.PointsKopecks != -9500 {
		t.Fatalf("second return %s/%s %d", rest.Status, rest.StatusReason, rest.PointsKopecks)
	}
	if got := perProgram(); got[e.program] != 0 || got[p2] != 0 {
		t.Fatalf("after the whole sale came back, per program %v", got)
	}
	e.checkLedger()
}
