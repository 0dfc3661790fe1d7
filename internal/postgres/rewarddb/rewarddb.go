// Package rewarddb stores the reward catalog, the offers and the
// redemption orders, and moves their points in the ledger: the hold in the
// transaction that records an order, the commit or void in the one that
// settles it.
package rewarddb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/notify"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/reward"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/provider"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
)

// Store is the reward store.
type Store struct {
	db       *pgxpool.Pool
	ledger   ledger.Postings
	rec      audit.Recorder
	box      *sealbox.Box
	subs     []reward.DeliverySubscriber[pgx.Tx]
	gate     reward.TaxGate
	notifier reward.Notifier[pgx.Tx]
	now      func() time.Time
	consent  reward.ConsentGate
}

// Option configures a Store.
type Option func(*Store)

// WithDeliverySubscribers publishes every delivery and reversal to subs in
// its transaction (the tax domain records income there).
func WithDeliverySubscribers(subs ...reward.DeliverySubscriber[pgx.Tx]) Option {
	return func(s *Store) { s.subs = append(s.subs, subs...) }
}

// WithTaxGate makes Create ask g whether the participant must complete a
// tax profile first. Without it redemption does not ask.
func WithTaxGate(g reward.TaxGate) Option { return func(s *Store) { s.gate = g } }

// WithNotifier tells the participant of a delivered or failed order
// through n, in the transaction that settles it (notifydb.Notifier: the
// inbox outbox). Without it the store notifies no one.
func WithNotifier(n reward.Notifier[pgx.Tx]) Option { return func(s *Store) { s.notifier = n } }

// WithConsentGate makes Create refuse an order whose participant lacks a
// consent the offer's program requires before redeeming.
func WithConsentGate(g reward.ConsentGate) Option { return func(s *Store) { s.consent = g } }

// New returns a store on db that moves points through postings and
// records staff actions with rec (both in the store's transaction, joined
// by the context), and seals delivered codes with box.
func New(db *pgxpool.Pool, postings ledger.Postings, rec audit.Recorder, box *sealbox.Box, opts ...Option) *Store {
	s := &Store{db: db, ledger: postings, rec: rec, box: box, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

var _ reward.SagaStore = (*Store)(nil)

// SyncProducts writes a provider's product list into the global catalog:
// new products are added, known ones updated, and the provider's products
// missing from the list marked unavailable (never deleted: orders name
// them). It returns how many products it wrote.
func (s *Store) SyncProducts(ctx context.Context, providerName string, products []provider.Product) (int, error) {
	n := 0
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		n = 0
		seen := make([]string, 0, len(products))
		for _, p := range products {
			if p.Provider != "" && p.Provider != providerName {
				return fmt.Errorf("rewarddb: product %s of provider %s in %s's list", p.ExternalID, p.Provider, providerName)
			}
			faces := make([]int64, 0, len(p.FixedFaces))
			for _, f := range p.FixedFaces {
				faces = append(faces, int64(f))
			}
			if _, err := tx.Exec(ctx, `INSERT INTO rewards (provider, external_id, kind, title, brand, description, image_url,
				    fixed_faces, face_min, face_max, available, synced_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())
				ON CONFLICT (provider, external_id) DO UPDATE SET kind = EXCLUDED.kind, title = EXCLUDED.title,
				    brand = EXCLUDED.brand, description = EXCLUDED.description, image_url = EXCLUDED.image_url,
				    fixed_faces = EXCLUDED.fixed_faces, face_min = EXCLUDED.face_min, face_max = EXCLUDED.face_max,
				    available = EXCLUDED.available, synced_at = now()`,
				providerName, p.ExternalID, string(p.Kind), p.Title, p.Brand, p.Description, p.ImageURL,
				faces, int64(p.FaceMin), int64(p.FaceMax), p.Available); err != nil {
				return fmt.Errorf("rewarddb: sync product %s/%s: %w", providerName, p.ExternalID, err)
			}
			seen = append(seen, p.ExternalID)
			n++
		}
		_, err := tx.Exec(ctx, `UPDATE rewards SET available = false, synced_at = now()
			WHERE provider = $1 AND available AND NOT (external_id = ANY($2))`, providerName, seen)
		return err
	})
	return n, err
}

// OfferInput is a client's offer of a catalog reward in a program.
type OfferInput struct {
	ClientID    int64
	ProgramID   int64
	RewardID    int64
	Roles       []string
	MarkupBP    int
	Title       string
	Description string
	Available   bool
	Stock       *int
}

