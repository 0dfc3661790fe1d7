package points

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// program is a program row with what Process needs.
type program struct {
	rules.Program
	ClientID  int64
	Crediting string
}

func loadParticipant(ctx context.Context, tx pgx.Tx, id int64) (rules.Participant, int64, error) {
	var p rules.Participant
	var shopID *int64
	err := tx.QueryRow(ctx, `SELECT id, role, is_test, status, shop_id FROM participants WHERE id = $1`, id).
		Scan(&p.ID, &p.Role, &p.IsTest, &p.Status, &shopID)
	if err != nil {
		return p, 0, fmt.Errorf("load participant %d: %w", id, err)
	}
	if shopID == nil {
		return p, 0, nil
	}
	return p, *shopID, nil
}

func loadShop(ctx context.Context, tx pgx.Tx, id int64) (*rules.Shop, error) {
	s := &rules.Shop{ID: id}
	err := tx.QueryRow(ctx, `SELECT COALESCE(inn, ''), kkt_reg_numbers, address FROM shops WHERE id = $1`, id).
		Scan(&s.INN, &s.KKTRegNumbers, &s.Address)
	if err != nil {
		return nil, fmt.Errorf("load shop %d: %w", id, err)
	}
	return s, nil
}

const programColumns = `id, client_id, status, starts_on, ends_on, max_receipt_age_days, crediting`

func scanProgram(row pgx.Row) (program, error) {
	var p program
	err := row.Scan(&p.ID, &p.ClientID, &p.Status, &p.StartsOn, &p.EndsOn, &p.MaxReceiptAgeDays, &p.Crediting)
	return p, err
}

// findProgram returns the receipt's program: the one it names, else the
// client's program running on the purchase date (live before test, oldest
// first), else the client's latest program so the receipt can be told why
// it earns nothing. ok is false when the client has no program at all.
func findProgram(ctx context.Context, tx pgx.Tx, clientID int64, programID *int64, purchased time.Time) (program, bool, error) {
	var row pgx.Row
	if programID != nil {
		row = tx.QueryRow(ctx, `SELECT `+programColumns+` FROM programs WHERE id = $1 AND client_id = $2`, *programID, clientID)
	} else {
		row = tx.QueryRow(ctx, `SELECT `+programColumns+` FROM programs WHERE client_id = $1
			ORDER BY (status IN ('live', 'test') AND $2::date BETWEEN starts_on AND ends_on) DESC,
			         (status = 'live') DESC, CASE WHEN status IN ('live', 'test') THEN id END ASC, id DESC
			LIMIT 1`, clientID, purchased)
	}
	p, err := scanProgram(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false, nil
	}
	return p, err == nil, err
}

// loadRules returns the version of the program's rules in force on day,
// or, with first, the version that took effect first (for a day before
// any took effect).
func (s *Service) loadRules(ctx context.Context, tx pgx.Tx, programID int64, day time.Time, first bool) (rules.Rules, int, bool, error) {
	var version int
	var body []byte
	q := `SELECT version, body FROM program_rules
		WHERE program_id = $1 AND effective_from <= $2::date
		ORDER BY effective_from DESC, version DESC LIMIT 1`
	if first {
		q = `SELECT version, body FROM program_rules WHERE program_id = $1 AND $2::date IS NOT NULL
		ORDER BY effective_from, version DESC LIMIT 1`
	}
	err := tx.QueryRow(ctx, q, programID, day).Scan(&version, &body)
	if errors.Is(err, pgx.ErrNoRows) {
		return rules.Rules{}, 0, false, nil
	}
	if err != nil {
		return rules.Rules{}, 0, false, err
	}
	key := ruleKey{programID, version}
	s.mu.Lock()
	r, ok := s.rules[key]
	s.mu.Unlock()
	if ok {
		return r, version, true, nil
	}
	if r, err = rules.Parse(body); err != nil {
		return r, version, false, fmt.Errorf("program %d rules v%d: %w", programID, version, err)
	}
	s.mu.Lock()
	s.rules[key] = r
	s.mu.Unlock()
	return r, version, true, nil
}

