package reportdb

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/fiscal"
	"github.com/loyaltyjam/loyaltyjam/internal/kpi"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// state is what one receipt contributes to the rollups.
type state struct {
	ClientID, ProgramID, ShopID, ParticipantID int64
	Day                                        time.Time
	Status                                     string
	SumKopecks, PointsKopecks                  int64
	SKUIDs, SKUUnits, SKUSums, SKUPoints       []int64
	Unmatched                                  []string
	// Return: a return receipt (operation 2). Its amounts are stored
	// negative (units, sums; its points already are), so sales net of
	// returns is a plain sum; it is no sales receipt in the counts.
	Return bool
}

// sales reports whether the receipt's lines count in verified sales (net
// of returns): a sale confirmed and not rejected, or a return that took
// back (part of) such a sale (credited, reason return_reversed). A return
// that found no sale of the participant to reverse (no_eligible_items)
// returns nothing the figures counted, so it subtracts nothing.
func (s state) sales() bool {
	if s.Return {
		return s.Status == string(receipt.Credited)
	}
	return kpi.IsSales(s.Status)
}

// saleReceipt is 1 for a verified sale receipt (not a return), else 0: what
// the receipt counts add.
func (s state) saleReceipt() int64 {
	if s.sales() && !s.Return {
		return 1
	}
	return 0
}

// stateOf computes r's contribution; ok is false for a receipt of no
// program (nothing to report it under).
func stateOf(r *receipt.Receipt) (state, bool) {
	if r.ProgramID == nil {
		return state{}, false
	}
	// A return takes its goods and money back out of the sales: its
	// quantities and sums count negative.
	var sign int64 = 1
	if r.Operation == fiscal.OpIncomeReturn {
		sign = -1
	}
	s := state{ClientID: r.ClientID, ProgramID: *r.ProgramID, ParticipantID: r.ParticipantID,
		Status: string(r.Status), SumKopecks: sign * r.SumKopecks, PointsKopecks: r.PointsKopecks, Return: sign < 0}
	if r.ShopID != nil {
		s.ShopID = *r.ShopID
	}
	if r.HasIdentity() && !r.PurchasedAt.IsZero() {
		s.Day = dateOf(r.PurchasedAt)
	} else {
		s.Day = dateOf(r.CreatedAt.UTC())
	}
	type agg struct{ units, sum, points int64 }
	bySKU := map[int64]*agg{}
	seen := map[string]bool{}
	for _, it := range r.Items {
		if it.SKUID == nil {
			if it.MatchHow == "none" && it.Name != "" && !seen[it.Name] {
				seen[it.Name] = true
				s.Unmatched = append(s.Unmatched, it.Name)
			}
			continue
		}
		if !s.sales() {
			continue
		}
		a := bySKU[*it.SKUID]
		if a == nil {
			a = &agg{}
			bySKU[*it.SKUID] = a
		}
		a.units += sign * it.QuantityMilli
		a.sum += sign * it.SumKopecks
		a.points += it.PointsKopecks // a return's line points are negative already
	}
	ids := make([]int64, 0, len(bySKU))
	for id := range bySKU {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		a := bySKU[id]
		s.SKUIDs = append(s.SKUIDs, id)
		s.SKUUnits = append(s.SKUUnits, a.units)
		s.SKUSums = append(s.SKUSums, a.sum)
		s.SKUPoints = append(s.SKUPoints, a.points)
	}
	sort.Strings(s.Unmatched)
	if s.SKUIDs == nil {
		s.SKUIDs, s.SKUUnits, s.SKUSums, s.SKUPoints = []int64{}, []int64{}, []int64{}, []int64{}
	}
	if s.Unmatched == nil {
		s.Unmatched = []string{}
	}
	return s, true
}

func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func monthOf(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC) }

// Rollups keeps the rollups in step with receipts: the composition root
// subscribes it to the receipt store (cmd/loyaltyjam/deps.go).
type Rollups struct{}

var _ receipt.Subscriber[pgx.Tx] = Rollups{}