// PutOffer creates or updates the offer of in.RewardID in in.ProgramID and
// returns its id.
func (s *Store) PutOffer(ctx context.Context, tx pgx.Tx, in OfferInput) (int64, error) {
	roles := in.Roles
	if roles == nil {
		roles = []string{}
	}
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO reward_offers (client_id, program_id, reward_id, roles, markup_bp, title, description, available, stock)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (program_id, reward_id) DO UPDATE SET roles = EXCLUDED.roles, markup_bp = EXCLUDED.markup_bp,
		    title = EXCLUDED.title, description = EXCLUDED.description, available = EXCLUDED.available, stock = EXCLUDED.stock
		WHERE reward_offers.client_id = EXCLUDED.client_id
		RETURNING id`, in.ClientID, in.ProgramID, in.RewardID, roles, in.MarkupBP, in.Title, in.Description, in.Available, in.Stock).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, reward.ErrOfferNotFound
	}
	return id, err
}

// PutLimits sets a program's redemption limits.
func (s *Store) PutLimits(ctx context.Context, tx pgx.Tx, clientID, programID int64, l reward.Limits) error {
	_, err := tx.Exec(ctx, `INSERT INTO reward_limits (program_id, client_id, per_order_kopecks, per_day_kopecks, per_month_kopecks,
		    moderation_kopecks, cooling_off_kopecks, cooling_off_hours)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (program_id) DO UPDATE SET per_order_kopecks = EXCLUDED.per_order_kopecks,
		    per_day_kopecks = EXCLUDED.per_day_kopecks, per_month_kopecks = EXCLUDED.per_month_kopecks,
		    moderation_kopecks = EXCLUDED.moderation_kopecks, cooling_off_kopecks = EXCLUDED.cooling_off_kopecks,
		    cooling_off_hours = EXCLUDED.cooling_off_hours
		WHERE reward_limits.client_id = EXCLUDED.client_id`,
		programID, clientID, int64(l.PerOrder), int64(l.PerDay), int64(l.PerMonth), int64(l.Moderation),
		int64(l.CoolingOffCredit), int(l.CoolingOffFor/time.Hour))
	return err
}

const offerCols = `o.id, o.program_id, r.id, r.provider, r.external_id, r.kind,
	CASE WHEN o.title <> '' THEN o.title ELSE r.title END, r.brand,
	CASE WHEN o.description <> '' THEN o.description ELSE r.description END, r.image_url,
	r.fixed_faces, r.face_min, r.face_max, o.markup_bp, o.roles,
	(o.available AND r.available AND r.enabled AND (o.stock IS NULL OR o.stock > 0)), o.stock`

type rowScanner interface{ Scan(dest ...any) error }

func scanOffer(row rowScanner, externalID *string) (reward.Offer, error) {
	var o reward.Offer
	var kind string
	var faces []int64
	var fmin, fmax int64
	var ext string
	if err := row.Scan(&o.ID, &o.ProgramID, &o.RewardID, &o.Provider, &ext, &kind, &o.Title, &o.Brand, &o.Description,
		&o.ImageURL, &faces, &fmin, &fmax, &o.MarkupBP, &o.Roles, &o.Available, &o.Stock); err != nil {
		return o, err
	}
	if externalID != nil {
		*externalID = ext
	}
	o.Kind = provider.Kind(kind)
	for _, f := range faces {
		o.FixedFaces = append(o.FixedFaces, money.Kopecks(f))
	}
	o.FaceMin, o.FaceMax = money.Kopecks(fmin), money.Kopecks(fmax)
	return o, nil
}

// Offers returns what a participant of role may order: the offers of the
// client's live programs (and test programs for a test participant) open
// to the role, with their availability.
func (s *Store) Offers(ctx context.Context, clientID, participantID int64, role string) ([]reward.Offer, error) {
	rows, err := s.db.Query(ctx, `SELECT `+offerCols+`
		FROM reward_offers o JOIN rewards r ON r.id = o.reward_id
		JOIN programs p ON p.id = o.program_id AND p.client_id = o.client_id
		JOIN participants pa ON pa.id = $2 AND pa.client_id = o.client_id
		WHERE o.client_id = $1 AND (cardinality(o.roles) = 0 OR $3 = ANY(o.roles))
		  AND (p.status = 'live' OR (p.status = 'test' AND pa.is_test))
		ORDER BY o.id`, clientID, participantID, role)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []reward.Offer
	for rows.Next() {
		o, err := scanOffer(rows, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

var (
	uuidRe    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	phoneRe   = regexp.MustCompile(`^\+[1-9][0-9]{9,14}$`)
	accountRe = regexp.MustCompile(`^[A-Za-z0-9+@._-]{3,100}$`)
)

// requestHash identifies what an Idempotency-Key was first used for.
func requestHash(r reward.Request) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%d|%d|%s|%s|%s", r.OfferID, r.Face, r.Phone, r.Account, r.Email))
	return hex.EncodeToString(h[:])
}

// Create records a participant's order and holds its points, in one
// transaction: nothing is held without an order and no order exists
// without its hold. The same Idempotency-Key with the same request returns
// the first order (created false); with another request ErrKeyReused.
// The participant's row is locked for the transaction, so their orders
// are checked against the limits and the balance one at a time: no
// concurrency can spend the same points twice (the ledger's CHECK on the
// available balance is the last line).
func (s *Store) Create(ctx context.Context, req reward.Request) (reward.Redemption, bool, error) {
	if err := req.Validate(); err != nil {
		return reward.Redemption{}, false, err
	}
	hash := requestHash(req)
	if s.gate != nil {
		// The gate is asked with the offer's price before the transaction.
		o, _, err := s.offer(ctx, s.db, req.ClientID, req.OfferID, false)
		if err != nil {
			return reward.Redemption{}, false, err
		}
		need, err := s.gate.NeedsTaxProfile(ctx, req.ClientID, req.ParticipantID, reward.Price(req.Face, o.MarkupBP))
		if err != nil {
			return reward.Redemption{}, false, err
		}
		if need {
			return reward.Redemption{}, false, reward.ErrTaxProfileRequired
		}
	}
	var id string
	created := false
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		created = false
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM participants WHERE id = $1 AND client_id = $2 FOR UPDATE`,
			req.ParticipantID, req.ClientID).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return reward.ErrNotFound
		}
		if err != nil {
			return err
		}
		var prevHash string
		err = tx.QueryRow(ctx, `SELECT id::text, request_hash FROM redemptions WHERE participant_id = $1 AND idempotency_key = $2`,
			req.ParticipantID, req.IdempotencyKey).Scan(&id, &prevHash)
		if err == nil {
			if prevHash != hash {
				return reward.ErrKeyReused
			}
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if status == "blocked" {
			return reward.ErrBlocked
		}
		o, ext, err := s.offer(ctx, tx, req.ClientID, req.OfferID, true)
		if err != nil {
			return err
		}
		if s.consent != nil {
			// Asked for new orders only (a replayed key returns its order
			// above even after a withdrawal), in this transaction.
			lacking, err := s.consent.LackingForRedeeming(postgres.ContextWithTx(ctx, tx), req.ClientID, o.ProgramID, req.ParticipantID)
			if err != nil {
				return err
			}
			if len(lacking) > 0 {
				return reward.ConsentRequired(lacking)
			}
		}
		if len(o.Roles) > 0 && !slices.Contains(o.Roles, req.Role) {
			return reward.ErrRole
		}
		if o.Stock != nil && *o.Stock == 0 {
			return reward.ErrOutOfStock
		}
		if !o.Available {
			return reward.ErrUnavailable
		}
		if !o.FaceAllowed(req.Face) {
			return reward.ErrFace
		}
		switch o.Kind {
		case provider.MobileTopUp:
			if !phoneRe.MatchString(req.Phone) {
				return reward.ErrRecipient
			}
		case provider.WalletTopUp:
			if !accountRe.MatchString(req.Account) {
				return reward.ErrRecipient
			}
		}
		price := reward.Price(req.Face, o.MarkupBP)
		var lim reward.Limits
		var perOrder, perDay, perMonth, mod, today, month int64
		var cooling bool
		err = tx.QueryRow(ctx, `SELECT COALESCE(l.per_order_kopecks, 0), COALESCE(l.per_day_kopecks, 0),
			    COALESCE(l.per_month_kopecks, 0), COALESCE(l.moderation_kopecks, 0),
			    COALESCE(l.cooling_off_kopecks > 0 AND l.cooling_off_hours > 0 AND EXISTS (
			        SELECT 1 FROM ledger_accounts la JOIN ledger_postings lp ON lp.account_id = la.id
			          JOIN ledger_transactions lt ON lt.id = lp.transaction_id
			         WHERE la.participant_id = $2 AND la.program_id = $1
			           AND la.kind IN ('participant_available', 'participant_pending')
			           AND lp.amount_kopecks >= l.cooling_off_kopecks
			           AND lt.kind NOT IN ('redemption_void', 'redemption_refund', 'pending_release')
			           AND lt.created_at > now() - make_interval(hours => l.cooling_off_hours)), false),
			    COALESCE((SELECT SUM(price_kopecks) FROM redemptions r WHERE r.participant_id = $2 AND r.program_id = $1
			       AND r.status NOT IN ('failed', 'refunded') AND r.created_at >= date_trunc('day', now() AT TIME ZONE c.timezone) AT TIME ZONE c.timezone), 0),
			    COALESCE((SELECT SUM(price_kopecks) FROM redemptions r WHERE r.participant_id = $2 AND r.program_id = $1
			       AND r.status NOT IN ('failed', 'refunded') AND r.created_at >= date_trunc('month', now() AT TIME ZONE c.timezone) AT TIME ZONE c.timezone), 0)
			FROM programs p JOIN clients c ON c.id = p.client_id
			LEFT JOIN reward_limits l ON l.program_id = p.id
			WHERE p.id = $1`, o.ProgramID, req.ParticipantID).Scan(&perOrder, &perDay, &perMonth, &mod, &cooling, &today, &month)
		if err != nil {
			return fmt.Errorf("rewarddb: limits: %w", err)
		}
		lim = reward.Limits{PerOrder: money.Kopecks(perOrder), PerDay: money.Kopecks(perDay),
			PerMonth: money.Kopecks(perMonth), Moderation: money.Kopecks(mod)}
		if err := reward.CheckLimits(lim, price, money.Kopecks(today), money.Kopecks(month)); err != nil {
			return err
		}
		if cooling {
			return reward.ErrCoolingOff
		}
		if err := tx.QueryRow(ctx, `SELECT gen_random_uuid()::text`).Scan(&id); err != nil {
			return err
		}
		holdTx, err := s.ledger.Post(postgres.ContextWithTx(ctx, tx), ledger.Transaction{
			IdempotencyKey: reward.HoldKey(id), Kind: ledger.KindRedemptionHold, ClientID: req.ClientID,
			ProgramID: o.ProgramID, ParticipantID: req.ParticipantID, Memo: o.Title,
			Postings: []ledger.Posting{
				{Account: ledger.AvailableAccount(req.ClientID, o.ProgramID, req.ParticipantID), AmountKopecks: -int64(price)},
				{Account: ledger.HoldAccount(req.ClientID, o.ProgramID, req.ParticipantID), AmountKopecks: int64(price)},
			}})
		if err != nil {
			return err
		}
		st := reward.Queued
		if lim.NeedsModeration(price) {
			st = reward.Moderation
		}
		if o.Stock != nil {
			if _, err := tx.Exec(ctx, `UPDATE reward_offers SET stock = stock - 1 WHERE id = $1`, o.ID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO redemptions (id, client_id, program_id, participant_id, offer_id, reward_id,
			    provider, idempotency_key, request_hash, face_kopecks, price_kopecks, phone, account, email, status, hold_tx_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			id, req.ClientID, o.ProgramID, req.ParticipantID, o.ID, o.RewardID, o.Provider, req.IdempotencyKey, hash,
			int64(req.Face), int64(price), req.Phone, req.Account, req.Email, string(st), holdTx); err != nil {
			return fmt.Errorf("rewarddb: insert redemption: %w", err)
		}
		_ = ext
		created = true
		return event(ctx, tx, id, st, "")
	})
	if err != nil {
		return reward.Redemption{}, false, err
	}
	r, err := s.load(ctx, s.db, id, false)
	return r, created, err
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// offer reads one of the client's offers (locked for update in a
// transaction when lock is true: the stock is decremented there).
func (s *Store) offer(ctx context.Context, q querier, clientID, offerID int64, lock bool) (reward.Offer, string, error) {
	sql := `SELECT ` + offerCols + ` FROM reward_offers o JOIN rewards r ON r.id = o.reward_id
		JOIN programs p ON p.id = o.program_id
		WHERE o.id = $1 AND o.client_id = $2 AND p.status IN ('live', 'test')`
	if lock {
		sql += ` FOR UPDATE OF o`
	}
	var ext string
	o, err := scanOffer(q.QueryRow(ctx, sql, offerID, clientID), &ext)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, "", reward.ErrOfferNotFound
	}
	return o, ext, err
}

