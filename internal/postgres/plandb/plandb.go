// Package plandb is the PostgreSQL store of sales plans and their period
// close (issue 20): versioned tier tables and targets, actuals computed
// from a program's credited receipts of the period (returns subtracted),
// close runs (preview → approve → credits posted once) and the
// participant's progress. The rules are internal/plan's; this package
// reads, locks and writes.
package plandb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/plan"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
)

// Store is the plans store.
type Store struct {
	db        *pgxpool.Pool
	ledger    ledger.Postings
	audit     audit.Recorder
	threshold int64
}

// Option configures a Store.
type Option func(*Store)

// WithSecondApproval makes a close crediting at least kopecks need a
// second person: its maker cannot approve it (0: never).
func WithSecondApproval(kopecks int64) Option { return func(s *Store) { s.threshold = kopecks } }

// New returns a Store on db posting close credits through postings (in
// the close's transaction, joined by the context) and recording audit
// entries with rec.
func New(db *pgxpool.Pool, postings ledger.Postings, rec audit.Recorder, opts ...Option) *Store {
	s := &Store{db: db, ledger: postings, audit: rec}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Actor is who changes plans or closes a period: a staff user (UserID > 0)
// or the scheduler (UserID 0).
type Actor struct {
	UserID int64
	Audit  audit.Actor
}

func (a Actor) userID() *int64 {
	if a.UserID <= 0 {
		return nil
	}
	return &a.UserID
}

// program checks that programID is clientID's (plan.ErrNotFound otherwise,
// so another client's program is indistinguishable from none).
func program(ctx context.Context, q querier, clientID, programID int64) error {
	var ok bool
	err := q.QueryRow(ctx, `SELECT true FROM programs WHERE id = $1 AND client_id = $2`, programID, clientID).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return plan.ErrNotFound
	}
	return err
}

// TableVersion is a stored version of a tier table.
type TableVersion struct {
	Version   int
	Table     plan.Table
	Reason    string
	CreatedAt time.Time
}

// SetTable records t as the next version of the program's tier table for
// period.
func (s *Store) SetTable(ctx context.Context, by Actor, clientID, programID int64, period plan.Period, t plan.Table, reason string) (TableVersion, error) {
	if err := t.Validate(); err != nil {
		return TableVersion{}, err
	}
	if err := plan.CheckReason(reason); err != nil {
		return TableVersion{}, err
	}
	body, err := json.Marshal(t)
	if err != nil {
		return TableVersion{}, err
	}
	var v TableVersion
	err = postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		if err := program(ctx, tx, clientID, programID); err != nil {
			return err
		}
		if err := ensurePeriod(ctx, tx, clientID, programID, period); err != nil {
			return err
		}
		// The period row serialises versioning of the program's period.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM plan_periods WHERE program_id = $1 AND period = $2 FOR UPDATE`, programID, period.String()); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `INSERT INTO plan_tier_tables (client_id, program_id, period, version, measure, body, created_by, reason)
			SELECT $1, $2, $3, COALESCE(max(version), 0) + 1, $4, $5, $6, $7 FROM plan_tier_tables WHERE program_id = $2 AND period = $3
			RETURNING version, created_at`, clientID, programID, period.String(), string(t.Measure), body, by.userID(), reason).Scan(&v.Version, &v.CreatedAt)
		if err != nil {
			return fmt.Errorf("plandb: insert tier table: %w", err)
		}
		v.Table, v.Reason = t, reason
		return s.audit.Record(ctx, audit.Entry{ClientID: clientID, Actor: by.Audit, Action: "plan.tier_table_set",
			ObjectKind: "program", ObjectID: strconv.FormatInt(programID, 10), Reason: reason,
			After: audit.State(map[string]any{"period": period.String(), "version": v.Version, "table": t})})
	})
	return v, err
}

// Table returns the latest tier table of the program's period.
func (s *Store) Table(ctx context.Context, clientID, programID int64, period plan.Period) (TableVersion, error) {
	if err := program(ctx, s.db, clientID, programID); err != nil {
		return TableVersion{}, err
	}
	return latestTable(ctx, s.db, clientID, programID, period)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func latestTable(ctx context.Context, q querier, clientID, programID int64, period plan.Period) (TableVersion, error) {
	var v TableVersion
	var body []byte
	err := q.QueryRow(ctx, `SELECT version, body, reason, created_at FROM plan_tier_tables
		WHERE client_id = $1 AND program_id = $2 AND period = $3 ORDER BY version DESC LIMIT 1`,
		clientID, programID, period.String()).Scan(&v.Version, &body, &v.Reason, &v.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, plan.ErrNoTable
	}
	if err != nil {
		return v, err
	}
	return v, json.Unmarshal(body, &v.Table)
}

func ensurePeriod(ctx context.Context, tx pgx.Tx, clientID, programID int64, period plan.Period) error {
	_, err := tx.Exec(ctx, `INSERT INTO plan_periods (client_id, program_id, period) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, clientID, programID, period.String())
	return err
}

