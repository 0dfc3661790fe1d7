// Package receiptdb stores receipts, their items and events in PostgreSQL.
// The unique fiscal identity constraint, not a prior check, decides who
// owns a receipt, so concurrent claims of one receipt have one winner.
package receiptdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// Store is the PostgreSQL receipt store.
type Store struct {
	db   *pgxpool.Pool
	subs []receipt.Subscriber[pgx.Tx]
}

// New returns a Store on db that publishes every stored change
// (receipt.Changed) to subs, in order, inside the transaction that stores
// it: whatever they write commits with the receipt or not at all.
func New(db *pgxpool.Pool, subs ...receipt.Subscriber[pgx.Tx]) *Store {
	return &Store{db: db, subs: subs}
}

// Errors of Create.
var (
	// ErrClaimedByOther: another participant owns this fiscal identity.
	ErrClaimedByOther = apperr.New(apperr.Conflict, "receipt_already_claimed",
		"Этот чек уже зарегистрирован другим участником.")
)

const columns = `id, client_id, participant_id, program_id, shop_id, status, status_reason, source,
	COALESCE(idempotency_key, ''), COALESCE(qr_raw, ''), COALESCE(qr_canonical, ''), COALESCE(fn, ''),
	COALESCE(fd, 0), COALESCE(fp, 0), COALESCE(operation, 0), COALESCE(purchased_at, 'epoch'::timestamp),
	COALESCE(sum_kopecks, 0), COALESCE(photo_key, ''), geo_lat, geo_lon, COALESCE(ofd_provider, ''),
	COALESCE(seller_name, ''), COALESCE(seller_inn, ''), COALESCE(retail_place, ''),
	COALESCE(retail_address, ''), COALESCE(kkt_reg_number, ''), ofd_raw, points_kopecks, attempts,
	next_attempt_at, verified_at, created_at, updated_at, identity_released`

func scan(row pgx.Row) (receipt.Receipt, error) {
	var r receipt.Receipt
	var status, source string
	var purchased time.Time
	err := row.Scan(&r.ID, &r.ClientID, &r.ParticipantID, &r.ProgramID, &r.ShopID, &status, &r.StatusReason,
		&source, &r.IdempotencyKey, &r.QRRaw, &r.QRCanonical, &r.FN, &r.FD, &r.FP, &r.Operation, &purchased,
		&r.SumKopecks, &r.PhotoKey, &r.GeoLat, &r.GeoLon, &r.OFDProvider, &r.SellerName, &r.SellerINN,
		&r.RetailPlace, &r.RetailAddress, &r.KKTRegNumber, &r.OFDRaw, &r.PointsKopecks, &r.Attempts,
		&r.NextAttemptAt, &r.VerifiedAt, &r.CreatedAt, &r.UpdatedAt, &r.IdentityReleased)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, receipt.ErrNotFound
	}
	r.Status, r.Source = receipt.Status(status), receipt.Source(source)
	if r.FN != "" {
		r.PurchasedAt = purchased
	}
	return r, err
}

func nullStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullInt(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

// Create stores a new receipt with the events recorded on it (at least the
// first). If the participant already sent the same idempotency key or the
// same fiscal identity, it returns that receipt and created=false — also
// when their claim of it was rejected and released the identity, so one
// participant cannot claim a receipt over and over. If another
// participant's live, credited or moderated claim holds the fiscal
// identity it returns ErrClaimedByOther; a claim rejected as not belonging
// to its claimant (receipt.ReleasesIdentity) holds nothing.
func (s *Store) Create(ctx context.Context, r *receipt.Receipt) (created bool, err error) {
	// A holder found by the unique index can release the identity before
	// it is looked up (its rejection commits in between): insert again.
	for attempt := 0; ; attempt++ {
		created, err = s.create(ctx, r)
		if !errors.Is(err, errReleased) || attempt == 3 {
			return created, err
		}
	}
}

var errReleased = errors.New("receiptdb: fiscal identity released meanwhile")

// fiscalIdentityKey is the unique constraint on a receipt's fiscal
// identity that does not release it.
const fiscalIdentityKey = "receipts_fiscal_identity_key"

func (s *Store) create(ctx context.Context, r *receipt.Receipt) (created bool, err error) {
	var own string
	err = postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		var purchased *time.Time
		var op *int
		var sum *int64
		if r.FN != "" {
			purchased, op, sum = &r.PurchasedAt, &r.Operation, &r.SumKopecks
			err := tx.QueryRow(ctx, `SELECT id::text FROM receipts WHERE fn = $1 AND fd = $2 AND fp = $3
				AND identity_released AND participant_id = $4 LIMIT 1`, r.FN, r.FD, r.FP, r.ParticipantID).Scan(&own)
			if err == nil {
				return errIdempotent
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		err := tx.QueryRow(ctx, `INSERT INTO receipts (client_id, participant_id, program_id, shop_id, status,
			status_reason, source, idempotency_key, qr_raw, qr_canonical, fn, fd, fp, operation, purchased_at,
			sum_kopecks, photo_key, geo_lat, geo_lon)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)
			ON CONFLICT ON CONSTRAINT receipts_idempotency_key DO NOTHING
			RETURNING id, created_at, updated_at`,
			r.ClientID, r.ParticipantID, r.ProgramID, r.ShopID, string(r.Status), r.StatusReason, string(r.Source),
			nullStr(r.IdempotencyKey), nullStr(r.QRRaw), nullStr(r.QRCanonical), nullStr(r.FN), nullInt(r.FD),
			nullInt(r.FP), op, purchased, sum, nullStr(r.PhotoKey), r.GeoLat, r.GeoLon,
		).Scan(&r.ID, &r.CreatedAt, &r.UpdatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return errIdempotent
		}
		if postgres.ConstraintViolated(err) == "receipts_client_id_shop_id_fkey" {
			return fmt.Errorf("%w (%w)", receipt.ErrUnknownShop, err)
		}
		if err != nil {
			return err
		}
		return s.storeEvents(ctx, tx, r)
	})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errIdempotent) && own != "":
		existing, gerr := s.Get(ctx, own)
		if gerr != nil {
			return false, gerr
		}
		*r = existing
		return false, nil
	case errors.Is(err, errIdempotent):
		existing, gerr := s.byKey(ctx, r.ParticipantID, r.IdempotencyKey)
		if gerr != nil {
			return false, gerr
		}
		*r = existing
		return false, nil
	case postgres.IsUniqueViolation(err, fiscalIdentityKey):
		existing, gerr := s.byIdentity(ctx, r.FN, r.FD, r.FP)
		if errors.Is(gerr, receipt.ErrNotFound) {
			return false, errReleased
		}
		if gerr != nil {
			return false, gerr
		}
		if existing.ParticipantID != r.ParticipantID {
			return false, ErrClaimedByOther
		}
		*r = existing
		return false, nil
	}
	return false, err
}

var errIdempotent = errors.New("idempotency key seen")

func (s *Store) byKey(ctx context.Context, participantID int64, key string) (receipt.Receipt, error) {
	return scan(s.db.QueryRow(ctx, `SELECT `+columns+` FROM receipts WHERE participant_id = $1 AND idempotency_key = $2`, participantID, key))
}

func (s *Store) byIdentity(ctx context.Context, fn string, fd, fp int64) (receipt.Receipt, error) {
	return scan(s.db.QueryRow(ctx, `SELECT `+columns+` FROM receipts WHERE fn = $1 AND fd = $2 AND fp = $3
		AND NOT identity_released`, fn, fd, fp))
}

// Get returns the receipt with its items and events.
func (s *Store) Get(ctx context.Context, id string) (receipt.Receipt, error) {
	return s.get(ctx, s.db, id, "")
}

// GetForParticipant returns the receipt if participantID owns it, else
// ErrNotFound (not saying that it exists).
func (s *Store) GetForParticipant(ctx context.Context, participantID int64, id string) (receipt.Receipt, error) {
	r, err := s.get(ctx, s.db, id, "")
	if err != nil {
		return r, err
	}
	if r.ParticipantID != participantID {
		return receipt.Receipt{}, receipt.ErrNotFound
	}
	return r, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (s *Store) get(ctx context.Context, q querier, id, lock string) (receipt.Receipt, error) {
	if !validUUID(id) {
		return receipt.Receipt{}, receipt.ErrNotFound
	}
	r, err := scan(q.QueryRow(ctx, `SELECT `+columns+` FROM receipts WHERE id = $1 `+lock, id))
	if err != nil {
		return r, err
	}
	if r.Items, err = items(ctx, q, id); err != nil {
		return r, err
	}
	r.Events, err = events(ctx, q, id)
	return r, err
}

func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'):
		default:
			return false
		}
	}
	return true
}

func items(ctx context.Context, q querier, id string) ([]receipt.Item, error) {
	rows, err := q.Query(ctx, `SELECT line_no, name, price_kopecks, quantity_milli, sum_kopecks, COALESCE(gtin, ''),
		sku_id, COALESCE(match_how, ''), match_reason, points_kopecks, points_reason
		FROM receipt_items WHERE receipt_id = $1 ORDER BY line_no`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (receipt.Item, error) {
		var it receipt.Item
		err := row.Scan(&it.LineNo, &it.Name, &it.PriceKopecks, &it.QuantityMilli, &it.SumKopecks, &it.GTIN,
			&it.SKUID, &it.MatchHow, &it.MatchReason, &it.PointsKopecks, &it.PointsReason)
		return it, err
	})
}