func event(ctx context.Context, tx pgx.Tx, id string, st reward.Status, msg string) error {
	_, err := tx.Exec(ctx, `INSERT INTO redemption_events (redemption_id, status, message) VALUES ($1, $2, $3)`, id, string(st), msg)
	return err
}

const redemptionCols = `d.id::text, d.client_id, d.program_id, d.participant_id, d.offer_id, d.reward_id, d.provider,
	r.external_id, r.kind, CASE WHEN o.title <> '' THEN o.title ELSE r.title END,
	d.face_kopecks, d.price_kopecks, d.phone, d.account, d.email, d.status, d.attempts, d.provider_ref,
	d.code_sealed, d.pin_sealed, d.url_sealed, d.expires_at, d.cost_kopecks, d.failure_code, d.failure_message,
	d.last_error, d.created_at, d.updated_at`

const redemptionFrom = ` FROM redemptions d JOIN rewards r ON r.id = d.reward_id JOIN reward_offers o ON o.id = d.offer_id `

// scanRedemption reads a row of redemptionCols; open opens the sealed
// goods (for their owner only).
func (s *Store) scanRedemption(row rowScanner, open bool) (reward.Redemption, error) {
	var r reward.Redemption
	var kind, status, code, pin, url string
	var face, price, cost int64
	var expires *time.Time
	err := row.Scan(&r.ID, &r.ClientID, &r.ProgramID, &r.ParticipantID, &r.OfferID, &r.RewardID, &r.Provider,
		&r.ExternalID, &kind, &r.Title, &face, &price, &r.Phone, &r.Account, &r.Email, &status, &r.Attempts,
		&r.ProviderRef, &code, &pin, &url, &expires, &cost, &r.FailureCode, &r.FailureMessage, &r.LastError,
		&r.CreatedAt, &r.UpdatedAt)
	if err != nil {
		return r, err
	}
	r.Kind, r.Status = provider.Kind(kind), reward.Status(status)
	r.Face, r.Price, r.Cost = money.Kopecks(face), money.Kopecks(price), money.Kopecks(cost)
	if expires != nil {
		r.ExpiresAt = *expires
	}
	if open {
		for _, f := range []struct {
			sealed, field string
			dst           *string
		}{{code, "code", &r.Code}, {pin, "pin", &r.PIN}, {url, "url", &r.URL}} {
			if f.sealed == "" {
				continue
			}
			v, err := s.box.Open(f.sealed, sealAD(r.ID, f.field))
			if err != nil {
				return r, fmt.Errorf("rewarddb: open %s of %s: %w", f.field, r.ID, err)
			}
			*f.dst = v
		}
	}
	return r, nil
}

