// Package budgetdb is the PostgreSQL store of program budgets as staff see
// them: top-ups (funding transactions of the ledger, with their document
// and Idempotency-Key), figures, settings and the alerts the worker raises
// once per threshold crossing. Every change writes an audit entry in its
// own transaction.
package budgetdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/budget"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
)

// Store is the budget store.
type Store struct {
	db     *pgxpool.Pool
	ledger ledger.Postings
	audit  audit.Recorder
	log    *slog.Logger
}

// New returns a Store on db that posts top-ups through postings (in its
// own transaction, joined by the context) and records audit entries with
// rec.
func New(db *pgxpool.Pool, postings ledger.Postings, rec audit.Recorder, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{db: db, ledger: postings, audit: rec, log: log}
}

type program struct {
	ID, ClientID int64
	Name         string
	Status       string
	Settings     budget.Settings
}

// loadProgram reads program id for st: another client's program is
// ErrProgramNotFound; lock takes the row lock until tx ends (only once the
// program is known to be st's, so another tenant never holds it).
func loadProgram(ctx context.Context, q pgx.Tx, st access.Staff, id int64, lock bool) (program, error) {
	if lock {
		if _, err := loadProgram(ctx, q, st, id, false); err != nil {
			return program{}, err
		}
	}
	var p program
	var percents []int32
	sql := `SELECT id, client_id, name, status, budget_at_zero, budget_alert_percents, budget_alert_runway_days
		FROM programs WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	err := q.QueryRow(ctx, sql, id).Scan(&p.ID, &p.ClientID, &p.Name, &p.Status, &p.Settings.AtZero, &percents, &p.Settings.AlertRunwayDays)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && !st.CanSee(p.ClientID) {
		return program{}, budget.ErrProgramNotFound
	}
	p.Settings.AlertPercents = make([]int, len(percents))
	for i, v := range percents {
		p.Settings.AlertPercents[i] = int(v)
	}
	return p, err
}

// actor is st as the audit log names it.
func actor(ctx context.Context, tx pgx.Tx, st access.Staff, ip string) (audit.Actor, error) {
	var name string
	err := tx.QueryRow(ctx, `SELECT COALESCE(NULLIF(name, ''), email) FROM dashboard_users WHERE id = $1`, st.UserID).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.Actor{}, access.ErrForbidden
	}
	return audit.StaffActor(st.UserID, name, ip), err
}

// canManage: who may change a budget (top up, settings).
func canManage(st access.Staff, clientID int64) error {
	return st.CheckClient(clientID, access.ClientManager)
}

// TopUp funds req.ProgramID's budget from the client's funding account:
// one ledger funding transaction, one budget_top_ups row with the
// document, programs.budget_kopecks raised by the amount and an audit
// entry, all in one transaction. The same Idempotency-Key with the same
// request returns the first top-up with Replayed set; with another
// request, budget.ErrKeyReused.
func (s *Store) TopUp(ctx context.Context, st access.Staff, ip string, req budget.TopUpRequest) (budget.TopUp, error) {
	return s.topUp(ctx, st, func(tx pgx.Tx) (audit.Actor, error) { return actor(ctx, tx, st, ip) }, req)
}

// TopUpCLI is TopUp by an operator at the command line: any client's
// program, recorded in the audit log as the CLI actor osUser.
func (s *Store) TopUpCLI(ctx context.Context, osUser string, req budget.TopUpRequest) (budget.TopUp, error) {
	return s.topUp(ctx, access.Staff{Role: access.Operator}, func(pgx.Tx) (audit.Actor, error) {
		return audit.Actor{Kind: audit.CLI, Name: osUser}, nil
	}, req)
}

func (s *Store) topUp(ctx context.Context, st access.Staff, who func(pgx.Tx) (audit.Actor, error), req budget.TopUpRequest) (budget.TopUp, error) {
	if err := req.Validate(); err != nil {
		return budget.TopUp{}, err
	}
	hash := req.Hash()
	var out budget.TopUp
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		p, err := loadProgram(ctx, tx, st, req.ProgramID, true)
		if err != nil {
			return err
		}
		if err := canManage(st, p.ClientID); err != nil {
			return err
		}
		if prev, found, err := s.topUpByKey(ctx, tx, p.ClientID, req.IdempotencyKey); err != nil || found {
			if err == nil && prev.hash != hash {
				err = budget.ErrKeyReused
			}
			out = prev.TopUp
			out.Replayed = true
			return err
		}
		a, err := who(tx)
		if err != nil {
			return err
		}
		t := ledger.Fund(p.ClientID, p.ID, int64(req.AmountKopecks), "budget_top_up:"+strconv.FormatInt(p.ClientID, 10)+":"+req.IdempotencyKey)
		t.Memo = "Пополнение бюджета: " + req.Document
		t.OccurredOn = time.Now().UTC()
		txID, err := s.ledger.Post(postgres.ContextWithTx(ctx, tx), t)
		if err != nil {
			// ErrAlreadyPosted cannot happen under the program lock after
			// the key look-up above, unless a top-up row is missing.
			return fmt.Errorf("budget top-up: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE programs SET budget_kopecks = budget_kopecks + $2 WHERE id = $1`, p.ID, int64(req.AmountKopecks)); err != nil {
			return fmt.Errorf("budget top-up: raise budget: %w", err)
		}
		out = budget.TopUp{ProgramID: p.ID, AmountKopecks: req.AmountKopecks, Amount: req.AmountKopecks.String(),
			Document: req.Document, Comment: req.Comment, LedgerTxID: txID, CreatedBy: st.UserID, CreatedByName: a.Name}
		if err := tx.QueryRow(ctx, `INSERT INTO budget_top_ups
			(client_id, program_id, amount_kopecks, document, comment, idempotency_key, request_hash, ledger_tx_id, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id, created_at`,
			p.ClientID, p.ID, int64(req.AmountKopecks), req.Document, req.Comment, req.IdempotencyKey, hash, txID, nullUser(st.UserID)).
			Scan(&out.ID, &out.CreatedAt); err != nil {
			return fmt.Errorf("budget top-up: record: %w", err)
		}
		bal, err := s.ledger.Balance(postgres.ContextWithTx(ctx, tx), ledger.BudgetAccount(p.ClientID, p.ID))
		if err != nil {
			return err
		}
		return s.audit.Record(postgres.ContextWithTx(ctx, tx), audit.Entry{
			ClientID: p.ClientID, Actor: a, Action: "budget.top_up", ObjectKind: "program", ObjectID: strconv.FormatInt(p.ID, 10),
			Before: audit.State(map[string]any{"balance_kopecks": bal - int64(req.AmountKopecks)}),
			After: audit.State(map[string]any{"balance_kopecks": bal, "top_up_id": out.ID, "amount_kopecks": req.AmountKopecks,
				"document": req.Document, "ledger_transaction_id": txID}),
			Reason: req.Comment,
		})
	})
	return out, err
}

