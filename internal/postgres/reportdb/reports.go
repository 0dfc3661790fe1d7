package reportdb

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // clients' zones, also on an image without the zone database

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/kpi"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

const programCols = `p.id, p.client_id, c.name, c.code, p.code, p.name, p.status, p.starts_on, p.ends_on, p.budget_kopecks,
	p.crediting, c.timezone`

func scanProgram(row pgx.Row) (report.Program, error) {
	var p report.Program
	err := row.Scan(&p.ID, &p.ClientID, &p.ClientName, &p.ClientCode, &p.Code, &p.Name, &p.Status, &p.StartsOn, &p.EndsOn,
		&p.BudgetKopecks, &p.Crediting, &p.TimeZone)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, report.ErrNotFound
	}
	if err != nil {
		return p, err
	}
	// The column's check admits only IANA names PostgreSQL knows; Go
	// carries its own copy of the zone database (time/tzdata).
	if p.Location, err = location(p.TimeZone); err != nil {
		return p, fmt.Errorf("client %d time zone %q: %w", p.ClientID, p.TimeZone, err)
	}
	return p, nil
}

// locations caches loaded zones: every page loads its program.
var locations sync.Map // string → *time.Location

func location(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, l)
	return l, nil
}

// Programs lists the programs staff may see: its client's, or every
// client's for an operator.
func (s *Store) Programs(ctx context.Context, st access.Staff) ([]report.Program, error) {
	rows, err := s.db.Query(ctx, `SELECT `+programCols+` FROM programs p JOIN clients c ON c.id = p.client_id
		WHERE $1 OR p.client_id = $2 ORDER BY c.name, p.starts_on DESC, p.id`, st.Role == access.Operator, st.ClientID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.Program, error) { return scanProgram(r) })
}

// Program returns program id if staff may see it, else ErrNotFound (not
// saying whether it exists).
func (s *Store) Program(ctx context.Context, st access.Staff, id int64) (report.Program, error) {
	p, err := scanProgram(s.db.QueryRow(ctx, `SELECT `+programCols+` FROM programs p JOIN clients c ON c.id = p.client_id WHERE p.id = $1`, id))
	if err != nil {
		return p, err
	}
	if !st.CanSee(p.ClientID) {
		return report.Program{}, report.ErrNotFound
	}
	return p, nil
}

// Overview returns the inputs of the overview indicators of program p in
// period per as of now (see OverviewAsOf).
func (s *Store) Overview(ctx context.Context, p report.Program, per report.Period) (kpi.Inputs, error) {
	return s.OverviewAsOf(ctx, p, per, time.Now())
}

// ChurnMonths returns the two months churn compares for a period whose
// last month is last, as of today: the last month and the one before, or,
// when the last month is not over yet (it holds today or is later), the
// last two complete months before today's month.
func ChurnMonths(last, today time.Time) (prev, cur time.Time, shifted bool) {
	cur = monthOf(last)
	if thisMonth := monthOf(today); !cur.Before(thisMonth) {
		cur, shifted = thisMonth.AddDate(0, -1, 0), true
	}
	return cur.AddDate(0, -1, 0), cur, shifted
}