// sealAD binds a sealed value to its order and field: a value copied to
// another row or field does not open there.
func sealAD(id, field string) []byte { return []byte("redemption:" + id + ":" + field) }

func (s *Store) load(ctx context.Context, q querier, id string, open bool) (reward.Redemption, error) {
	if !uuidRe.MatchString(id) {
		return reward.Redemption{}, reward.ErrNotFound
	}
	r, err := s.scanRedemption(q.QueryRow(ctx, `SELECT `+redemptionCols+redemptionFrom+` WHERE d.id = $1`, id), open)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, reward.ErrNotFound
	}
	return r, err
}

// Load implements reward.SagaStore (goods stay sealed).
func (s *Store) Load(ctx context.Context, id string) (reward.Redemption, error) {
	return s.load(ctx, s.db, id, false)
}

// ForParticipant returns participant's order id with its status history
// and, once delivered, its opened code: only to its owner (another
// participant's order is ErrNotFound).
func (s *Store) ForParticipant(ctx context.Context, participantID int64, id string) (reward.Redemption, error) {
	if !uuidRe.MatchString(id) {
		return reward.Redemption{}, reward.ErrNotFound
	}
	r, err := s.scanRedemption(s.db.QueryRow(ctx, `SELECT `+redemptionCols+redemptionFrom+
		` WHERE d.id = $1 AND d.participant_id = $2`, id, participantID), true)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, reward.ErrNotFound
	}
	if err != nil {
		return r, err
	}
	rows, err := s.db.Query(ctx, `SELECT status, message, at FROM redemption_events WHERE redemption_id = $1 ORDER BY id`, id)
	if err != nil {
		return r, err
	}
	defer rows.Close()
	for rows.Next() {
		var e reward.Event
		var st string
		if err := rows.Scan(&st, &e.Message, &e.At); err != nil {
			return r, err
		}
		e.Status = reward.Status(st)
		r.Events = append(r.Events, e)
	}
	return r, rows.Err()
}