// ReceiptChanged runs inside the transaction that stores the change,
// subtracts what the receipt contributed before and adds what it
// contributes now, so the rollups commit with the receipt or not at all,
// and a retried transaction counts the receipt once.
func (Rollups) ReceiptChanged(ctx context.Context, tx pgx.Tx, c receipt.Changed) error {
	r := &c.Receipt
	old, found, err := takeState(ctx, tx, r.ID)
	if err != nil {
		return err
	}
	if found {
		if err := apply(ctx, tx, old, -1); err != nil {
			return err
		}
	}
	if err := indexSKUs(ctx, tx, r); err != nil {
		return err
	}
	// A tester's receipts (a program in test) never count in the client's
	// figures.
	var tester bool
	if err := tx.QueryRow(ctx, `SELECT is_test OR is_tester FROM participants WHERE id = $1`, r.ParticipantID).Scan(&tester); err != nil {
		return fmt.Errorf("rollup tester: %w", err)
	}
	if tester {
		return nil
	}
	cur, ok := stateOf(r)
	if !ok {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO rpt_receipt_state (receipt_id, client_id, program_id, day, status, shop_id,
		participant_id, sum_kopecks, points_kopecks, sku_ids, sku_units_milli, sku_sums, sku_points, unmatched, is_return)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`,
		r.ID, cur.ClientID, cur.ProgramID, cur.Day, cur.Status, cur.ShopID, cur.ParticipantID, cur.SumKopecks,
		cur.PointsKopecks, cur.SKUIDs, cur.SKUUnits, cur.SKUSums, cur.SKUPoints, cur.Unmatched, cur.Return); err != nil {
		return fmt.Errorf("rollup state: %w", err)
	}
	return apply(ctx, tx, cur, 1)
}

func takeState(ctx context.Context, tx pgx.Tx, id string) (state, bool, error) {
	var s state
	err := tx.QueryRow(ctx, `DELETE FROM rpt_receipt_state WHERE receipt_id = $1 RETURNING client_id, program_id, day,
		status, shop_id, participant_id, sum_kopecks, points_kopecks, sku_ids, sku_units_milli, sku_sums, sku_points, unmatched,
		is_return`, id).
		Scan(&s.ClientID, &s.ProgramID, &s.Day, &s.Status, &s.ShopID, &s.ParticipantID, &s.SumKopecks, &s.PointsKopecks,
			&s.SKUIDs, &s.SKUUnits, &s.SKUSums, &s.SKUPoints, &s.Unmatched, &s.Return)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("rollup state: %w", err)
	}
	return s, true, nil
}

// indexSKUs replaces r's rows of rpt_receipt_sku: one per program SKU its
// lines matched, whatever its status, if it has a program and a purchase
// time (as receiptdb stores it: only with a fiscal identity).
func indexSKUs(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) error {
	if _, err := tx.Exec(ctx, `DELETE FROM rpt_receipt_sku WHERE receipt_id = $1`, r.ID); err != nil {
		return fmt.Errorf("rollup receipt skus: %w", err)
	}
	if r.ProgramID == nil || r.FN == "" {
		return nil
	}
	seen := map[int64]bool{}
	var ids []int64
	for _, it := range r.Items {
		if it.SKUID != nil && !seen[*it.SKUID] {
			seen[*it.SKUID] = true
			ids = append(ids, *it.SKUID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO rpt_receipt_sku (program_id, sku_id, purchased_at, receipt_id)
		SELECT $1, u, $2, $3 FROM unnest($4::bigint[]) AS u`, *r.ProgramID, r.PurchasedAt, r.ID, ids); err != nil {
		return fmt.Errorf("rollup receipt skus: %w", err)
	}
	return nil
}