// Target is a participant's plan value in the period's measure.
type Target struct {
	ParticipantID int64 `json:"participant_id"`
	Value         int64 `json:"target"`
}

// TargetVersion is a participant's current plan.
type TargetVersion struct {
	Target
	Version   int       `json:"version"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
}

// SetResult says what SetTargets changed.
type SetResult struct {
	Changed   int // new versions written
	Unchanged int // same value as the current version: nothing written
}

// SetTargets records ts as the next plan versions of their participants
// (a value equal to the current one writes nothing), checking every
// participant is clientID's. One audit entry describes the batch.
func (s *Store) SetTargets(ctx context.Context, by Actor, clientID, programID int64, period plan.Period, ts []Target, reason string) (SetResult, error) {
	var res SetResult
	if err := plan.CheckReason(reason); err != nil {
		return res, err
	}
	pids, vals := make([]int64, len(ts)), make([]int64, len(ts))
	for i, t := range ts {
		if t.Value < 0 || t.Value > plan.MaxTarget || t.ParticipantID <= 0 {
			return res, plan.ErrBadTarget
		}
		pids[i], vals[i] = t.ParticipantID, t.Value
	}
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		res = SetResult{}
		if err := program(ctx, tx, clientID, programID); err != nil {
			return err
		}
		if err := ensurePeriod(ctx, tx, clientID, programID, period); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM plan_periods WHERE program_id = $1 AND period = $2 FOR UPDATE`, programID, period.String()); err != nil {
			return err
		}
		var foreign int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM unnest($1::bigint[]) AS u(pid)
			WHERE NOT EXISTS (SELECT 1 FROM participants p WHERE p.id = u.pid AND p.client_id = $2)`, pids, clientID).Scan(&foreign); err != nil {
			return err
		}
		if foreign > 0 {
			return plan.ErrNotFound
		}
		tag, err := tx.Exec(ctx, `INSERT INTO plan_targets (client_id, program_id, period, participant_id, version, target, created_by, reason)
			SELECT $1, $2, $3, u.pid, COALESCE(cur.version, 0) + 1, u.v, $6, $7
			  FROM unnest($4::bigint[], $5::bigint[]) AS u(pid, v)
			  LEFT JOIN LATERAL (SELECT version, target FROM plan_targets t
			         WHERE t.program_id = $2 AND t.period = $3 AND t.participant_id = u.pid
			         ORDER BY version DESC LIMIT 1) cur ON true
			 WHERE cur.target IS DISTINCT FROM u.v`,
			clientID, programID, period.String(), pids, vals, by.userID(), reason)
		if err != nil {
			if postgres.ConstraintViolated(err) == "plan_targets_version" {
				return fmt.Errorf("plandb: a participant is listed twice: %w", err)
			}
			return fmt.Errorf("plandb: insert targets: %w", err)
		}
		res.Changed = int(tag.RowsAffected())
		res.Unchanged = len(ts) - res.Changed
		return s.audit.Record(ctx, audit.Entry{ClientID: clientID, Actor: by.Audit, Action: "plan.targets_set",
			ObjectKind: "program", ObjectID: strconv.FormatInt(programID, 10), Reason: reason,
			After: audit.State(map[string]any{"period": period.String(), "rows": len(ts), "changed": res.Changed})})
	})
	return res, err
}

// Targets returns the current plans of the program's period, by participant.
func (s *Store) Targets(ctx context.Context, clientID, programID int64, period plan.Period) ([]TargetVersion, error) {
	if err := program(ctx, s.db, clientID, programID); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT DISTINCT ON (participant_id) participant_id, target, version, reason, created_at
		FROM plan_targets WHERE client_id = $1 AND program_id = $2 AND period = $3
		ORDER BY participant_id, version DESC`, clientID, programID, period.String())
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (TargetVersion, error) {
		var t TargetVersion
		err := r.Scan(&t.ParticipantID, &t.Value, &t.Version, &t.Reason, &t.CreatedAt)
		return t, err
	})
}