// OverviewAsOf returns the inputs of the overview indicators of program p
// in period per. Participant indicators count whole calendar months; churn
// compares the two months ChurnMonths picks as of today, so a month still
// running does not count as one its participants left. Points issued and
// redeemed come from the ledger: issued is everything paid out of the
// program's budget (receipts, tasks, registries, net of reversals),
// redeemed what the program's participants spent into redemption.
func (s *Store) OverviewAsOf(ctx context.Context, p report.Program, per report.Period, today time.Time) (kpi.Inputs, error) {
	in := kpi.Inputs{ReceiptsByStatus: map[string]int64{}}
	rows, err := s.db.Query(ctx, `SELECT status, SUM(receipts)::bigint, SUM(points_kopecks)::bigint, SUM(units_milli)::bigint,
		SUM(sku_sum_kopecks)::bigint FROM rpt_day WHERE program_id = $1 AND client_id = $2 AND day >= $3 AND day < $4
		GROUP BY status`, p.ID, p.ClientID, per.From, per.To)
	if err != nil {
		return in, err
	}
	for rows.Next() {
		var st string
		var n, pts, units, sum int64
		if err := rows.Scan(&st, &n, &pts, &units, &sum); err != nil {
			return in, err
		}
		if n != 0 {
			in.ReceiptsByStatus[st] = n
		}
		in.UnitsMilli += units
		in.SKUSumKopecks += sum
		if st == "credited" {
			in.PointsCredited = pts
		}
	}
	if err := rows.Err(); err != nil {
		return in, err
	}
	fromM, toM := monthOf(per.From), monthOf(per.To.AddDate(0, 0, -1))
	prev, last, shifted := ChurnMonths(toM, today)
	in.ChurnPrevMonth, in.ChurnMonth, in.ChurnShifted = prev, last, shifted
	err = s.db.QueryRow(ctx, `
		WITH m AS (SELECT participant_id, SUM(uploads) uploads, SUM(receipts) receipts FROM rpt_month_participant
			WHERE program_id = $1 AND client_id = $2 AND month >= $3 AND month <= $6 GROUP BY participant_id),
		c AS (SELECT participant_id, bool_or(month = $5 AND receipts > 0) pa, bool_or(month = $4 AND receipts > 0) la
			FROM rpt_month_participant WHERE program_id = $1 AND client_id = $2 AND month IN ($4, $5) GROUP BY participant_id)
		SELECT (SELECT count(*) FROM participants WHERE client_id = $2 AND status <> 'blocked' AND NOT is_test),
			(SELECT count(*) FROM m WHERE receipts > 0), (SELECT count(*) FROM m WHERE uploads > 0),
			(SELECT count(*) FROM m WHERE uploads >= 2), (SELECT count(*) FROM c WHERE pa),
			(SELECT count(*) FROM c WHERE pa AND NOT la),
			(SELECT COALESCE(SUM(lp.amount_kopecks), 0) FROM ledger_transactions lt
				JOIN ledger_postings lp ON lp.transaction_id = lt.id
				JOIN ledger_accounts la ON la.id = lp.account_id AND la.kind = 'program_budget'
				WHERE lt.program_id = $1 AND lt.client_id = $2 AND lt.kind = 'program_funding')::bigint
			- (SELECT COALESCE(SUM(balance_kopecks), 0) FROM ledger_accounts
				WHERE kind = 'program_budget' AND client_id = $2 AND program_id = $1)::bigint,
			(SELECT COALESCE(SUM(lp.amount_kopecks), 0) FROM ledger_accounts la
				JOIN ledger_postings lp ON lp.account_id = la.id
				JOIN ledger_transactions lt ON lt.id = lp.transaction_id AND lt.program_id = $1
				WHERE la.kind = 'redemption' AND la.client_id = $2)::bigint,
			(SELECT COALESCE(SUM(balance_kopecks) FILTER (WHERE kind = 'participant_pending'), 0)::bigint FROM ledger_accounts
				WHERE client_id = $2 AND program_id = $1 AND kind IN ('participant_pending', 'participant_available')),
			(SELECT COALESCE(SUM(balance_kopecks) FILTER (WHERE kind = 'participant_available'), 0)::bigint FROM ledger_accounts
				WHERE client_id = $2 AND program_id = $1 AND kind IN ('participant_pending', 'participant_available'))`,
		p.ID, p.ClientID, fromM, last, prev, toM).Scan(&in.Registered, &in.Active, &in.Uploaders, &in.RepeatUploaders,
		&in.ActivePrevMonth, &in.ChurnedPrevMonth, &in.PointsIssuedAll, &in.PointsRedeemed, &in.PointsPending, &in.PointsAvailable)
	return in, err
}

// Series returns the program's receipts and verified sales per day or week
// ("day", "week") in per.
func (s *Store) Series(ctx context.Context, p report.Program, per report.Period, grain string) ([]report.Point, error) {
	if grain != "week" {
		grain = "day"
	}
	rows, err := s.db.Query(ctx, `SELECT date_trunc($5, day)::date d, SUM(receipts)::bigint,
		COALESCE(SUM(receipts) FILTER (WHERE status = 'credited'), 0)::bigint, SUM(units_milli)::bigint, SUM(sku_sum_kopecks)::bigint
		FROM rpt_day WHERE program_id = $1 AND client_id = $2 AND day >= $3 AND day < $4 GROUP BY d ORDER BY d`,
		p.ID, p.ClientID, per.From, per.To, grain)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.Point, error) {
		var pt report.Point
		err := r.Scan(&pt.Start, &pt.Receipts, &pt.Credited, &pt.UnitsMilli, &pt.SKUSumKopecks)
		return pt, err
	})
}

