package plandb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/plan"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
)

// Run is a period close run.
type Run struct {
	ID                  int64         `json:"id"`
	ClientID            int64         `json:"-"`
	ProgramID           int64         `json:"program_id"`
	Period              string        `json:"period"`
	Status              string        `json:"status"`
	TableVersion        int           `json:"table_version"`
	BasedOn             int64         `json:"based_on"`
	Participants        int           `json:"participants"`
	PayoutKopecks       money.Kopecks `json:"payout_kopecks"`
	CreditKopecks       money.Kopecks `json:"credit_kopecks"`
	DebitKopecks        money.Kopecks `json:"debit_kopecks"`
	BudgetKopecks       money.Kopecks `json:"budget_kopecks"`
	NeedsSecondApproval bool          `json:"needs_second_approval"`
	MadeBy              int64         `json:"made_by"`
	ApprovedBy          int64         `json:"approved_by"`
	CreatedAt           time.Time     `json:"created_at"`
	PostedAt            *time.Time    `json:"posted_at,omitempty"`
}

const runColumns = `id, client_id, program_id, period, status, table_version, based_on, participants, payout_kopecks, credit_kopecks,
	debit_kopecks, budget_kopecks, needs_second_approval, COALESCE(made_by, 0), COALESCE(approved_by, 0), created_at, posted_at`

func scanRun(r pgx.Row) (Run, error) {
	var x Run
	err := r.Scan(&x.ID, &x.ClientID, &x.ProgramID, &x.Period, &x.Status, &x.TableVersion, &x.BasedOn, &x.Participants, &x.PayoutKopecks,
		&x.CreditKopecks, &x.DebitKopecks, &x.BudgetKopecks, &x.NeedsSecondApproval, &x.MadeBy, &x.ApprovedBy, &x.CreatedAt, &x.PostedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return x, plan.ErrNotFound
	}
	return x, err
}