// actualsSQL aggregates a program's credited receipts of a period per
// participant: sales, units and receipts of lines matched to the client's
// catalogue (a return, operation 2, counts negative), and the points the
// receipts earned. $1 client, $2 program, $3/$4 the period's bounds, $5 the
// participants (NULL: all).
const actualsSQL = `
WITH r AS (
    SELECT r.id, r.participant_id, r.points_kopecks, CASE WHEN r.operation = 2 THEN -1 ELSE 1 END AS sign
      FROM receipts r
     WHERE r.program_id = $2 AND r.client_id = $1 AND r.status = 'credited' AND r.operation IN (1, 2)
       AND r.purchased_at >= $3 AND r.purchased_at < $4
       AND ($5::bigint[] IS NULL OR r.participant_id = ANY($5))
), l AS (
    SELECT r.participant_id, sum(r.sign * i.sum_kopecks) AS sales, sum(r.sign * i.quantity_milli) AS units,
           count(DISTINCT r.id) FILTER (WHERE r.sign > 0) - count(DISTINCT r.id) FILTER (WHERE r.sign < 0) AS receipts
      FROM r JOIN receipt_items i ON i.receipt_id = r.id AND i.sku_id IS NOT NULL
     GROUP BY r.participant_id
), p AS (
    SELECT participant_id, sum(points_kopecks) AS points FROM r GROUP BY participant_id
)
SELECT p.participant_id, COALESCE(l.sales, 0), COALESCE(l.units, 0), COALESCE(l.receipts, 0), p.points
  FROM p LEFT JOIN l USING (participant_id)`

// actual is one participant's aggregate.
type actual struct {
	sales, units, receipts, points int64
}

func (a actual) in(m plan.Measure) plan.Actual {
	v := a.sales
	switch m {
	case plan.Units:
		v = a.units
	case plan.Receipts:
		v = a.receipts
	}
	return plan.Actual{Value: v, SalesKopecks: money.Kopecks(a.sales), PointsKopecks: money.Kopecks(a.points)}
}

func actuals(ctx context.Context, q querier, clientID, programID int64, period plan.Period, pids []int64) (map[int64]actual, error) {
	rows, err := q.Query(ctx, actualsSQL, clientID, programID, period.Start(), period.End(), pids)
	if err != nil {
		return nil, fmt.Errorf("plandb: actuals: %w", err)
	}
	out := map[int64]actual{}
	var pid int64
	var a actual
	_, err = pgx.ForEachRow(rows, []any{&pid, &a.sales, &a.units, &a.receipts, &a.points}, func() error {
		out[pid] = a
		return nil
	})
	return out, err
}

// Line is a receipt line counted in an actual, for tracing it.
type Line struct {
	ReceiptID   string    `json:"receipt_id"`
	PurchasedAt time.Time `json:"purchased_at"`
	Return      bool      `json:"return"`
	LineNo      int       `json:"line_no"`
	Name        string    `json:"name"`
	SKUID       int64     `json:"sku_id"`
	Quantity    int64     `json:"quantity_milli"`
	SumKopecks  int64     `json:"sum_kopecks"`
}