func events(ctx context.Context, q querier, id string) ([]receipt.Event, error) {
	rows, err := q.Query(ctx, `SELECT at, COALESCE(from_status, ''), to_status, actor, reason, message, data
		FROM receipt_events WHERE receipt_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (receipt.Event, error) {
		var e receipt.Event
		var from, to string
		var data []byte
		err := row.Scan(&e.At, &from, &to, &e.Actor, &e.Reason, &e.Message, &data)
		e.From, e.To = receipt.Status(from), receipt.Status(to)
		if err == nil && len(data) > 0 {
			err = json.Unmarshal(data, &e.Data)
		}
		return e, err
	})
}

func insertEvents(ctx context.Context, tx pgx.Tx, id string, evs []receipt.Event) error {
	for _, e := range evs {
		var data []byte
		if e.Data != nil {
			var err error
			if data, err = json.Marshal(e.Data); err != nil {
				return err
			}
		}
		var from *string
		if e.From != "" {
			f := string(e.From)
			from = &f
		}
		if _, err := tx.Exec(ctx, `INSERT INTO receipt_events (receipt_id, from_status, to_status, actor, reason, message, data)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, from, string(e.To), e.Actor, e.Reason, e.Message, data); err != nil {
			return fmt.Errorf("insert receipt event: %w", err)
		}
	}
	return nil
}

// Update locks the receipt, lets fn change it (fn may also write other
// tables through tx, e.g. ledger postings, so everything commits or nothing
// does) and persists the receipt, its new events and, if ItemsChanged, its
// items. If fn returns an error nothing is written. The ctx fn gets carries
// tx (postgres.ContextWithTx): stores that join it (postgres.InTx) write
// in the same transaction. Saving a fiscal identity another receipt holds
// fails with receipt.ErrDuplicate.
func (s *Store) Update(ctx context.Context, id string, fn func(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) error) error {
	return postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		r, err := s.get(ctx, tx, id, "FOR UPDATE")
		if err != nil {
			return err
		}
		if err := fn(postgres.ContextWithTx(ctx, tx), tx, &r); err != nil {
			return err
		}
		return s.save(ctx, tx, &r)
	})
}

// storeEvents writes r's pending events and publishes them, with r as
// stored, to the subscribers.
func (s *Store) storeEvents(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) error {
	evs := r.TakePending()
	if len(evs) == 0 {
		return nil
	}
	if err := insertEvents(ctx, tx, r.ID, evs); err != nil {
		return err
	}
	c := receipt.Changed{Receipt: *r, Events: evs}
	for _, sub := range s.subs {
		if err := sub.ReceiptChanged(ctx, tx, c); err != nil {
			return fmt.Errorf("receipt subscriber: %w", err)
		}
	}
	return nil
}

func (s *Store) save(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) error {
	var purchased *time.Time
	var op *int
	var sum *int64
	if r.FN != "" {
		purchased, op, sum = &r.PurchasedAt, &r.Operation, &r.SumKopecks
	}
	var raw []byte
	if len(r.OFDRaw) > 0 {
		raw = r.OFDRaw
	}
	_, err := tx.Exec(ctx, `UPDATE receipts SET program_id = $2, shop_id = $3, status = $4, status_reason = $5,
		qr_raw = $6, qr_canonical = $7, fn = $8, fd = $9, fp = $10, operation = $11, purchased_at = $12,
		sum_kopecks = $13, ofd_provider = $14, seller_name = $15, seller_inn = $16, retail_place = $17,
		retail_address = $18, kkt_reg_number = $19, ofd_raw = $20, points_kopecks = $21, attempts = $22,
		next_attempt_at = $23, verified_at = $24, photo_key = $25, identity_released = $26, updated_at = now()
		WHERE id = $1`,
		r.ID, r.ProgramID, r.ShopID, string(r.Status), r.StatusReason, nullStr(r.QRRaw), nullStr(r.QRCanonical),
		nullStr(r.FN), nullInt(r.FD), nullInt(r.FP), op, purchased, sum, nullStr(r.OFDProvider),
		nullStr(r.SellerName), nullStr(r.SellerINN), nullStr(r.RetailPlace), nullStr(r.RetailAddress),
		nullStr(r.KKTRegNumber), raw, r.PointsKopecks, r.Attempts, r.NextAttemptAt, r.VerifiedAt, nullStr(r.PhotoKey),
		r.IdentityReleased)
	if postgres.IsUniqueViolation(err, fiscalIdentityKey) {
		return fmt.Errorf("update receipt: %w (%w)", receipt.ErrDuplicate, err)
	}
	if err != nil {
		return fmt.Errorf("update receipt: %w", err)
	}
	if r.ItemsChanged {
		if _, err := tx.Exec(ctx, `DELETE FROM receipt_items WHERE receipt_id = $1`, r.ID); err != nil {
			return err
		}
		for _, it := range r.Items {
			var how *string
			if it.MatchHow != "" {
				how = &it.MatchHow
			}
			if _, err := tx.Exec(ctx, `INSERT INTO receipt_items (receipt_id, line_no, name, price_kopecks,
				quantity_milli, sum_kopecks, gtin, sku_id, match_how, match_reason, points_kopecks, points_reason)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`, r.ID, it.LineNo, it.Name, it.PriceKopecks,
				it.QuantityMilli, it.SumKopecks, nullStr(it.GTIN), it.SKUID, how, it.MatchReason,
				it.PointsKopecks, it.PointsReason); err != nil {
				return fmt.Errorf("insert receipt item: %w", err)
			}
		}
		r.ItemsChanged = false
	}
	return s.storeEvents(ctx, tx, r)
}