// Runs lists the close runs of a program's period, newest first (at most
// 100).
func (s *Store) Runs(ctx context.Context, clientID, programID int64, period plan.Period) ([]Run, error) {
	rows, err := s.db.Query(ctx, `SELECT `+runColumns+` FROM plan_close_runs
		WHERE client_id = $1 AND program_id = $2 AND period = $3 ORDER BY id DESC LIMIT 100`, clientID, programID, period.String())
	if err != nil {
		return nil, fmt.Errorf("plandb: runs: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Run, error) { return scanRun(r) })
}

// paidSQL: what earlier closes paid each participant of the period, with
// the versions and actual of the latest credit.
const paidSQL = `SELECT DISTINCT ON (participant_id) participant_id,
	sum(amount_kopecks) OVER (PARTITION BY participant_id), plan_version, table_version, actual_value
	FROM plan_credits WHERE program_id = $1 AND period = $2
	ORDER BY participant_id, id DESC`

// Preview computes a close of the program's period as of now and stores
// it as a run to approve: every participant with a plan (current
// versions), their actual, the tier reached, what it pays, what earlier
// closes paid and the difference to post, with the totals against the
// budget. It posts nothing.
func (s *Store) Preview(ctx context.Context, by Actor, clientID, programID int64, period plan.Period) (Run, error) {
	var run Run
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		if err := program(ctx, tx, clientID, programID); err != nil {
			return err
		}
		tv, err := latestTable(ctx, tx, clientID, programID, period)
		if err != nil {
			return err
		}
		if err := ensurePeriod(ctx, tx, clientID, programID, period); err != nil {
			return err
		}
		var basedOn int64
		if err := tx.QueryRow(ctx, `SELECT last_posted_run FROM plan_periods WHERE program_id = $1 AND period = $2`,
			programID, period.String()).Scan(&basedOn); err != nil {
			return err
		}
		// Current plan versions.
		rows, err := tx.Query(ctx, `SELECT DISTINCT ON (participant_id) participant_id, version, target
			FROM plan_targets WHERE program_id = $1 AND period = $2 ORDER BY participant_id, version DESC`, programID, period.String())
		if err != nil {
			return err
		}
		type tgt struct {
			version int
			target  int64
		}
		targets := map[int64]tgt{}
		var pids []int64
		var pid, target int64
		var version int
		if _, err := pgx.ForEachRow(rows, []any{&pid, &version, &target}, func() error {
			targets[pid] = tgt{version, target}
			pids = append(pids, pid)
			return nil
		}); err != nil {
			return err
		}
		as, err := actuals(ctx, tx, clientID, programID, period, nil)
		if err != nil {
			return err
		}
		paid := map[int64]plan.Paid{}
		rows, err = tx.Query(ctx, paidSQL, programID, period.String())
		if err != nil {
			return err
		}
		var p plan.Paid
		if _, err := pgx.ForEachRow(rows, []any{&pid, &p.Kopecks, &p.PlanVersion, &p.TableVer, &p.Value}, func() error {
			paid[pid] = p
			if _, ok := targets[pid]; !ok {
				// Paid before but no plan now cannot happen (plans are
				// never deleted); keep it settled against a zero plan.
				targets[pid] = tgt{p.PlanVersion, 0}
				pids = append(pids, pid)
			}
			return nil
		}); err != nil {
			return err
		}
		avail := map[int64]money.Kopecks{}
		rows, err = tx.Query(ctx, `SELECT participant_id, balance_kopecks FROM ledger_accounts
			WHERE kind = 'participant_available' AND client_id = $1 AND program_id = $2 AND participant_id = ANY($3)`, clientID, programID, pids)
		if err != nil {
			return err
		}
		var bal money.Kopecks
		if _, err := pgx.ForEachRow(rows, []any{&pid, &bal}, func() error { avail[pid] = bal; return nil }); err != nil {
			return err
		}
		var budget int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE((SELECT balance_kopecks FROM ledger_accounts
			WHERE kind = 'program_budget' AND client_id = $1 AND program_id = $2 AND participant_id IS NULL), 0)`, clientID, programID).Scan(&budget); err != nil {
			return err
		}

		n := len(pids)
		c := struct {
			pid, target, value, sales, points, attain, payout, paid, delta []int64
			pv, receipts, tier                                             []int32
			capped                                                         []bool
			reason                                                         []string
		}{}
		var payout money.Kopecks
		lines := make([]plan.Line, 0, n)
		for _, pid := range pids {
			t := targets[pid]
			a := as[pid]
			st := plan.Settle(tv.Table, t.target, a.in(tv.Table.Measure))
			l := plan.Delta(pid, t.version, tv.Version, st, paid[pid], avail[pid])
			lines = append(lines, l)
			payout += st.PayoutKopecks
			c.pid = append(c.pid, pid)
			c.target = append(c.target, t.target)
			c.value = append(c.value, st.Actual.Value)
			c.sales = append(c.sales, a.sales)
			c.points = append(c.points, a.points)
			c.receipts = append(c.receipts, int32(a.receipts))
			c.attain = append(c.attain, st.AttainmentBP)
			c.tier = append(c.tier, int32(st.Tier))
			c.payout = append(c.payout, int64(st.PayoutKopecks))
			c.capped = append(c.capped, st.Capped)
			c.paid = append(c.paid, int64(l.PaidKopecks))
			c.delta = append(c.delta, int64(l.DeltaKopecks))
			c.pv = append(c.pv, int32(t.version))
			c.reason = append(c.reason, l.Reason)
		}
		credit, debit := plan.Totals(lines)
		run, err = scanRun(tx.QueryRow(ctx, `INSERT INTO plan_close_runs (client_id, program_id, period, table_version, based_on,
				participants, payout_kopecks, credit_kopecks, debit_kopecks, budget_kopecks, needs_second_approval, made_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING `+runColumns,
			clientID, programID, period.String(), tv.Version, basedOn, n, payout, credit, debit, budget,
			plan.NeedsSecondApproval(s.threshold, credit), by.userID()))
		if err != nil {
			return fmt.Errorf("plandb: insert run: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO plan_close_lines (run_id, participant_id, plan_version, target, actual_value,
				sales_kopecks, points_kopecks, receipts, attainment_bp, tier, payout_kopecks, capped, paid_kopecks, delta_kopecks, reason)
			SELECT $1, * FROM unnest($2::bigint[], $3::int[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::int[],
				$9::bigint[], $10::int[], $11::bigint[], $12::bool[], $13::bigint[], $14::bigint[], $15::text[])`,
			run.ID, c.pid, c.pv, c.target, c.value, c.sales, c.points, c.receipts, c.attain, c.tier, c.payout, c.capped,
			c.paid, c.delta, c.reason); err != nil {
			return fmt.Errorf("plandb: insert lines: %w", err)
		}
		return s.audit.Record(ctx, audit.Entry{ClientID: clientID, Actor: by.Audit, Action: "plan.close_preview",
			ObjectKind: "plan_close_run", ObjectID: strconv.FormatInt(run.ID, 10),
			After: audit.State(run)})
	})
	return run, err
}

