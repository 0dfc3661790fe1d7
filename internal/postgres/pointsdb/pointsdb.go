// Package pointsdb is the PostgreSQL store of the points service
// (internal/points): the reads and writes of evaluating one receipt —
// participant, shop, catalog, program and rules, cap windows, anomaly
// counters and return candidates — as one unit of work that joins the
// transaction saving the receipt (postgres.InTx). The catalog and the
// ledger postings are the points service's other ports (catalogdb,
// ledgerdb.Postings), which join the same transaction through the context.
package pointsdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/points"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// Store is the points service's store.
type Store struct{ db *pgxpool.Pool }

var _ points.Store = (*Store)(nil)

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

// InTx implements points.Store: fn runs in the transaction ctx carries
// (receiptdb's Update puts the receipt's there), else in a new one.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx points.Tx) error) error {
	return postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		return fn(ctx, Tx{tx})
	})
}

// Tx implements points.Tx on a transaction.
type Tx struct{ tx pgx.Tx }

var _ points.Tx = Tx{}

// Participant implements points.Tx.
func (t Tx) Participant(ctx context.Context, id int64) (rules.Participant, int64, error) {
	var p rules.Participant
	var shopID *int64
	err := t.tx.QueryRow(ctx, `SELECT id, role, is_test OR is_tester, status, shop_id, region
		FROM participants WHERE id = $1`, id).
		Scan(&p.ID, &p.Role, &p.IsTest, &p.Status, &shopID, &p.Region)
	if err != nil {
		return p, 0, fmt.Errorf("load participant %d: %w", id, err)
	}
	if shopID == nil {
		return p, 0, nil
	}
	return p, *shopID, nil
}

// Shop implements points.Tx.
func (t Tx) Shop(ctx context.Context, id int64) (*rules.Shop, error) {
	s := &rules.Shop{ID: id}
	err := t.tx.QueryRow(ctx, `SELECT COALESCE(inn, ''), kkt_reg_numbers, fn_numbers, address, chain, region
		FROM shops WHERE id = $1`, id).
		Scan(&s.INN, &s.KKTRegNumbers, &s.FNNumbers, &s.Address, &s.Chain, &s.Region)
	if err != nil {
		return nil, fmt.Errorf("load shop %d: %w", id, err)
	}
	return s, nil
}

const programColumns = `id, client_id, name, status, starts_on, ends_on, max_receipt_age_days, crediting,
	eligible_shop_ids, eligible_chains, eligible_regions, eligible_roles, budget_at_zero`

func scanProgram(row pgx.Row) (points.Program, error) {
	var p points.Program
	e := &p.Eligibility
	err := row.Scan(&p.ID, &p.ClientID, &p.Name, &p.Status, &p.StartsOn, &p.EndsOn, &p.MaxReceiptAgeDays, &p.Crediting,
		&e.ShopIDs, &e.Chains, &e.Regions, &e.Roles, &p.AtZero)
	return p, err
}

// Program implements points.Tx. It considers only programs that take
// receipts: a registry-only program never takes one, even one a receipt
// was filed under at upload.
func (t Tx) Program(ctx context.Context, clientID int64, programID *int64, purchased time.Time) (points.Program, bool, error) {
	if programID != nil {
		p, err := scanProgram(t.tx.QueryRow(ctx, `SELECT `+programColumns+` FROM programs
			WHERE id = $1 AND client_id = $2 AND 'receipts' = ANY(mechanics)`, *programID, clientID))
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return p, err == nil, err
		}
	}
	p, err := scanProgram(t.tx.QueryRow(ctx, `SELECT `+programColumns+` FROM programs
		WHERE client_id = $1 AND 'receipts' = ANY(mechanics)
		ORDER BY (status IN ('live', 'test') AND $2::date BETWEEN starts_on AND ends_on) DESC,
		         (status = 'live') DESC, CASE WHEN status IN ('live', 'test') THEN id END ASC, id DESC
		LIMIT 1`, clientID, purchased))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false, nil
	}
	return p, err == nil, err
}

// ReceiptPrograms implements points.Tx.
func (t Tx) ReceiptPrograms(ctx context.Context, clientID int64, purchased time.Time, tester bool) ([]points.Program, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+programColumns+` FROM programs
		WHERE client_id = $1 AND 'receipts' = ANY(mechanics)
		  AND (status = 'live' OR (status = 'test' AND $3))
		  AND $2::date BETWEEN starts_on AND ends_on
		ORDER BY id`, clientID, purchased, tester)
	if err != nil {
		return nil, fmt.Errorf("receipt programs: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (points.Program, error) { return scanProgram(r) })
}

// SaveResults implements points.Tx.
func (t Tx) SaveResults(ctx context.Context, r *receipt.Receipt, results []points.ProgramResult) error {
	for _, res := range results {
		var eval []byte
		if res.Evaluation != nil {
			b, err := json.Marshal(res.Evaluation)
			if err != nil {
				return err
			}
			eval = b
		}
		_, err := t.tx.Exec(ctx, `INSERT INTO receipt_program_results (receipt_id, program_id, client_id, participant_id,
				shop_id, purchased_at, status, reason, rule_version, points_kopecks, pending, evaluation)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (receipt_id, program_id) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason,
				shop_id = EXCLUDED.shop_id, rule_version = EXCLUDED.rule_version, points_kopecks = EXCLUDED.points_kopecks,
				pending = EXCLUDED.pending, evaluation = EXCLUDED.evaluation, updated_at = now()`,
			r.ID, res.ProgramID, r.ClientID, r.ParticipantID, r.ShopID, r.PurchasedAt, string(res.Status), res.Reason,
			res.RuleVersion, res.PointsKopecks, res.Pending, eval)
		if err != nil {
			return fmt.Errorf("save program result: %w", err)
		}
	}
	return nil
}

// Rules implements points.Tx.
func (t Tx) Rules(ctx context.Context, programID int64, day time.Time, first bool) (int, []byte, bool, error) {
	var version int
	var body []byte
	q := `SELECT version, body FROM program_rules
		WHERE program_id = $1 AND effective_from <= $2::date
		ORDER BY effective_from DESC, version DESC LIMIT 1`
	if first {
		q = `SELECT version, body FROM program_rules WHERE program_id = $1 AND $2::date IS NOT NULL
		ORDER BY effective_from, version DESC LIMIT 1`
	}
	err := t.tx.QueryRow(ctx, q, programID, day).Scan(&version, &body)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, err
	}
	return version, body, true, nil
}