// apply adds sign × s to every rollup.
func apply(ctx context.Context, tx pgx.Tx, s state, sign int64) error {
	var units, skuSum int64
	for i := range s.SKUIDs {
		units += s.SKUUnits[i]
		skuSum += s.SKUSums[i]
	}
	var sales int64 // 1 when the receipt's points count (a sale or a return)
	if s.sales() {
		sales = 1
	}
	saleReceipt := s.saleReceipt()
	batch := &pgx.Batch{}
	batch.Queue(`INSERT INTO rpt_day AS t (program_id, day, status, client_id, receipts, sum_kopecks, points_kopecks, units_milli, sku_sum_kopecks)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
		ON CONFLICT (program_id, day, status) DO UPDATE SET receipts = t.receipts + EXCLUDED.receipts,
		sum_kopecks = t.sum_kopecks + EXCLUDED.sum_kopecks, points_kopecks = t.points_kopecks + EXCLUDED.points_kopecks,
		units_milli = t.units_milli + EXCLUDED.units_milli, sku_sum_kopecks = t.sku_sum_kopecks + EXCLUDED.sku_sum_kopecks`,
		s.ProgramID, s.Day, s.Status, s.ClientID, sign, sign*s.SumKopecks, sign*s.PointsKopecks, sign*units, sign*skuSum)
	batch.Queue(`INSERT INTO rpt_month_participant AS t (program_id, month, participant_id, client_id, uploads, receipts,
		units_milli, sum_kopecks, points_kopecks) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
		ON CONFLICT (program_id, month, participant_id) DO UPDATE SET uploads = t.uploads + EXCLUDED.uploads,
		receipts = t.receipts + EXCLUDED.receipts, units_milli = t.units_milli + EXCLUDED.units_milli,
		sum_kopecks = t.sum_kopecks + EXCLUDED.sum_kopecks, points_kopecks = t.points_kopecks + EXCLUDED.points_kopecks`,
		s.ProgramID, monthOf(s.Day), s.ParticipantID, s.ClientID, sign, sign*saleReceipt, sign*units, sign*skuSum,
		sign*s.PointsKopecks*sales)
	if s.sales() {
		batch.Queue(`INSERT INTO rpt_day_shop AS t (program_id, day, shop_id, client_id, receipts, units_milli, sum_kopecks, points_kopecks)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
			ON CONFLICT (program_id, day, shop_id) DO UPDATE SET receipts = t.receipts + EXCLUDED.receipts,
			units_milli = t.units_milli + EXCLUDED.units_milli, sum_kopecks = t.sum_kopecks + EXCLUDED.sum_kopecks,
			points_kopecks = t.points_kopecks + EXCLUDED.points_kopecks`,
			s.ProgramID, s.Day, s.ShopID, s.ClientID, sign*saleReceipt, sign*units, sign*skuSum, sign*s.PointsKopecks)
		if len(s.SKUIDs) > 0 {
			batch.Queue(`INSERT INTO rpt_day_sku AS t (program_id, day, sku_id, client_id, lines, units_milli, sum_kopecks, points_kopecks)
				SELECT $1, $2, u.sku, $3, $9, $4 * u.units, $4 * u.sums, $4 * u.points
				FROM unnest($5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[]) AS u(sku, units, sums, points)
				ON CONFLICT (program_id, day, sku_id) DO UPDATE SET lines = t.lines + EXCLUDED.lines,
				units_milli = t.units_milli + EXCLUDED.units_milli, sum_kopecks = t.sum_kopecks + EXCLUDED.sum_kopecks,
				points_kopecks = t.points_kopecks + EXCLUDED.points_kopecks`,
				s.ProgramID, s.Day, s.ClientID, sign, s.SKUIDs, s.SKUUnits, s.SKUSums, s.SKUPoints, sign*saleReceipt)
		}
	}
	if len(s.Unmatched) > 0 {
		norms := make([]string, len(s.Unmatched))
		for i, n := range s.Unmatched {
			norms[i] = catalog.Normalize(n)
		}
		batch.Queue(`INSERT INTO rpt_unmatched AS t (program_id, name, client_id, lines, last_day, name_norm)
			SELECT $1, u.n, $2, $3, $4, u.norm FROM unnest($5::text[], $6::text[]) AS u(n, norm)
			ON CONFLICT (program_id, name) DO UPDATE SET lines = t.lines + EXCLUDED.lines,
			last_day = GREATEST(t.last_day, EXCLUDED.last_day), name_norm = EXCLUDED.name_norm`,
			s.ProgramID, s.ClientID, sign, s.Day, s.Unmatched, norms)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("rollup: %w", err)
	}
	return nil
}