// Filter selects orders for the dashboard and for a participant's list.
type Filter struct {
	ClientID      int64 // 0: every client (the operator)
	ParticipantID int64 // 0: every participant
	ProgramID     int64
	Statuses      []reward.Status
	From, To      time.Time // created_at in [From, To); zero: open
	// Stuck: open orders untouched since before this time.
	StuckBefore time.Time
	BeforeID    string // keyset: orders created before this order
	Limit       int    // 1..1000, default 50
}

// List returns orders matching f, newest first (goods sealed).
func (s *Store) List(ctx context.Context, f Filter) ([]reward.Redemption, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 50
	}
	where := "true"
	args := []any{}
	add := func(cond string, v any) {
		args = append(args, v)
		where += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.ClientID != 0 {
		add("d.client_id = $%d", f.ClientID)
	}
	if f.ParticipantID != 0 {
		add("d.participant_id = $%d", f.ParticipantID)
	}
	if f.ProgramID != 0 {
		add("d.program_id = $%d", f.ProgramID)
	}
	if len(f.Statuses) > 0 {
		st := make([]string, len(f.Statuses))
		for i, x := range f.Statuses {
			st[i] = string(x)
		}
		add("d.status = ANY($%d)", st)
	}
	if !f.From.IsZero() {
		add("d.created_at >= $%d", f.From)
	}
	if !f.To.IsZero() {
		add("d.created_at < $%d", f.To)
	}
	if !f.StuckBefore.IsZero() {
		add("d.status IN ('queued', 'placing', 'processing') AND d.updated_at < $%d", f.StuckBefore)
	}
	if f.BeforeID != "" {
		if !uuidRe.MatchString(f.BeforeID) {
			return nil, reward.ErrNotFound
		}
		add("(d.created_at, d.id) < (SELECT created_at, id FROM redemptions WHERE id = $%d)", f.BeforeID)
	}
	args = append(args, f.Limit)
	rows, err := s.db.Query(ctx, `SELECT `+redemptionCols+redemptionFrom+` WHERE `+where+
		fmt.Sprintf(` ORDER BY d.created_at DESC, d.id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []reward.Redemption
	for rows.Next() {
		r, err := s.scanRedemption(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// StuckOrders returns open orders untouched since before, oldest first.
func (s *Store) StuckOrders(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := s.db.Query(ctx, `SELECT id::text FROM redemptions
		WHERE status IN ('queued', 'placing', 'processing') AND updated_at < $1 ORDER BY updated_at LIMIT $2`, before, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// lockOpen locks order id and returns it; ok is false when it is not in
// one of from.
func (s *Store) lockOpen(ctx context.Context, tx pgx.Tx, id string, from ...reward.Status) (reward.Redemption, bool, error) {
	if !uuidRe.MatchString(id) {
		return reward.Redemption{}, false, reward.ErrNotFound
	}
	var st string
	err := tx.QueryRow(ctx, `SELECT status FROM redemptions WHERE id = $1 FOR UPDATE`, id).Scan(&st)
	if errors.Is(err, pgx.ErrNoRows) {
		return reward.Redemption{}, false, reward.ErrNotFound
	}
	if err != nil {
		return reward.Redemption{}, false, err
	}
	if !slices.Contains(from, reward.Status(st)) {
		return reward.Redemption{}, false, nil
	}
	r, err := s.load(ctx, tx, id, false)
	return r, err == nil, err
}

// BeginPlacing implements reward.SagaStore.
func (s *Store) BeginPlacing(ctx context.Context, id string) (reward.Redemption, bool, error) {
	var r reward.Redemption
	var ok bool
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		r, ok, err = s.lockOpen(ctx, tx, id, reward.Queued)
		if err != nil || !ok {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE redemptions SET status = 'placing', attempts = attempts + 1, updated_at = now()
			WHERE id = $1`, id); err != nil {
			return err
		}
		r.Status, r.Attempts = reward.Placing, r.Attempts+1
		return event(ctx, tx, id, reward.Placing, fmt.Sprintf("попытка %d", r.Attempts))
	})
	return r, ok, err
}