// SaveRules stores a new version of a program's rules, effective from the
// given date, and returns its version number (one more than the latest).
// Versions are never changed afterwards. Rules that do not validate are
// points.ErrInvalidRules.
func SaveRules(ctx context.Context, tx pgx.Tx, programID int64, effectiveFrom time.Time, r rules.Rules) (int, error) {
	if err := points.ValidateRules(r); err != nil {
		return 0, err
	}
	body, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	var version int
	err = tx.QueryRow(ctx, `INSERT INTO program_rules (program_id, version, effective_from, body)
		SELECT $1, COALESCE(MAX(version), 0) + 1, $2::date, $3 FROM program_rules WHERE program_id = $1
		RETURNING version`, programID, effectiveFrom.Format(time.DateOnly), body).Scan(&version)
	return version, err
}

// Advisory lock classes (the first key of pg_advisory_xact_lock(int, int);
// registrydb uses 74210070).
const (
	lockCapParticipant int32 = 74210071
	lockCapShop        int32 = 74210072
)

// LockCaps implements points.Tx with transaction-scoped advisory locks. A
// hash collision only makes two unrelated credits wait for each other.
func (t Tx) LockCaps(ctx context.Context, programID, participantID, shopID int64, shopCap bool) error {
	if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`,
		lockCapParticipant, fmt.Sprintf("%d:%d", programID, participantID)); err != nil {
		return fmt.Errorf("lock participant caps: %w", err)
	}
	if !shopCap || shopID == 0 {
		return nil
	}
	if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`,
		lockCapShop, fmt.Sprintf("%d:%d", programID, shopID)); err != nil {
		return fmt.Errorf("lock shop caps: %w", err)
	}
	return nil
}

// Earned implements points.Tx: the program's credited sales
// (receipt_program_results), so a receipt credited in several programs
// counts in each only what that program paid.
func (t Tx) Earned(ctx context.Context, programID, participantID, shopID int64, day time.Time) (rules.Earned, error) {
	var e rules.Earned
	weekStart := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	err := t.tx.QueryRow(ctx, `SELECT
		COALESCE(SUM(points_kopecks) FILTER (WHERE purchased_at >= $3 AND purchased_at < $3 + interval '1 day'), 0),
		COALESCE(SUM(points_kopecks) FILTER (WHERE purchased_at >= $4 AND purchased_at < $4 + interval '7 days'), 0),
		COALESCE(SUM(points_kopecks), 0)
		FROM receipt_program_results WHERE program_id = $2 AND participant_id = $1 AND status = 'credited'`,
		participantID, programID, day, weekStart).Scan(&e.ParticipantDay, &e.ParticipantWeek, &e.ParticipantPeriod)
	if err != nil || shopID == 0 {
		return e, err
	}
	err = t.tx.QueryRow(ctx, `SELECT COALESCE(SUM(points_kopecks), 0) FROM receipt_program_results
		WHERE program_id = $2 AND shop_id = $1 AND status = 'credited'
		  AND purchased_at >= $3 AND purchased_at < $3 + interval '1 day'`, shopID, programID, day).Scan(&e.ShopDay)
	return e, err
}

// Activity implements points.Tx.
func (t Tx) Activity(ctx context.Context, participantID, shopID int64, kkt string, uploaded, day time.Time) (rules.Activity, error) {
	var a rules.Activity
	err := t.tx.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE created_at > $2::timestamptz - interval '1 hour'),
		count(*),
		count(*) FILTER (WHERE $3 <> '' AND kkt_reg_number = $3 AND purchased_at >= $4 AND purchased_at < $4 + interval '1 day')
		FROM receipts WHERE participant_id = $1 AND fn IS NOT NULL
		  AND created_at > $2::timestamptz - interval '1 day' AND created_at <= $2`,
		participantID, uploaded, kkt, day).Scan(&a.UploadsLastHour, &a.UploadsLastDay, &a.SameKKTSameDay)
	if err != nil || shopID == 0 {
		return a, err
	}
	// The shop's norm: the median, over its participants who uploaded in
	// the four weeks before, of their receipts per day.
	var median float64
	err = t.tx.QueryRow(ctx, `SELECT COALESCE(percentile_disc(0.5) WITHIN GROUP (ORDER BY n), 0) FROM (
		SELECT count(*) AS n FROM receipts r JOIN participants p ON p.id = r.participant_id
		 WHERE p.shop_id = $1 AND r.fn IS NOT NULL
		   AND r.created_at > $2::timestamptz - interval '29 days' AND r.created_at <= $2::timestamptz - interval '1 day'
		 GROUP BY r.participant_id) c`, shopID, uploaded).Scan(&median)
	a.ShopMedianDailyMilli = int64(median) * 1000 / 28
	return a, err
}