// Stale reports whether a receipt of a program has no rollup state, that
// is, whether the rollups miss receipts that Rebuild would count.
func Stale(ctx context.Context, db *pgxpool.Pool) (bool, error) {
	var stale bool
	err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM receipts r WHERE r.program_id IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM rpt_receipt_state s WHERE s.receipt_id = r.id))`).Scan(&stale)
	return stale, err
}

// returnSign is -1 for a return receipt r, else 1 (SQL); opReturn is the
// operation type of a return.
const (
	opReturn   = "2" // fiscal.OpIncomeReturn
	returnSign = "(CASE WHEN r.operation = " + opReturn + " THEN -1 ELSE 1 END)"
)

// Rebuild recomputes every rollup from the receipts and their items, with
// the same definitions as Rollups. It locks the rollup tables while it runs.
// Use it after a bulk load (seed --scale) or to repair.
func Rebuild(ctx context.Context, db *pgxpool.Pool) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	stmts := []string{
		`TRUNCATE rpt_receipt_state, rpt_day, rpt_day_sku, rpt_day_shop, rpt_month_participant, rpt_unmatched, rpt_receipt_sku`,
		`INSERT INTO rpt_receipt_sku (program_id, sku_id, purchased_at, receipt_id)
		SELECT DISTINCT r.program_id, i.sku_id, r.purchased_at, r.id
		FROM receipts r JOIN receipt_items i ON i.receipt_id = r.id
		WHERE r.program_id IS NOT NULL AND r.fn IS NOT NULL AND i.sku_id IS NOT NULL`,
		`INSERT INTO rpt_receipt_state (receipt_id, client_id, program_id, day, status, shop_id, participant_id,
			sum_kopecks, points_kopecks, sku_ids, sku_units_milli, sku_sums, sku_points, unmatched, is_return)
		SELECT r.id, r.client_id, r.program_id,
			CASE WHEN r.fn IS NOT NULL THEN r.purchased_at::date ELSE (r.created_at AT TIME ZONE 'UTC')::date END,
			r.status, COALESCE(r.shop_id, 0), r.participant_id, ` + returnSign + ` * COALESCE(r.sum_kopecks, 0), r.points_kopecks,
			COALESCE(s.ids, '{}'), COALESCE(s.units, '{}'), COALESCE(s.sums, '{}'), COALESCE(s.points, '{}'),
			COALESCE(u.names, '{}'), r.operation IS NOT DISTINCT FROM ` + opReturn + `
		FROM receipts r
		LEFT JOIN LATERAL (
			SELECT array_agg(sku_id ORDER BY sku_id) ids, array_agg(units ORDER BY sku_id) units,
				array_agg(sums ORDER BY sku_id) sums, array_agg(points ORDER BY sku_id) points
			FROM (SELECT sku_id, ` + returnSign + ` * SUM(quantity_milli)::bigint units, ` + returnSign + ` * SUM(sum_kopecks)::bigint sums,
					SUM(points_kopecks)::bigint points
				FROM receipt_items i WHERE i.receipt_id = r.id AND i.sku_id IS NOT NULL
				GROUP BY sku_id) g
		) s ON r.status IN ('credited', 'no_eligible_items') AND (r.operation IS DISTINCT FROM ` + opReturn + ` OR r.status = 'credited')
		LEFT JOIN LATERAL (
			SELECT array_agg(DISTINCT name ORDER BY name) names FROM receipt_items i
			WHERE i.receipt_id = r.id AND i.sku_id IS NULL AND i.match_how = 'none' AND i.name <> ''
		) u ON true
		WHERE r.program_id IS NOT NULL
		  AND NOT EXISTS (SELECT 1 FROM participants p WHERE p.id = r.participant_id AND (p.is_test OR p.is_tester))`,
		`INSERT INTO rpt_day (program_id, day, status, client_id, receipts, sum_kopecks, points_kopecks, units_milli, sku_sum_kopecks)
		SELECT program_id, day, status, min(client_id), count(*), SUM(sum_kopecks), SUM(points_kopecks),
			COALESCE(SUM((SELECT SUM(x) FROM unnest(sku_units_milli) x)), 0),
			COALESCE(SUM((SELECT SUM(x) FROM unnest(sku_sums) x)), 0)
		FROM rpt_receipt_state GROUP BY program_id, day, status`,
		`INSERT INTO rpt_month_participant (program_id, month, participant_id, client_id, uploads, receipts, units_milli, sum_kopecks, points_kopecks)
		SELECT program_id, date_trunc('month', day)::date, participant_id, min(client_id), count(*),
			count(*) FILTER (WHERE status IN ('credited', 'no_eligible_items') AND NOT is_return),
			COALESCE(SUM((SELECT SUM(x) FROM unnest(sku_units_milli) x)), 0),
			COALESCE(SUM((SELECT SUM(x) FROM unnest(sku_sums) x)), 0),
			COALESCE(SUM(points_kopecks) FILTER (WHERE status IN ('credited', 'no_eligible_items')), 0)
		FROM rpt_receipt_state GROUP BY 1, 2, 3`,
		`INSERT INTO rpt_day_shop (program_id, day, shop_id, client_id, receipts, units_milli, sum_kopecks, points_kopecks)
		SELECT program_id, day, shop_id, min(client_id), count(*) FILTER (WHERE NOT is_return),
			COALESCE(SUM((SELECT SUM(x) FROM unnest(sku_units_milli) x)), 0),
			COALESCE(SUM((SELECT SUM(x) FROM unnest(sku_sums) x)), 0), SUM(points_kopecks)
		FROM rpt_receipt_state WHERE status IN ('credited', 'no_eligible_items') GROUP BY 1, 2, 3`,
		`INSERT INTO rpt_day_sku (program_id, day, sku_id, client_id, lines, units_milli, sum_kopecks, points_kopecks)
		SELECT program_id, day, u.sku, min(client_id), count(*) FILTER (WHERE NOT is_return), SUM(u.units), SUM(u.sums), SUM(u.points)
		FROM rpt_receipt_state, unnest(sku_ids, sku_units_milli, sku_sums, sku_points) AS u(sku, units, sums, points)
		WHERE status IN ('credited', 'no_eligible_items') GROUP BY program_id, day, u.sku`,
		`INSERT INTO rpt_unmatched (program_id, name, client_id, lines, last_day)
		SELECT program_id, n, min(client_id), count(*), max(day)
		FROM rpt_receipt_state, unnest(unmatched) AS n GROUP BY program_id, n`,
	}
	for _, q := range stmts {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("rebuild rollups: %w", err)
		}
	}
	if err := fillNorms(ctx, tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// fillNorms sets rpt_unmatched.name_norm (catalog.Normalize of the name,
// Go code) where it is missing.
func fillNorms(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT DISTINCT name FROM rpt_unmatched WHERE name_norm IS NULL`)
	if err != nil {
		return fmt.Errorf("rebuild rollups: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("rebuild rollups: %w", err)
	}
	norms := make([]string, len(names))
	for i, n := range names {
		norms[i] = catalog.Normalize(n)
	}
	if _, err := tx.Exec(ctx, `UPDATE rpt_unmatched t SET name_norm = u.norm FROM unnest($1::text[], $2::text[]) AS u(n, norm)
		WHERE t.name = u.n AND t.name_norm IS NULL`, names, norms); err != nil {
		return fmt.Errorf("rebuild rollups: %w", err)
	}
	return nil
}