// Run returns a close run of clientID.
func (s *Store) Run(ctx context.Context, clientID, runID int64) (Run, error) {
	return scanRun(s.db.QueryRow(ctx, `SELECT `+runColumns+` FROM plan_close_runs WHERE id = $1 AND client_id = $2`, runID, clientID))
}

// RunLine is one participant's line of a run.
type RunLine struct {
	ParticipantID int64         `json:"participant_id"`
	PlanVersion   int           `json:"plan_version"`
	Target        int64         `json:"target"`
	ActualValue   int64         `json:"actual"`
	SalesKopecks  money.Kopecks `json:"sales_kopecks"`
	PointsKopecks money.Kopecks `json:"points_kopecks"`
	Receipts      int           `json:"receipts"`
	AttainmentBP  int64         `json:"attainment_bp"`
	Tier          int           `json:"tier"`
	PayoutKopecks money.Kopecks `json:"payout_kopecks"`
	Capped        bool          `json:"capped"`
	PaidKopecks   money.Kopecks `json:"paid_kopecks"`
	DeltaKopecks  money.Kopecks `json:"delta_kopecks"`
	Reason        string        `json:"reason"`
}

// Lines returns a run's lines after participant afterID (keyset), at most
// limit (1..1000).
func (s *Store) Lines(ctx context.Context, clientID, runID, afterID int64, limit int) ([]RunLine, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := s.db.Query(ctx, `SELECT l.participant_id, l.plan_version, l.target, l.actual_value, l.sales_kopecks, l.points_kopecks,
			l.receipts, l.attainment_bp, l.tier, l.payout_kopecks, l.capped, l.paid_kopecks, l.delta_kopecks, l.reason
		FROM plan_close_lines l JOIN plan_close_runs r ON r.id = l.run_id
		WHERE l.run_id = $1 AND r.client_id = $2 AND l.participant_id > $3 ORDER BY l.participant_id LIMIT $4`,
		runID, clientID, afterID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (RunLine, error) {
		var l RunLine
		err := r.Scan(&l.ParticipantID, &l.PlanVersion, &l.Target, &l.ActualValue, &l.SalesKopecks, &l.PointsKopecks, &l.Receipts,
			&l.AttainmentBP, &l.Tier, &l.PayoutKopecks, &l.Capped, &l.PaidKopecks, &l.DeltaKopecks, &l.Reason)
		return l, err
	})
}