type storedTopUp struct {
	budget.TopUp
	hash string
}

const topUpCols = `t.id, t.program_id, t.amount_kopecks, t.document, t.comment, t.ledger_tx_id, COALESCE(t.created_by, 0),
	COALESCE(NULLIF(u.name, ''), u.email, ''), t.created_at, t.request_hash`

func scanTopUp(row pgx.Row) (storedTopUp, error) {
	var t storedTopUp
	var amount int64
	err := row.Scan(&t.ID, &t.ProgramID, &amount, &t.Document, &t.Comment, &t.LedgerTxID, &t.CreatedBy, &t.CreatedByName, &t.CreatedAt, &t.hash)
	t.AmountKopecks = money.Kopecks(amount)
	t.Amount = t.AmountKopecks.String()
	return t, err
}

func (s *Store) topUpByKey(ctx context.Context, tx pgx.Tx, clientID int64, key string) (storedTopUp, bool, error) {
	t, err := scanTopUp(tx.QueryRow(ctx, `SELECT `+topUpCols+` FROM budget_top_ups t LEFT JOIN dashboard_users u ON u.id = t.created_by
		WHERE t.client_id = $1 AND t.idempotency_key = $2`, clientID, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, false, nil
	}
	return t, err == nil, err
}

// TopUps returns a program's top-ups, newest first, at most limit (1–500).
func (s *Store) TopUps(ctx context.Context, st access.Staff, programID int64, limit int) ([]budget.TopUp, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	var out []budget.TopUp
	err := postgres.WithTxOptions(ctx, s.db, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		p, err := loadProgram(ctx, tx, st, programID, false)
		if err != nil {
			return err
		}
		out, err = topUps(ctx, tx, p.ID, limit)
		return err
	})
	return out, err
}

func topUps(ctx context.Context, tx pgx.Tx, programID int64, limit int) ([]budget.TopUp, error) {
	rows, err := tx.Query(ctx, `SELECT `+topUpCols+` FROM budget_top_ups t LEFT JOIN dashboard_users u ON u.id = t.created_by
		WHERE t.program_id = $1 ORDER BY t.id DESC LIMIT $2`, programID, limit)
	if err != nil {
		return nil, err
	}
	ts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (budget.TopUp, error) {
		t, err := scanTopUp(row)
		return t.TopUp, err
	})
	if ts == nil {
		ts = []budget.TopUp{}
	}
	return ts, err
}