// Sales returns verified sales of program SKUs by dimension in per, the
// biggest first; limit 0 means all rows (exports).
func (s *Store) Sales(ctx context.Context, p report.Program, by string, per report.Period, limit int) ([]report.SalesRow, error) {
	var q string
	switch by {
	case report.BySKU:
		q = `SELECT k.id::text, k.name, k.code, SUM(t.lines), SUM(t.units_milli), SUM(t.sum_kopecks), SUM(t.points_kopecks)
			FROM rpt_day_sku t JOIN skus k ON k.id = t.sku_id AND k.client_id = t.client_id
			WHERE t.program_id = $1 AND t.client_id = $2 AND t.day >= $3 AND t.day < $4 GROUP BY k.id`
	case report.ByShop:
		q = `SELECT t.shop_id::text, COALESCE(sh.name, 'Магазин не определён'), COALESCE(sh.chain || ', ' || sh.address, ''),
			SUM(t.receipts), SUM(t.units_milli), SUM(t.sum_kopecks), SUM(t.points_kopecks)
			FROM rpt_day_shop t LEFT JOIN shops sh ON sh.id = t.shop_id AND sh.client_id = t.client_id
			WHERE t.program_id = $1 AND t.client_id = $2 AND t.day >= $3 AND t.day < $4 GROUP BY t.shop_id, sh.id`
	case report.ByChain, report.ByRegion:
		col := "sh.chain"
		if by == report.ByRegion {
			col = "sh.region"
		}
		// One "not specified" row (key ''): shops with an empty value and
		// receipts of no known shop (shop 0, no shops row) together, as
		// ReceiptFilter.NoChain / NoRegion select them.
		q = `SELECT COALESCE(` + col + `, ''), CASE COALESCE(` + col + `, '') WHEN '' THEN 'Не указано' ELSE COALESCE(` + col + `, '') END,
			count(DISTINCT sh.id)::text || ' маг.',
			SUM(t.receipts), SUM(t.units_milli), SUM(t.sum_kopecks), SUM(t.points_kopecks)
			FROM rpt_day_shop t LEFT JOIN shops sh ON sh.id = t.shop_id AND sh.client_id = t.client_id
			WHERE t.program_id = $1 AND t.client_id = $2 AND t.day >= $3 AND t.day < $4 GROUP BY COALESCE(` + col + `, '')`
	case report.ByParticipant:
		return s.salesByParticipant(ctx, p, per, limit)
	default:
		return nil, fmt.Errorf("reportdb: unknown sales dimension %q", by)
	}
	q = `SELECT key, label, extra, n, units, total, points FROM (` + q + `) x(key, label, extra, n, units, total, points)
		WHERE n <> 0 OR total <> 0 ORDER BY total DESC, key`
	return s.salesQuery(ctx, q, p, per, limit)
}

// salesByParticipant ranks and cuts the participants' sums (one range of
// rpt_month_participant) before it joins their names and shops, so a page
// joins limit rows, not every participant of the client. The join drops
// no row: rollup rows come from receipts, whose (client_id,
// participant_id) references participants.
func (s *Store) salesByParticipant(ctx context.Context, p report.Program, per report.Period, limit int) ([]report.SalesRow, error) {
	lim := ""
	if limit > 0 {
		lim = ` LIMIT $5`
	}
	q := `SELECT t.key, COALESCE(NULLIF(pa.name, ''), 'Участник ' || pa.id), COALESCE(sh.name, ''), t.n, t.units, t.total, t.points
		FROM (SELECT t.participant_id, t.participant_id::text key, SUM(t.receipts)::bigint n, SUM(t.units_milli)::bigint units,
				SUM(t.sum_kopecks)::bigint total, SUM(t.points_kopecks)::bigint points
			FROM rpt_month_participant t
			WHERE t.program_id = $1 AND t.client_id = $2 AND t.month >= $3 AND t.month < $4
				AND (t.receipts <> 0 OR t.sum_kopecks <> 0 OR t.points_kopecks <> 0)
			GROUP BY t.participant_id HAVING SUM(t.receipts) <> 0 OR SUM(t.sum_kopecks) <> 0
			ORDER BY total DESC, key` + lim + `) t
		JOIN participants pa ON pa.id = t.participant_id AND pa.client_id = $2 LEFT JOIN shops sh ON sh.id = pa.shop_id
		ORDER BY t.total DESC, t.key`
	return s.salesRows(ctx, q, p, per, limit)
}