// Approve approves run runID and posts its differences, once: approving a
// posted run again returns it unchanged; a run computed before another run
// of the period posted is stale (plan.ErrStale: preview again); a run
// needing a second person refuses its maker (plan.ErrSecondApproval).
// Concurrent approvals of one run or of two runs of the period serialise
// on the period's row and post once.
func (s *Store) Approve(ctx context.Context, by Actor, clientID, runID int64) (Run, error) {
	var run Run
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		r, err := scanRun(tx.QueryRow(ctx, `SELECT `+runColumns+` FROM plan_close_runs WHERE id = $1 AND client_id = $2`, runID, clientID))
		if err != nil {
			return err
		}
		// Lock the period first (every close of it takes this lock), then
		// read the run again under it.
		var last int64
		if err := tx.QueryRow(ctx, `SELECT last_posted_run FROM plan_periods WHERE program_id = $1 AND period = $2 FOR UPDATE`,
			r.ProgramID, r.Period).Scan(&last); err != nil {
			return err
		}
		run, err = scanRun(tx.QueryRow(ctx, `SELECT `+runColumns+` FROM plan_close_runs WHERE id = $1 FOR UPDATE`, runID))
		if err != nil {
			return err
		}
		switch {
		case run.Status == plan.CloseStatusDone:
			return nil
		case run.Status == plan.CloseStatusOld:
			return plan.ErrStale
		case last != run.BasedOn:
			return errStaleCommit
		}
		if err := plan.CheckApprover(s.threshold, run.CreditKopecks, run.MadeBy, by.UserID); err != nil {
			return err
		}
		budget, err := s.ledger.LockBudget(postgres.ContextWithTx(ctx, tx), clientID, run.ProgramID)
		if err != nil {
			return err
		}
		if int64(run.CreditKopecks) > budget+int64(run.DebitKopecks) {
			return ledger.ErrBudgetExhausted
		}
		if err := s.post(ctx, tx, run); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE plan_periods SET last_posted_run = $1 WHERE program_id = $2 AND period = $3`,
			run.ID, run.ProgramID, run.Period); err != nil {
			return err
		}
		run, err = scanRun(tx.QueryRow(ctx, `UPDATE plan_close_runs SET status = 'posted', posted_at = now(), approved_by = $2
			WHERE id = $1 RETURNING `+runColumns, run.ID, by.userID()))
		if err != nil {
			return fmt.Errorf("plandb: mark posted: %w", err)
		}
		return s.audit.Record(ctx, audit.Entry{ClientID: clientID, Actor: by.Audit, Action: "plan.close_approve",
			ObjectKind: "plan_close_run", ObjectID: strconv.FormatInt(run.ID, 10), After: audit.State(run)})
	})
	if errors.Is(err, errStaleCommit) {
		// A run computed on an older state can never post: mark it so.
		_, _ = s.db.Exec(ctx, `UPDATE plan_close_runs SET status = 'stale' WHERE id = $1 AND status = 'preview'`, runID)
		return run, plan.ErrStale
	}
	return run, err
}

var errStaleCommit = errors.New("plandb: stale run")

// ErrBalanceChanged: a debit of the run no longer fits a participant's
// balance (points spent since the preview); preview again.
var ErrBalanceChanged = apperr.New(apperr.Conflict, "plan_close_balance_changed",
	"После предпросмотра у участника изменился баланс: сделайте новый предпросмотр.")

// post writes the run's non-zero differences: plan_credits rows (the
// first under a plan version a 'settlement', later ones 'adjustment's) and
// their ledger transactions, set-based.
func (s *Store) post(ctx context.Context, tx pgx.Tx, run Run) error {
	p, err := plan.ParsePeriod(run.Period)
	if err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO plan_credits (client_id, program_id, period, participant_id, plan_version, table_version,
			run_id, kind, amount_kopecks, actual_value, reason, ledger_key)
		SELECT r.client_id, r.program_id, r.period, l.participant_id, l.plan_version, r.table_version, r.id,
			CASE WHEN EXISTS (SELECT 1 FROM plan_credits c WHERE c.program_id = r.program_id AND c.period = r.period
				AND c.participant_id = l.participant_id AND c.plan_version = l.plan_version AND c.kind = 'settlement')
				THEN 'adjustment' ELSE 'settlement' END,
			l.delta_kopecks, l.actual_value, l.reason, 'plan:run' || r.id || ':p' || l.participant_id
		FROM plan_close_lines l JOIN plan_close_runs r ON r.id = l.run_id
		WHERE l.run_id = $1 AND l.delta_kopecks <> 0`, run.ID)
	if err != nil {
		return fmt.Errorf("plandb: insert credits: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT participant_id, delta_kopecks, reason FROM plan_close_lines
		WHERE run_id = $1 AND delta_kopecks <> 0 ORDER BY participant_id`, run.ID)
	if err != nil {
		return err
	}
	b := ledger.Batch{ClientID: run.ClientID, ProgramID: run.ProgramID, Accounts: ledger.ParticipantAvailable,
		OccurredOn: p.End().AddDate(0, 0, -1), Transfers: make([]ledger.Transfer, 0, tag.RowsAffected())}
	var e ledger.Transfer
	if _, err := pgx.ForEachRow(rows, []any{&e.ParticipantID, &e.AmountKopecks, &e.Memo}, func() error {
		e.Key = ledgerKey(run.ID, e.ParticipantID)
		e.Kind = plan.KindBonus
		if e.AmountKopecks < 0 {
			e.Kind = plan.KindBonusDebit
		}
		e.Memo = fmt.Sprintf("период %s; %s", run.Period, e.Memo)
		b.Transfers = append(b.Transfers, e)
		return nil
	}); err != nil {
		return err
	}
	already, err := s.ledger.PostBatch(postgres.ContextWithTx(ctx, tx), b)
	if err != nil {
		if c := postgres.ConstraintViolated(err); strings.HasPrefix(c, "ledger_accounts") {
			// A participant spent points after the preview: its debit no
			// longer fits. Nothing is posted; a new preview cuts it.
			return ErrBalanceChanged
		}
		return err
	}
	if len(already) > 0 {
		return fmt.Errorf("plandb: run %d: %d ledger keys already posted", run.ID, len(already))
	}
	return nil
}