type ruleKey struct {
	program int64
	version int
}

// ErrInvalidRules: the rules body does not validate.
var ErrInvalidRules = apperr.New(apperr.Invalid, "rules_invalid", "Правила программы заданы с ошибкой.")

// SaveRules stores a new version of a program's rules, effective from the
// given date, and returns its version number (one more than the latest).
// Versions are never changed afterwards.
func SaveRules(ctx context.Context, tx pgx.Tx, programID int64, effectiveFrom time.Time, r rules.Rules) (int, error) {
	if err := r.Validate(); err != nil {
		return 0, apperr.Wrap(err, apperr.Invalid, ErrInvalidRules.Code, ErrInvalidRules.Message)
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

// earned reads the points already credited in the cap windows of day.
func earned(ctx context.Context, tx pgx.Tx, programID, participantID int64, shopID int64, day time.Time) (rules.Earned, error) {
	var e rules.Earned
	weekStart := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	err := tx.QueryRow(ctx, `SELECT
		COALESCE(SUM(points_kopecks) FILTER (WHERE purchased_at >= $3 AND purchased_at < $3 + interval '1 day'), 0),
		COALESCE(SUM(points_kopecks) FILTER (WHERE purchased_at >= $4 AND purchased_at < $4 + interval '7 days'), 0),
		COALESCE(SUM(points_kopecks), 0)
		FROM receipts WHERE participant_id = $1 AND program_id = $2 AND status = 'credited' AND operation = 1`,
		participantID, programID, day, weekStart).Scan(&e.ParticipantDay, &e.ParticipantWeek, &e.ParticipantPeriod)
	if err != nil || shopID == 0 {
		return e, err
	}
	err = tx.QueryRow(ctx, `SELECT COALESCE(SUM(points_kopecks), 0) FROM receipts
		WHERE shop_id = $1 AND program_id = $2 AND status = 'credited' AND operation = 1
		  AND purchased_at >= $3 AND purchased_at < $3 + interval '1 day'`, shopID, programID, day).Scan(&e.ShopDay)
	return e, err
}

// activity counts what the anomaly check looks at, relative to the
// receipt's own upload time.
func activity(ctx context.Context, tx pgx.Tx, participantID, shopID int64, kkt string, uploaded, purchased time.Time) (rules.Activity, error) {
	var a rules.Activity
	err := tx.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE created_at > $2::timestamptz - interval '1 hour'),
		count(*),
		count(*) FILTER (WHERE $3 <> '' AND kkt_reg_number = $3 AND purchased_at >= $4 AND purchased_at < $4 + interval '1 day')
		FROM receipts WHERE participant_id = $1 AND fn IS NOT NULL
		  AND created_at > $2::timestamptz - interval '1 day' AND created_at <= $2`,
		participantID, uploaded, kkt, dateOf(purchased)).Scan(&a.UploadsLastHour, &a.UploadsLastDay, &a.SameKKTSameDay)
	if err != nil || shopID == 0 {
		return a, err
	}
	// The shop's norm: the median, over its participants who uploaded in
	// the four weeks before, of their receipts per day.
	var median float64
	err = tx.QueryRow(ctx, `SELECT COALESCE(percentile_disc(0.5) WITHIN GROUP (ORDER BY n), 0) FROM (
		SELECT count(*) AS n FROM receipts r JOIN participants p ON p.id = r.participant_id
		 WHERE p.shop_id = $1 AND r.fn IS NOT NULL
		   AND r.created_at > $2::timestamptz - interval '29 days' AND r.created_at <= $2::timestamptz - interval '1 day'
		 GROUP BY r.participant_id) c`, shopID, uploaded).Scan(&median)
	a.ShopMedianDailyMilli = int64(median) * 1000 / 28
	return a, err
}

// sale is a credited sale a return may undo.
type sale struct {
	ID          string
	Points      int64
	SumKopecks  int64
	PurchasedAt time.Time
	ProgramID   int64
	Items       []saleItem
	// What earlier returns of this sale took back (loadReturned).
	ReturnedQty []int64 // per sale line, thousandths
	ReturnedSum int64   // the earlier returns' receipt sums
	Reversed    int64   // points already reversed
}

type saleItem struct {
	SKUID         *int64
	GTIN, Name    string
	QuantityMilli int64
	Points        int64
}

const saleColumns = `r.id, r.points_kopecks, r.sum_kopecks, r.purchased_at, r.program_id`

// reversedOf sums the points the return reversals of sale r (a receipts
// alias) took back; $1 is the participant, $2 the reversal kind.
const reversedOf = `(SELECT COALESCE(SUM(p.amount_kopecks), 0) FROM ledger_transactions t
	JOIN ledger_postings p ON p.transaction_id = t.id AND p.amount_kopecks > 0
	WHERE t.participant_id = $1 AND t.kind = $2 AND t.idempotency_key LIKE 'reversal:' || r.id::text || ':return:%')`

// returnCandidates lists the participant's credited sales from the same
// seller (KKT, else INN) purchased within window before the return that
// still have points to take back, newest first. A sale reversed under the
// old one-per-sale key (reversal:<id>) counts as fully reversed.
func returnCandidates(ctx context.Context, tx pgx.Tx, participantID int64, kkt, inn string, returned time.Time, window time.Duration) ([]sale, error) {
	rows, err := tx.Query(ctx, `SELECT `+saleColumns+`
		FROM receipts r
		WHERE r.participant_id = $1 AND r.operation = 1 AND r.status = 'credited' AND r.program_id IS NOT NULL
		  AND (($3 <> '' AND r.kkt_reg_number = $3) OR ($3 = '' AND $4 <> '' AND r.seller_inn = $4))
		  AND r.purchased_at <= $5 AND r.purchased_at >= $5::timestamp - $6::interval
		  AND NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.idempotency_key = 'reversal:' || r.id::text)
		  AND r.points_kopecks > `+reversedOf+`
		ORDER BY r.purchased_at DESC, r.id LIMIT 20`, participantID, ledger.KindReversal, kkt, inn, returned, window)
	if err != nil {
		return nil, err
	}
	sales, err := pgx.CollectRows(rows, scanSale)
	if err != nil {
		return nil, err
	}
	for i := range sales {
		if sales[i].Items, err = receiptLines(ctx, tx, sales[i].ID); err != nil {
			return nil, err
		}
	}
	return sales, nil
}

func scanSale(row pgx.CollectableRow) (sale, error) {
	var s sale
	err := row.Scan(&s.ID, &s.Points, &s.SumKopecks, &s.PurchasedAt, &s.ProgramID)
	return s, err
}

// loadSale reads one sale receipt with its lines.
func loadSale(ctx context.Context, tx pgx.Tx, id string) (sale, error) {
	rows, err := tx.Query(ctx, `SELECT `+saleColumns+` FROM receipts r WHERE r.id = $1`, id)
	if err != nil {
		return sale{}, err
	}
	s, err := pgx.CollectExactlyOneRow(rows, scanSale)
	if err != nil {
		return sale{}, fmt.Errorf("sale %s: %w", id, err)
	}
	s.Items, err = receiptLines(ctx, tx, id)
	return s, err
}

// receiptLines reads a receipt's lines in line order.
func receiptLines(ctx context.Context, tx pgx.Tx, receiptID string) ([]saleItem, error) {
	rows, err := tx.Query(ctx, `SELECT sku_id, COALESCE(gtin, ''), name, quantity_milli, points_kopecks
		FROM receipt_items WHERE receipt_id = $1 ORDER BY line_no`, receiptID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (saleItem, error) {
		var it saleItem
		err := row.Scan(&it.SKUID, &it.GTIN, &it.Name, &it.QuantityMilli, &it.Points)
		return it, err
	})
}

// loadReturned fills what earlier returns took back from sale s: the points
// of its reversals (those posted before transaction beforeTx when it is not
// 0) and, replaying each return's lines in posting order the way
// returnAmount assigned them, the quantity of every sale line.
func loadReturned(ctx context.Context, tx pgx.Tx, participantID int64, s *sale, beforeTx int64) error {
	s.ReturnedQty, s.ReturnedSum, s.Reversed = make([]int64, len(s.Items)), 0, 0
	rows, err := tx.Query(ctx, `SELECT t.receipt_id::text, p.amount_kopecks, ret.sum_kopecks
		FROM ledger_transactions t
		JOIN ledger_postings p ON p.transaction_id = t.id AND p.amount_kopecks > 0
		JOIN receipts ret ON ret.id = t.receipt_id
		WHERE t.participant_id = $1 AND t.kind = $2 AND t.idempotency_key LIKE 'reversal:' || $3::text || ':return:%'
		  AND ($4::bigint = 0 OR t.id < $4::bigint)
		ORDER BY t.id`, participantID, ledger.KindReversal, s.ID, beforeTx)
	if err != nil {
		return err
	}
	type earlier struct {
		id          string
		amount, sum int64
	}
	prev, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (earlier, error) {
		var e earlier
		err := row.Scan(&e.id, &e.amount, &e.sum)
		return e, err
	})
	if err != nil {
		return err
	}
	left := make([]int64, len(s.Items))
	for i, it := range s.Items {
		left[i] = it.QuantityMilli
	}
	for _, e := range prev {
		s.Reversed += e.amount
		s.ReturnedSum += e.sum
		lines, err := receiptLines(ctx, tx, e.id)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if j := assignLine(s.Items, left, l.SKUID, l.GTIN, l.Name, l.QuantityMilli); j >= 0 {
				left[j] -= l.QuantityMilli
			}
		}
	}
	for i, it := range s.Items {
		s.ReturnedQty[i] = it.QuantityMilli - left[i]
	}
	return nil
}

// reversalRecord is a reversal a return receipt already posted.
type reversalRecord struct {
	ok     bool
	txID   int64
	saleID string
	amount int64
}

// priorReversal finds the reversal the return receipt returnID posted, if
// it did (a retried task sending the return through again).
func priorReversal(ctx context.Context, tx pgx.Tx, participantID int64, returnID string) (reversalRecord, error) {
	var rec reversalRecord
	var key string
	err := tx.QueryRow(ctx, `SELECT t.id, t.idempotency_key, p.amount_kopecks FROM ledger_transactions t
		JOIN ledger_postings p ON p.transaction_id = t.id AND p.amount_kopecks > 0
		WHERE t.participant_id = $1 AND t.receipt_id = $2 AND t.kind = $3
		ORDER BY t.id LIMIT 1`, participantID, returnID, ledger.KindReversal).Scan(&rec.txID, &key, &rec.amount)
	if errors.Is(err, pgx.ErrNoRows) {
		return rec, nil
	}
	if err != nil {
		return rec, err
	}
	rest := strings.TrimPrefix(key, ledger.ReversalKey(""))
	rec.saleID, _, _ = strings.Cut(rest, ":return:")
	rec.ok = rec.saleID != ""
	return rec, nil
}

// creditedTo returns the participant account kind the sale's credit went to.
func creditedTo(ctx context.Context, tx pgx.Tx, saleID string) (string, error) {
	var kind string
	err := tx.QueryRow(ctx, `SELECT a.kind FROM ledger_transactions t
		JOIN ledger_postings p ON p.transaction_id = t.id JOIN ledger_accounts a ON a.id = p.account_id
		WHERE t.receipt_id = $1 AND t.kind = 'receipt_credit'
		  AND a.kind IN ('participant_available', 'participant_pending')
		ORDER BY t.id DESC LIMIT 1`, saleID).Scan(&kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return kind, err
}

func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