// Requeue implements reward.SagaStore.
func (s *Store) Requeue(ctx context.Context, id, why string) error {
	return postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		_, ok, err := s.lockOpen(ctx, tx, id, reward.Placing)
		if err != nil || !ok {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE redemptions SET status = 'queued', last_error = $2, updated_at = now() WHERE id = $1`,
			id, trim(why)); err != nil {
			return err
		}
		return event(ctx, tx, id, reward.Queued, trim(why))
	})
}

// Processing implements reward.SagaStore.
func (s *Store) Processing(ctx context.Context, id string, st reward.Status, ref, why string) error {
	return postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		r, ok, err := s.lockOpen(ctx, tx, id, reward.Placing, reward.Processing)
		if err != nil || !ok {
			return err
		}
		if ref == "" {
			ref = r.ProviderRef
		}
		if _, err := tx.Exec(ctx, `UPDATE redemptions SET status = $2, provider_ref = $3, last_error = $4, updated_at = now() WHERE id = $1`,
			id, string(st), ref, trim(why)); err != nil {
			return err
		}
		if r.Status != st {
			return event(ctx, tx, id, st, "")
		}
		return nil
	})
}

func trim(s string) string {
	if len(s) > 500 {
		return s[:500]
	}
	return s
}

// Deliver implements reward.SagaStore.
func (s *Store) Deliver(ctx context.Context, id string, res provider.Result) error {
	return postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		r, ok, err := s.lockOpen(ctx, tx, id, reward.Queued, reward.Placing, reward.Processing)
		if err != nil || !ok {
			return err
		}
		settle, err := s.ledger.Post(postgres.ContextWithTx(ctx, tx), ledger.Transaction{
			IdempotencyKey: reward.SettleKey(id), Kind: ledger.KindRedemption, ClientID: r.ClientID,
			ProgramID: r.ProgramID, ParticipantID: r.ParticipantID, Memo: r.Title,
			Postings: []ledger.Posting{
				{Account: ledger.HoldAccount(r.ClientID, r.ProgramID, r.ParticipantID), AmountKopecks: -int64(r.Price)},
				{Account: ledger.RedemptionAccount(r.ClientID), AmountKopecks: int64(r.Price)},
			}})
		if err != nil {
			return err
		}
		seal := func(v, field string) string {
			if v == "" {
				return ""
			}
			return s.box.Seal(v, sealAD(id, field))
		}
		var expires *time.Time
		if !res.ExpiresAt.IsZero() {
			expires = &res.ExpiresAt
		}
		ref := res.ProviderRef
		if ref == "" {
			ref = r.ProviderRef
		}
		if _, err := tx.Exec(ctx, `UPDATE redemptions SET status = 'delivered', settle_tx_id = $2, provider_ref = $3,
			    code_sealed = $4, pin_sealed = $5, url_sealed = $6, expires_at = $7, cost_kopecks = $8, last_error = '',
			    updated_at = now() WHERE id = $1`,
			id, settle, ref, seal(res.Code, "code"), seal(res.PIN, "pin"), seal(res.URL, "url"), expires, max(int64(res.Cost), 0)); err != nil {
			return err
		}
		if err := event(ctx, tx, id, reward.Delivered, ""); err != nil {
			return err
		}
		if s.notifier != nil {
			if err := s.notifier.Notify(ctx, tx, notify.Intent{ParticipantID: r.ParticipantID, Type: notify.RewardDelivered,
				DedupKey: "redemption:" + id + ":delivered",
				Data:     notify.Data{RedemptionID: id, Title: r.Title, PointsKopecks: int64(r.Price)}}); err != nil {
				return err
			}
		}
		d := delivery(r, s.now())
		for _, sub := range s.subs {
			if err := sub.RewardDelivered(ctx, tx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

func delivery(r reward.Redemption, at time.Time) reward.Delivery {
	return reward.Delivery{RedemptionID: r.ID, ClientID: r.ClientID, ProgramID: r.ProgramID, ParticipantID: r.ParticipantID,
		Kind: r.Kind, Title: r.Title, Face: r.Face, Price: r.Price, At: at}
}

// Fail implements reward.SagaStore.
func (s *Store) Fail(ctx context.Context, id, code, detail string) error {
	return postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		r, ok, err := s.lockOpen(ctx, tx, id, reward.Moderation, reward.Queued, reward.Placing, reward.Processing)
		if err != nil || !ok {
			return err
		}
		msg := reward.FailureMessage(code)
		settle, err := s.ledger.Post(postgres.ContextWithTx(ctx, tx), ledger.Transaction{
			IdempotencyKey: reward.SettleKey(id), Kind: ledger.KindRedemptionVoid, ClientID: r.ClientID,
			ProgramID: r.ProgramID, ParticipantID: r.ParticipantID, Memo: msg,
			Postings: []ledger.Posting{
				{Account: ledger.HoldAccount(r.ClientID, r.ProgramID, r.ParticipantID), AmountKopecks: -int64(r.Price)},
				{Account: ledger.AvailableAccount(r.ClientID, r.ProgramID, r.ParticipantID), AmountKopecks: int64(r.Price)},
			}})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE redemptions SET status = 'failed', settle_tx_id = $2, failure_code = $3,
			    failure_message = $4, last_error = $5, updated_at = now() WHERE id = $1`,
			id, settle, code, msg, trim(detail)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE reward_offers SET stock = stock + 1 WHERE id = $1 AND stock IS NOT NULL`, r.OfferID); err != nil {
			return err
		}
		if err := event(ctx, tx, id, reward.Failed, msg); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, r, string(reward.Failed)); err != nil {
			return err
		}
		if s.notifier != nil {
			err := s.notifier.Notify(ctx, tx, notify.Intent{ParticipantID: r.ParticipantID, Type: notify.RewardFailed,
				DedupKey: "redemption:" + id + ":failed",
				Data:     notify.Data{RedemptionID: id, Title: r.Title, PointsKopecks: int64(r.Price), Reason: code, ReasonMessage: msg}})
			return err
		}
		return nil
	})
}

// Refund takes a delivered order back: its points move from the client's
// redemption account back to the participant's available account
// (redemption_refund), the order becomes refunded, and every
// DeliverySubscriber hears RewardReversed — in one transaction.
func (s *Store) Refund(ctx context.Context, id, reason string) error {
	return postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		r, ok, err := s.lockOpen(ctx, tx, id, reward.Delivered)
		if err != nil {
			return err
		}
		if !ok {
			return reward.ErrNotRefundable
		}
		back, err := s.ledger.Post(postgres.ContextWithTx(ctx, tx), ledger.Transaction{
			IdempotencyKey: "redemption:" + id + ":refund", Kind: ledger.KindRedemptionBack, ClientID: r.ClientID,
			ProgramID: r.ProgramID, ParticipantID: r.ParticipantID, Memo: r.Title,
			Postings: []ledger.Posting{
				{Account: ledger.RedemptionAccount(r.ClientID), AmountKopecks: -int64(r.Price)},
				{Account: ledger.AvailableAccount(r.ClientID, r.ProgramID, r.ParticipantID), AmountKopecks: int64(r.Price)},
			}})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE redemptions SET status = 'refunded', refund_tx_id = $2, failure_message = $3,
			    updated_at = now() WHERE id = $1`, id, back, trim(reason)); err != nil {
			return err
		}
		if err := event(ctx, tx, id, reward.Refunded, trim(reason)); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, r, string(reward.Refunded)); err != nil {
			return err
		}
		for _, sub := range s.subs {
			if err := sub.RewardReversed(ctx, tx, delivery(r, s.now()), reason); err != nil {
				return err
			}
		}
		return nil
	})
}