// figures reads a program's budget figures from the ledger as of now.
func figures(ctx context.Context, tx pgx.Tx, clientID, programID int64, now time.Time) (budget.Figures, error) {
	var funded, balance, recent int64
	today := now.UTC().Truncate(24 * time.Hour)
	err := tx.QueryRow(ctx, `SELECT
		COALESCE((SELECT SUM(lp.amount_kopecks) FROM ledger_accounts a
		    JOIN ledger_postings lp ON lp.account_id = a.id
		    JOIN ledger_transactions lt ON lt.id = lp.transaction_id AND lt.kind = $3
		   WHERE a.kind = 'program_budget' AND a.client_id = $1 AND a.program_id = $2 AND a.participant_id IS NULL), 0)::bigint,
		COALESCE((SELECT balance_kopecks FROM ledger_accounts WHERE kind = 'program_budget' AND client_id = $1
		    AND program_id = $2 AND participant_id IS NULL), 0)::bigint,
		COALESCE((SELECT SUM(spent_kopecks) FROM rpt_budget_day WHERE program_id = $2 AND client_id = $1
		    AND day > $4::date - $5::int AND day <= $4::date), 0)::bigint`,
		clientID, programID, ledger.KindFunding, today, budget.RunwayWindowDays).Scan(&funded, &balance, &recent)
	if err != nil {
		return budget.Figures{}, fmt.Errorf("budget figures: %w", err)
	}
	return budget.NewFigures(funded, balance, recent), nil
}

// Overview returns a program's budget figures, settings, open alerts and
// latest top-ups.
func (s *Store) Overview(ctx context.Context, st access.Staff, programID int64, now time.Time) (budget.Overview, error) {
	var o budget.Overview
	err := postgres.WithTxOptions(ctx, s.db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		p, err := loadProgram(ctx, tx, st, programID, false)
		if err != nil {
			return err
		}
		o = budget.Overview{ProgramID: p.ID, ProgramName: p.Name, ClientID: p.ClientID, Settings: p.Settings, AsOf: now}
		if o.Figures, err = figures(ctx, tx, p.ClientID, p.ID, now); err != nil {
			return err
		}
		if o.Alerts, err = alerts(ctx, tx, `program_id = $1 AND cleared_at IS NULL`, p.ID); err != nil {
			return err
		}
		o.TopUps, err = topUps(ctx, tx, p.ID, 20)
		return err
	})
	return o, err
}

// OpenAlerts returns the open alerts of the programs st sees (clientID 0:
// an operator's every client), newest first: the dashboard's banner.
func (s *Store) OpenAlerts(ctx context.Context, st access.Staff, clientID int64) ([]budget.Alert, error) {
	if clientID != 0 && !st.CanSee(clientID) {
		return nil, budget.ErrClientNotFound
	}
	if clientID == 0 {
		clientID = st.ClientID
	}
	if clientID == 0 && st.Role != access.Operator {
		return []budget.Alert{}, nil
	}
	var out []budget.Alert
	err := postgres.WithTxOptions(ctx, s.db, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if clientID == 0 {
			out, err = alerts(ctx, tx, `cleared_at IS NULL`)
		} else {
			out, err = alerts(ctx, tx, `client_id = $1 AND cleared_at IS NULL`, clientID)
		}
		return err
	})
	return out, err
}

func alerts(ctx context.Context, tx pgx.Tx, where string, args ...any) ([]budget.Alert, error) {
	rows, err := tx.Query(ctx, `SELECT id, program_id, kind, threshold, message, raised_at, emailed_at, cleared_at
		FROM budget_alerts WHERE `+where+` ORDER BY id DESC LIMIT 200`, args...)
	if err != nil {
		return nil, err
	}
	as, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (budget.Alert, error) {
		var a budget.Alert
		err := row.Scan(&a.ID, &a.ProgramID, &a.Kind, &a.Threshold, &a.Message, &a.RaisedAt, &a.EmailedAt, &a.ClearedAt)
		return a, err
	})
	if as == nil {
		as = []budget.Alert{}
	}
	return as, err
}

// SetSettings changes a program's budget settings (what happens at zero,
// the alert thresholds), audited with before and after.
func (s *Store) SetSettings(ctx context.Context, st access.Staff, ip string, programID int64, set budget.Settings) (budget.Settings, error) {
	if err := set.Normalize(); err != nil {
		return set, err
	}
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		p, err := loadProgram(ctx, tx, st, programID, true)
		if err != nil {
			return err
		}
		if err := canManage(st, p.ClientID); err != nil {
			return err
		}
		a, err := actor(ctx, tx, st, ip)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE programs SET budget_at_zero = $2, budget_alert_percents = $3, budget_alert_runway_days = $4
			WHERE id = $1`, p.ID, string(set.AtZero), set.AlertPercents, set.AlertRunwayDays); err != nil {
			return fmt.Errorf("budget settings: %w", err)
		}
		return s.audit.Record(postgres.ContextWithTx(ctx, tx), audit.Entry{
			ClientID: p.ClientID, Actor: a, Action: "budget.settings", ObjectKind: "program", ObjectID: strconv.FormatInt(p.ID, 10),
			Before: audit.State(p.Settings), After: audit.State(set),
		})
	})
	return set, err
}

func nullUser(id int64) *int64 {
	if id <= 0 {
		return nil
	}
	return &id
}