func (s *Store) salesQuery(ctx context.Context, q string, p report.Program, per report.Period, limit int) ([]report.SalesRow, error) {
	if limit > 0 {
		q += ` LIMIT $5`
	}
	return s.salesRows(ctx, q, p, per, limit)
}

// salesRows runs q with $1 program, $2 client, $3–$4 the period and, if
// limit > 0, $5 limit.
func (s *Store) salesRows(ctx context.Context, q string, p report.Program, per report.Period, limit int) ([]report.SalesRow, error) {
	args := []any{p.ID, p.ClientID, per.From, per.To}
	if limit > 0 {
		args = append(args, limit)
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.SalesRow, error) {
		var x report.SalesRow
		err := r.Scan(&x.Key, &x.Label, &x.Extra, &x.Receipts, &x.UnitsMilli, &x.SumKopecks, &x.PointsKopecks)
		return x, err
	})
}

// signedSum is a receipt r's sum as lists and exports show it: negative
// for a return (operation 2), as the rollups count it.
const signedSum = returnSign + ` * COALESCE(r.sum_kopecks, 0)`

// byUpload are statuses whose receipts may have no fiscal identity, and so
// no purchase time: those are dated by upload time.
func byUpload(status string) bool {
	return status == "unreadable" || status == "duplicate" || status == "received"
}