// Approve moves an order waiting for a moderator to queued (the caller
// enqueues its task); ok is false when it was not waiting.
func (s *Store) Approve(ctx context.Context, clientID int64, id string) (bool, error) {
	ok := false
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		r, open, err := s.lockOpen(ctx, tx, id, reward.Moderation)
		if err != nil || !open {
			return err
		}
		if r.ClientID != clientID {
			return reward.ErrNotFound
		}
		if _, err := tx.Exec(ctx, `UPDATE redemptions SET status = 'queued', updated_at = now() WHERE id = $1`, id); err != nil {
			return err
		}
		ok = true
		if err := s.audit(ctx, tx, r, string(reward.Queued)); err != nil {
			return err
		}
		return event(ctx, tx, id, reward.Queued, "одобрено модератором")
	})
	return ok, err
}

// Mine returns a participant's orders, newest first, limit at a time,
// before the order named by cursor ("" from the newest).
func (s *Store) Mine(ctx context.Context, participantID int64, cursor string, limit int) ([]reward.Redemption, error) {
	return s.List(ctx, Filter{ParticipantID: participantID, BeforeID: cursor, Limit: limit})
}

type auditKey struct{}

// WithAudit makes the next settlement or approval under ctx record e in
// its own transaction (a staff member's void, rejection or approval): the
// audit entry commits with the change or not at all. e's ObjectID,
// ClientID, Before and After are filled in from the order.
func WithAudit(ctx context.Context, e audit.Entry) context.Context {
	return context.WithValue(ctx, auditKey{}, e)
}