// Page is one page of a participant's receipts.
type Page struct {
	Receipts   []receipt.Receipt
	NextCursor string
}

// List returns a participant's receipts newest first, limit at a time,
// optionally of one status; cursor is the NextCursor of the previous page.
func (s *Store) List(ctx context.Context, participantID int64, status receipt.Status, cursor string, limit int) (Page, error) {
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	var curAt time.Time
	var curID string
	if cursor != "" {
		var err error
		if curAt, curID, err = decodeCursor(cursor); err != nil {
			return Page{}, apperr.New(apperr.Invalid, "bad_cursor", "Некорректный курсор страницы.")
		}
	}
	rows, err := s.db.Query(ctx, `SELECT `+columns+` FROM receipts
		WHERE participant_id = $1 AND ($2 = '' OR status = $2)
		  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
		ORDER BY created_at DESC, id DESC LIMIT $5`,
		participantID, string(status), nullTime(curAt), nullUUID(curID), limit+1)
	if err != nil {
		return Page{}, err
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (receipt.Receipt, error) { return scan(row) })
	if err != nil {
		return Page{}, err
	}
	var p Page
	if len(list) > limit {
		last := list[limit-1]
		p.NextCursor = encodeCursor(last.CreatedAt, last.ID)
		list = list[:limit]
	}
	p.Receipts = list
	return p, nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nullUUID(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Stuck returns a page of receipts in a non-terminal state that may have
// lost their task with Redis (see receipt.StuckQuery), oldest first.
func (s *Store) Stuck(ctx context.Context, q receipt.StuckQuery) ([]receipt.Receipt, error) {
	rows, err := s.db.Query(ctx, `SELECT `+columns+` FROM receipts
		WHERE status IN ('received', 'decoded', 'queued', 'verifying', 'pending_ofd', 'verified', 'matched')
		  AND updated_at < $1 AND (next_attempt_at IS NULL OR next_attempt_at < $2)
		  AND ($3::uuid IS NULL OR (updated_at, id) > ($4, $3::uuid))
		ORDER BY updated_at, id LIMIT $5`, q.UntouchedBefore, q.DueBefore, nullUUID(q.AfterID), q.AfterUpdated, q.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (receipt.Receipt, error) { return scan(row) })
}

// BacklogRow counts the receipts of one status in the backlog.
type BacklogRow struct {
	Status receipt.Status
	Count  int64
	// Oldest is the earliest updated_at among them.
	Oldest time.Time
}

// Backlog counts, by status, the receipts in a non-terminal state that
// nothing has touched since before and that wait for no retry scheduled
// after before: work the pipeline owes and is not doing (a lost task, a
// stopped worker, a backlog larger than the workers).
func (s *Store) Backlog(ctx context.Context, before time.Time) ([]BacklogRow, error) {
	rows, err := s.db.Query(ctx, `SELECT status, count(*), min(updated_at) FROM receipts
		WHERE status IN ('received', 'decoded', 'queued', 'verifying', 'pending_ofd', 'verified', 'matched')
		  AND updated_at < $1 AND (next_attempt_at IS NULL OR next_attempt_at < $1)
		GROUP BY status ORDER BY status`, before)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (BacklogRow, error) {
		var b BacklogRow
		err := row.Scan(&b.Status, &b.Count, &b.Oldest)
		return b, err
	})
}