// ActualLines lists the receipt lines behind a participant's actual (at
// most limit, newest first).
func (s *Store) ActualLines(ctx context.Context, clientID, programID, participantID int64, period plan.Period, limit int) ([]Line, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	if err := program(ctx, s.db, clientID, programID); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT r.id::text, r.purchased_at, r.operation = 2, i.line_no, i.name, i.sku_id, i.quantity_milli, i.sum_kopecks
		FROM receipts r JOIN receipt_items i ON i.receipt_id = r.id AND i.sku_id IS NOT NULL
		WHERE r.client_id = $1 AND r.program_id = $2 AND r.participant_id = $3 AND r.status = 'credited'
		  AND r.operation IN (1, 2) AND r.purchased_at >= $4 AND r.purchased_at < $5
		ORDER BY r.purchased_at DESC, r.id, i.line_no LIMIT $6`,
		clientID, programID, participantID, period.Start(), period.End(), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Line, error) {
		var l Line
		err := r.Scan(&l.ReceiptID, &l.PurchasedAt, &l.Return, &l.LineNo, &l.Name, &l.SKUID, &l.Quantity, &l.SumKopecks)
		return l, err
	})
}

// Progress is a participant's standing against a plan of the current period.
type Progress struct {
	ProgramID   int64           `json:"program_id"`
	ProgramName string          `json:"program_name"`
	Period      string          `json:"period"`
	PlanVersion int             `json:"plan_version"`
	Table       plan.Table      `json:"table"`
	Settlement  plan.Settlement `json:"settlement"`
}

// Progress returns participantID's plans of the periods containing now
// (the month's and the quarter's), with actuals as of now.
func (s *Store) Progress(ctx context.Context, clientID, participantID int64, now time.Time) ([]Progress, error) {
	periods := []plan.Period{plan.Current(plan.Month, now), plan.Current(plan.Quarter, now)}
	rows, err := s.db.Query(ctx, `SELECT DISTINCT ON (t.program_id, t.period) t.program_id, pr.name, t.period, t.version, t.target
		FROM plan_targets t JOIN programs pr ON pr.id = t.program_id
		WHERE t.client_id = $1 AND t.participant_id = $2 AND t.period = ANY($3)
		ORDER BY t.program_id, t.period, t.version DESC`,
		clientID, participantID, []string{periods[0].String(), periods[1].String()})
	if err != nil {
		return nil, err
	}
	type row struct {
		pid     int64
		name    string
		period  string
		version int
		target  int64
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.pid, &x.name, &x.period, &x.version, &x.target)
		return x, err
	})
	if err != nil {
		return nil, err
	}
	out := []Progress{}
	for _, x := range rs {
		p, err := plan.ParsePeriod(x.period)
		if err != nil {
			return nil, err
		}
		tv, err := latestTable(ctx, s.db, clientID, x.pid, p)
		if errors.Is(err, plan.ErrNoTable) {
			continue
		}
		if err != nil {
			return nil, err
		}
		as, err := actuals(ctx, s.db, clientID, x.pid, p, []int64{participantID})
		if err != nil {
			return nil, err
		}
		out = append(out, Progress{ProgramID: x.pid, ProgramName: x.name, Period: x.period, PlanVersion: x.version,
			Table: tv.Table, Settlement: plan.Settle(tv.Table, x.target, as[participantID].in(tv.Table.Measure))})
	}
	return out, nil
}

// ledgerKey is the idempotency key of a close's credit to a participant.
func ledgerKey(runID, participantID int64) string {
	return fmt.Sprintf("plan:run%d:p%d", runID, participantID)
}

// ParticipantsByPhone maps the phones of clientID's participants among
// phones to their ids (a phone of no participant of the client is absent).
func (s *Store) ParticipantsByPhone(ctx context.Context, clientID int64, phones []string) (map[string]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT phone, id FROM participants WHERE client_id = $1 AND phone = ANY($2)`, clientID, phones)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(phones))
	var p string
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&p, &id}, func() error { out[p] = id; return nil })
	return out, err
}