func (s *Store) audit(ctx context.Context, tx pgx.Tx, r reward.Redemption, to string) error {
	e, ok := ctx.Value(auditKey{}).(audit.Entry)
	if !ok {
		return nil
	}
	e.ClientID, e.ObjectKind, e.ObjectID = r.ClientID, "redemption", r.ID
	e.Before = fmt.Appendf(nil, `{"status":%q,"price_kopecks":%d}`, r.Status, r.Price)
	e.After = fmt.Appendf(nil, `{"status":%q}`, to)
	return s.rec.Record(postgres.ContextWithTx(ctx, tx), e)
}

// Statement is a program's month of points and prizes.
type Statement struct {
	Issued    money.Kopecks // paid out of the program's budget (net of reversals)
	Redeemed  money.Kopecks // spent on delivered prizes (net of refunds)
	Orders    int64         // orders created
	Delivered int64
	Failed    int64
	Open      int64 // neither delivered, failed nor refunded
	Refunded  int64
	Faces     money.Kopecks // face value of the delivered prizes
	Costs     money.Kopecks // what the providers charged for them
}

// Statement sums program's ledger and orders over [from, to).
func (s *Store) Statement(ctx context.Context, clientID, programID int64, from, to time.Time) (Statement, error) {
	var st Statement
	var issued, redeemed, faces, costs int64
	err := s.db.QueryRow(ctx, `SELECT
		    COALESCE((SELECT -SUM(lp.amount_kopecks) FROM ledger_transactions lt
		        JOIN ledger_postings lp ON lp.transaction_id = lt.id
		        JOIN ledger_accounts la ON la.id = lp.account_id AND la.kind = 'program_budget'
		       WHERE lt.client_id = $1 AND lt.program_id = $2 AND lt.kind <> 'program_funding'
		         AND lt.created_at >= $3 AND lt.created_at < $4), 0)::bigint,
		    COALESCE((SELECT SUM(lp.amount_kopecks) FROM ledger_transactions lt
		        JOIN ledger_postings lp ON lp.transaction_id = lt.id
		        JOIN ledger_accounts la ON la.id = lp.account_id AND la.kind = 'redemption'
		       WHERE lt.client_id = $1 AND lt.program_id = $2 AND lt.created_at >= $3 AND lt.created_at < $4), 0)::bigint,
		    count(*), count(*) FILTER (WHERE status = 'delivered'), count(*) FILTER (WHERE status = 'failed'),
		    count(*) FILTER (WHERE status NOT IN ('delivered', 'failed', 'refunded')), count(*) FILTER (WHERE status = 'refunded'),
		    COALESCE(SUM(face_kopecks) FILTER (WHERE status = 'delivered'), 0)::bigint,
		    COALESCE(SUM(cost_kopecks) FILTER (WHERE status = 'delivered'), 0)::bigint
		FROM redemptions WHERE client_id = $1 AND program_id = $2 AND created_at >= $3 AND created_at < $4`,
		clientID, programID, from, to).Scan(&issued, &redeemed, &st.Orders, &st.Delivered, &st.Failed, &st.Open, &st.Refunded, &faces, &costs)
	st.Issued, st.Redeemed, st.Faces, st.Costs = money.Kopecks(issued), money.Kopecks(redeemed), money.Kopecks(faces), money.Kopecks(costs)
	return st, err
}

// OfferAllInLivePrograms offers every enabled, available catalog reward in
// each live program that offers none yet, at its face value in points
// (1 point = 1 ₽, no markup), open to every role: the demo's prize catalog
// (`loyaltyjam dev`), so a seller can spend points from the first start.
// Programs that already offer something are left as their staff set them.
// It returns how many offers it created.
func (s *Store) OfferAllInLivePrograms(ctx context.Context) (int, error) {
	tag, err := s.db.Exec(ctx, `INSERT INTO reward_offers (client_id, program_id, reward_id, roles, markup_bp, title, description, available)
		SELECT p.client_id, p.id, r.id, '{}', 0, r.title, r.description, true
		FROM programs p CROSS JOIN rewards r
		WHERE p.status = 'live' AND r.enabled AND r.available
		  AND NOT EXISTS (SELECT 1 FROM reward_offers o WHERE o.program_id = p.id)
		ON CONFLICT (program_id, reward_id) DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("rewarddb: demo offers: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// RewardSecret implements notify.SecretSource: the delivered goods of
// participant's order id, opened from their seal at send time for the
// SMS/e-mail the participant chose (never stored in the outbox).
// notify.ErrNotFound for another participant's order, an order not
// delivered, or one without goods.
func (s *Store) RewardSecret(ctx context.Context, participantID int64, id string) (notify.RewardSecret, error) {
	if !uuidRe.MatchString(id) {
		return notify.RewardSecret{}, notify.ErrNotFound
	}
	r, err := s.scanRedemption(s.db.QueryRow(ctx, `SELECT `+redemptionCols+redemptionFrom+
		` WHERE d.id = $1 AND d.participant_id = $2 AND d.status = 'delivered'`, id, participantID), true)
	if errors.Is(err, pgx.ErrNoRows) {
		return notify.RewardSecret{}, notify.ErrNotFound
	}
	if err != nil {
		return notify.RewardSecret{}, err
	}
	sec := notify.RewardSecret{Code: r.Code, PIN: r.PIN, URL: r.URL}
	if sec.Empty() {
		return sec, notify.ErrNotFound
	}
	return sec, nil
}