// Receipts lists the program's receipts matching f, newest first.
//
// Receipts with a fiscal identity are read in purchase-time order (the
// program/status/shop/participant indexes on purchased_at, or
// rpt_receipt_sku with a SKU); when the status may include receipts
// without one, those are read in upload-time order (created_at indexes)
// and the two newest-first streams are merged, each cut to the page.
func (s *Store) Receipts(ctx context.Context, p report.Program, f report.ReceiptFilter) ([]report.ReceiptRow, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 50
	}
	args := []any{p.ID, p.ClientID}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	var status string
	switch {
	case f.Status == "sales":
		status = "r.status IN ('credited', 'no_eligible_items')"
	case f.Status != "":
		status = "r.status = " + arg(f.Status)
	}
	// Conditions on r besides its status and its date.
	var common []string
	switch {
	case f.NoShop:
		common = append(common, "r.shop_id IS NULL")
	case f.ShopID != 0:
		common = append(common, "r.shop_id = "+arg(f.ShopID))
	}
	if f.ParticipantID != 0 {
		common = append(common, "r.participant_id = "+arg(f.ParticipantID))
	}
	for _, d := range []struct {
		col, val string
		none     bool
	}{{"chain", f.Chain, f.NoChain}, {"region", f.Region, f.NoRegion}} {
		if !d.none && d.val == "" {
			continue
		}
		// The shops are read first and written into the query as
		// constants, so the planner sees how many receipts they hold:
		// walk the program's receipts newest first when they are many,
		// read the shops' receipts by the shop index when they are few.
		var ids []int64
		if err := s.db.QueryRow(ctx, `SELECT COALESCE(array_agg(id ORDER BY id), '{}') FROM shops WHERE client_id = $1 AND `+
			d.col+` = $2`, p.ClientID, d.val).Scan(&ids); err != nil {
			return nil, err
		}
		list := make([]string, len(ids))
		for i, id := range ids {
			list[i] = strconv.FormatInt(id, 10)
		}
		in := "r.shop_id = ANY ('{" + strings.Join(list, ",") + "}'::bigint[])"
		switch {
		case d.none && len(ids) == 0: // what sales by chain/region groups as "not specified": no shop, or ''
			common = append(common, "r.shop_id IS NULL")
		case d.none:
			common = append(common, "(r.shop_id IS NULL OR "+in+")")
		case len(ids) == 0:
			common = append(common, "false")
		default:
			common = append(common, in)
		}
	}
	const cols = `r.status, r.status_reason, ` + signedSum + `, r.points_kopecks,
		COALESCE(sh.name, ''), r.participant_id, COALESCE(pa.name, ''), ` + sellerCols
	const joins = ` LEFT JOIN shops sh ON sh.id = r.shop_id LEFT JOIN participants pa ON pa.id = r.participant_id`
	lim := fmt.Sprint(f.Limit)

	// Receipts with a fiscal identity, by purchase time. With a SKU they
	// are read in order from rpt_receipt_sku (x), whose purchased_at and
	// receipt_id are the receipt's: same rows, same order as probing
	// receipt_items.
	at, id, from := "r.purchased_at", "r.id", "receipts r"
	where := append([]string{"r.program_id = $1", "r.client_id = $2", "r.purchased_at IS NOT NULL"}, common...)
	if status != "" {
		where = append(where, status)
	}
	if f.SKUID != 0 {
		at, id, from = "x.purchased_at", "x.receipt_id", "rpt_receipt_sku x JOIN receipts r ON r.id = x.receipt_id"
		where = append(where, "x.program_id = $1", "x.sku_id = "+arg(f.SKUID))
	}
	mixed := (f.Status == "" || byUpload(f.Status)) && f.SKUID == 0
	if mixed {
		where = append(where, "r.fn IS NOT NULL")
	}
	if !f.From.IsZero() {
		where = append(where, at+" >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, at+" < "+arg(f.To))
	}
	if f.BeforeID != "" {
		where = append(where, fmt.Sprintf("(%s, %s) < (%s, %s::uuid)", at, id, arg(f.BeforeAt), arg(f.BeforeID)))
	}
	q := `SELECT ` + id + ` rid, ` + at + ` at, false, ` + cols + ` FROM ` + from + joins + `
		WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + at + ` DESC, ` + id + ` DESC LIMIT ` + lim
	if mixed {
		// Receipts without one (only received, unreadable and duplicate
		// may lack it), by upload time, one status at a time so that
		// (client_id, status, created_at) serves the range, the order and
		// the cursor: created_at is compared as timestamptz.
		utc := func(v any) string { return "(" + arg(v) + "::timestamp AT TIME ZONE 'UTC')" }
		var cond []string
		if !f.From.IsZero() {
			cond = append(cond, "r.created_at >= "+utc(f.From))
		}
		if !f.To.IsZero() {
			cond = append(cond, "r.created_at < "+utc(f.To))
		}
		if f.BeforeID != "" {
			cond = append(cond, fmt.Sprintf("(r.created_at, r.id) < (%s, %s::uuid)", utc(f.BeforeAt), arg(f.BeforeID)))
		}
		statuses := []string{f.Status}
		if f.Status == "" {
			statuses = []string{"received", "unreadable", "duplicate"}
		}
		parts := []string{"(" + q + ")"}
		for _, st := range statuses {
			where := append([]string{"r.program_id = $1", "r.client_id = $2", "r.fn IS NULL", "r.status = '" + st + "'"}, common...)
			parts = append(parts, `(SELECT r.id, (r.created_at AT TIME ZONE 'UTC'), true, `+cols+` FROM receipts r`+joins+
				` WHERE `+strings.Join(append(where, cond...), " AND ")+` ORDER BY r.created_at DESC, r.id DESC LIMIT `+lim+`)`)
		}
		q = `SELECT * FROM (` + strings.Join(parts, " UNION ALL ") + `) u ORDER BY at DESC, rid DESC LIMIT ` + lim
	}
	q = `SELECT rid::text, at, by_upload, status, status_reason, sum_kopecks, points_kopecks, shop_name, participant_id,
		participant_name, seller_name, seller_inn, seller_address
		FROM (` + q + `) q(rid, at, by_upload, status, status_reason, sum_kopecks, points_kopecks, shop_name, participant_id,
		participant_name, seller_name, seller_inn, seller_address)
		ORDER BY at DESC, rid DESC`
	// Planned for its values each time (an unnamed statement): a plan
	// generic in the dates and status misjudges how many rows the
	// upload-time branches read and sorts them all instead of walking
	// their index.
	rows, err := s.db.Query(ctx, q, append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanReceiptRow)
}

// sellerCols are the seller columns of a receipt row, from the fiscal data.
const sellerCols = `COALESCE(r.seller_name, ''), COALESCE(trim(r.seller_inn), ''),
	COALESCE(NULLIF(r.retail_address, ''), r.retail_place, '')`

func scanReceiptRow(r pgx.CollectableRow) (report.ReceiptRow, error) {
	var x report.ReceiptRow
	err := r.Scan(&x.ID, &x.At, &x.ByUpload, &x.Status, &x.StatusReason, &x.SumKopecks, &x.PointsKopecks, &x.ShopName,
		&x.ParticipantID, &x.ParticipantName, &x.SellerName, &x.SellerINN, &x.SellerAddress)
	return x, err
}

// ReviewQueue lists the program's receipts waiting for a moderator, oldest
// first.
func (s *Store) ReviewQueue(ctx context.Context, p report.Program, limit int) ([]report.ReceiptRow, error) {
	rows, err := s.db.Query(ctx, `SELECT r.id::text, COALESCE(r.purchased_at, r.created_at AT TIME ZONE 'UTC'),
		r.purchased_at IS NULL, r.status, r.status_reason, `+signedSum+`, r.points_kopecks, COALESCE(sh.name, ''),
		r.participant_id, COALESCE(pa.name, ''), `+sellerCols+`
		FROM receipts r LEFT JOIN shops sh ON sh.id = r.shop_id LEFT JOIN participants pa ON pa.id = r.participant_id
		WHERE r.program_id = $1 AND r.client_id = $2 AND r.status = 'needs_review' ORDER BY r.created_at, r.id LIMIT $3`,
		p.ID, p.ClientID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanReceiptRow)
}

// ReceiptHeader returns the names around receipt id if it belongs to
// program p, else ErrNotFound.
func (s *Store) ReceiptHeader(ctx context.Context, p report.Program, id string) (report.ReceiptHeader, error) {
	h := report.ReceiptHeader{SKUNames: map[int64]string{}}
	if !uuidRe.MatchString(id) {
		return h, report.ErrNotFound
	}
	err := s.db.QueryRow(ctx, `SELECT r.program_id, r.client_id, COALESCE(sh.name, ''), COALESCE(sh.address, ''), COALESCE(pa.name, '')
		FROM receipts r LEFT JOIN shops sh ON sh.id = r.shop_id LEFT JOIN participants pa ON pa.id = r.participant_id
		WHERE r.id = $1::uuid AND r.program_id = $2 AND r.client_id = $3`, id, p.ID, p.ClientID).
		Scan(&h.ProgramID, &h.ClientID, &h.ShopName, &h.ShopAddress, &h.ParticipantName)
	if errors.Is(err, pgx.ErrNoRows) {
		return h, report.ErrNotFound
	}
	if err != nil {
		return h, err
	}
	rows, err := s.db.Query(ctx, `SELECT DISTINCT k.id, k.code || ' · ' || k.name FROM receipt_items i JOIN skus k ON k.id = i.sku_id
		WHERE i.receipt_id = $1::uuid AND k.client_id = $2`, id, p.ClientID)
	if err != nil {
		return h, err
	}
	defer rows.Close()
	for rows.Next() {
		var sid int64
		var name string
		if err := rows.Scan(&sid, &name); err != nil {
			return h, err
		}
		h.SKUNames[sid] = name
	}
	return h, rows.Err()
}

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// unmatchedWhere selects the program's ($1, client $2) unmatched line
// names still to decide: no confirmed alias, not marked «не наш товар»
// (catalog_foreign_lines, by normalised name; rows without one yet by the
// exact name).
const unmatchedWhere = `FROM rpt_unmatched u
		WHERE u.program_id = $1 AND u.client_id = $2 AND u.lines > 0
		AND NOT EXISTS (SELECT 1 FROM sku_aliases a WHERE a.client_id = u.client_id AND a.alias = u.name)
		AND NOT EXISTS (SELECT 1 FROM catalog_foreign_lines f WHERE f.client_id = u.client_id
			AND (f.name_norm = u.name_norm OR f.name = u.name))`

// Unmatched lists line names of the program's receipts that matched no SKU,
// have no confirmed alias yet and were not marked as another
// manufacturer's goods, the most frequent first, and how many there are.
func (s *Store) Unmatched(ctx context.Context, p report.Program, limit int) ([]report.Unmatched, int64, error) {
	var total int64
	if err := s.db.QueryRow(ctx, `SELECT count(*) `+unmatchedWhere, p.ID, p.ClientID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Query(ctx, `SELECT u.name, u.lines, u.last_day `+unmatchedWhere+`
		ORDER BY u.lines DESC, u.name LIMIT $3`, p.ID, p.ClientID, limit)
	if err != nil {
		return nil, 0, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.Unmatched, error) {
		var u report.Unmatched
		err := r.Scan(&u.Name, &u.Lines, &u.LastDay)
		return u, err
	})
	return list, total, err
}

// Participants lists the client's participants with their activity in the
// program during per, the most points first; offset pages through them.
func (s *Store) Participants(ctx context.Context, p report.Program, per report.Period, limit, offset int) ([]report.ParticipantRow, error) {
	return s.participants(ctx, p, per, limit, offset, 0)
}

func (s *Store) participants(ctx context.Context, p report.Program, per report.Period, limit, offset int, onlyID int64) ([]report.ParticipantRow, error) {
	q := `WITH m AS (SELECT participant_id, SUM(uploads) uploads, SUM(receipts) receipts, SUM(points_kopecks) points,
			SUM(sum_kopecks) total FROM rpt_month_participant
			WHERE program_id = $1 AND client_id = $2 AND month >= $3 AND month < $4 GROUP BY participant_id),
		page AS (SELECT pa.id, pa.name, pa.role, pa.status, COALESCE(pa.shop_id, 0) shop_id, pa.created_at,
			COALESCE(m.uploads, 0)::bigint uploads, COALESCE(m.receipts, 0)::bigint receipts,
			COALESCE(m.points, 0)::bigint points, COALESCE(m.total, 0)::bigint total
			FROM participants pa LEFT JOIN m ON m.participant_id = pa.id WHERE pa.client_id = $2 AND ($5 = 0 OR pa.id = $5)
			ORDER BY points DESC, uploads DESC, pa.id`
	args := []any{p.ID, p.ClientID, monthOf(per.From), per.To, onlyID}
	if limit > 0 {
		q += ` LIMIT $6 OFFSET $7`
		args = append(args, limit, offset)
	}
	q += `)
		SELECT page.id, page.name, page.role, page.status, COALESCE(sh.name, ''), page.shop_id, page.created_at,
			page.uploads, page.receipts, page.points, page.total,
			(SELECT max(created_at) FROM receipts r WHERE r.participant_id = page.id),
			COALESCE((SELECT SUM(balance_kopecks) FROM ledger_accounts a WHERE a.participant_id = page.id
				AND a.program_id = $1 AND a.kind = 'participant_available'), 0)::bigint,
			COALESCE((SELECT SUM(balance_kopecks) FROM ledger_accounts a WHERE a.participant_id = page.id
				AND a.program_id = $1 AND a.kind = 'participant_pending'), 0)::bigint
		FROM page LEFT JOIN shops sh ON sh.id = page.shop_id ORDER BY page.points DESC, page.uploads DESC, page.id`
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.ParticipantRow, error) {
		var x report.ParticipantRow
		err := r.Scan(&x.ID, &x.Name, &x.Role, &x.Status, &x.ShopName, &x.ShopID, &x.RegisteredAt, &x.Uploads, &x.Receipts,
			&x.PointsKopecks, &x.SumKopecks, &x.LastActivity, &x.BalanceKopecks, &x.PendingKopecks)
		return x, err
	})
}

// Participant returns one participant of p's client with all-time figures
// in p, or ErrNotFound.
func (s *Store) Participant(ctx context.Context, p report.Program, id int64) (report.ParticipantRow, error) {
	rows, err := s.participants(ctx, p, report.Period{From: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		To: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}, 1, 0, id)
	if err != nil {
		return report.ParticipantRow{}, err
	}
	if len(rows) == 0 {
		return report.ParticipantRow{}, report.ErrNotFound
	}
	return rows[0], nil
}

// Timeline returns the participant's latest receipts in p and ledger
// movements, newest first.
func (s *Store) Timeline(ctx context.Context, p report.Program, participantID int64, limit int) ([]report.TimelineEntry, error) {
	rows, err := s.db.Query(ctx, `(SELECT r.created_at, 'receipt', r.id::text, r.status, r.status_reason, r.points_kopecks
			FROM receipts r WHERE r.participant_id = $1 AND r.program_id = $2 AND r.client_id = $3
			ORDER BY r.created_at DESC LIMIT $4)
		UNION ALL
		(SELECT t.created_at, 'ledger', COALESCE(t.receipt_id::text, ''), t.kind, t.memo,
			COALESCE((SELECT SUM(pp.amount_kopecks) FROM ledger_postings pp JOIN ledger_accounts a ON a.id = pp.account_id
				WHERE pp.transaction_id = t.id AND a.participant_id = $1), 0)::bigint
			FROM ledger_transactions t WHERE t.participant_id = $1 AND t.client_id = $3 AND (t.program_id = $2 OR t.program_id IS NULL)
			ORDER BY t.id DESC LIMIT $4)
		ORDER BY 1 DESC LIMIT $4`, participantID, p.ID, p.ClientID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.TimelineEntry, error) {
		var e report.TimelineEntry
		err := r.Scan(&e.At, &e.Kind, &e.ReceiptID, &e.Status, &e.Text, &e.PointsKopecks)
		return e, err
	})
}

// Budget returns p's budget figures as of today.
func (s *Store) Budget(ctx context.Context, p report.Program, today time.Time) (report.Budget, error) {
	b := report.Budget{BudgetKopecks: p.BudgetKopecks, Last30ByKind: map[string]int64{}}
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	end := day.AddDate(0, 0, 1)
	b.BurnDays = report.BurnWindow
	if start := p.StartsOn; start.After(end.AddDate(0, 0, -report.BurnWindow)) {
		b.BurnDays = max(1, int(end.Sub(start).Hours()/24))
	}
	var account int64
	err := s.db.QueryRow(ctx, `SELECT id, balance_kopecks FROM ledger_accounts WHERE kind = 'program_budget' AND client_id = $2
		AND program_id = $1 AND participant_id IS NULL`, p.ID, p.ClientID).Scan(&account, &b.BalanceKopecks)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, nil // never funded, nothing paid
	}
	if err != nil {
		return b, err
	}
	// Funding transactions are few.
	if err := s.db.QueryRow(ctx, `SELECT COALESCE(SUM(lp.amount_kopecks), 0)::bigint FROM ledger_transactions lt
		JOIN ledger_postings lp ON lp.transaction_id = lt.id AND lp.account_id = $3
		WHERE lt.program_id = $1 AND lt.client_id = $2 AND lt.kind = 'program_funding'`, p.ID, p.ClientID, account).
		Scan(&b.FundedKopecks); err != nil {
		return b, err
	}
	// One read of the table: per month and kind, and the window per kind.
	rows, err := s.db.Query(ctx, `SELECT date_trunc('month', day)::date, kind, SUM(spent_kopecks)::bigint,
			COALESCE(SUM(spent_kopecks) FILTER (WHERE day >= $3 AND day < $4), 0)::bigint
		FROM rpt_budget_day WHERE program_id = $1 AND client_id = $2 GROUP BY 1, 2 ORDER BY 1, 2`,
		p.ID, p.ClientID, end.AddDate(0, 0, -b.BurnDays), end)
	if err != nil {
		return b, err
	}
	defer rows.Close()
	for rows.Next() {
		var m time.Time
		var kind string
		var all, window int64
		if err := rows.Scan(&m, &kind, &all, &window); err != nil {
			return b, err
		}
		b.SpentKopecks += all
		if n := len(b.Monthly); n == 0 || !b.Monthly[n-1].Start.Equal(m) {
			b.Monthly = append(b.Monthly, report.BudgetMonth{Start: m})
		}
		b.Monthly[len(b.Monthly)-1].SpentKopecks += all
		if window != 0 {
			b.Last30ByKind[kind] += window
		}
		b.Last30Kopecks += window
	}
	return b, rows.Err()
}
