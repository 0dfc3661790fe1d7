// Package programdb is the PostgreSQL store of programs as staff set them
// up (internal/program): the programs table, their rules versions
// (program_rules, never updated), the receipts a dry run evaluates, the
// per-program outcomes of a receipt and the program a new upload is filed
// under.
package programdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/fiscal"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/program"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// Store is the programs store.
type Store struct{ db *pgxpool.Pool }

var (
	_ program.Store    = (*Store)(nil)
	_ program.Receipts = (*Store)(nil)
)

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

// InTx implements program.Store.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return postgres.InTx(ctx, s.db, func(ctx context.Context, _ pgx.Tx) error { return fn(ctx) })
}

type querier interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
	QueryRow(context.Context, string, ...any) pgx.Row
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}

// q runs in the transaction ctx carries, else on the pool.
func (s *Store) q(ctx context.Context) querier {
	if tx, ok := postgres.TxFromContext(ctx); ok {
		return tx
	}
	return s.db
}

const columns = `id, client_id, code, name, status, mechanics, starts_on, ends_on, timezone, crediting,
	max_receipt_age_days, eligible_shop_ids, eligible_chains, eligible_regions, eligible_roles,
	description, rules_text, how_to_join, cloned_from, closed_at, created_at`

func scan(row pgx.Row) (program.Program, error) {
	var p program.Program
	e := &p.Eligibility
	var status string
	err := row.Scan(&p.ID, &p.ClientID, &p.Code, &p.Name, &status, &p.Mechanics, &p.StartsOn, &p.EndsOn, &p.TimeZone,
		&p.Crediting, &p.MaxAgeDays, &e.ShopIDs, &e.Chains, &e.Regions, &e.Roles,
		&p.Texts.Description, &p.Texts.Rules, &p.Texts.HowToJoin, &p.ClonedFrom, &p.ClosedAt, &p.CreatedAt)
	p.Status = program.Status(status)
	return p, err
}

// List implements program.Store.
func (s *Store) List(ctx context.Context, clientID int64) ([]program.Program, error) {
	rows, err := s.q(ctx).Query(ctx, `SELECT `+columns+` FROM programs WHERE client_id = $1 ORDER BY id DESC`, clientID)
	if err != nil {
		return nil, fmt.Errorf("programdb: list: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (program.Program, error) { return scan(r) })
}

// Get implements program.Store.
func (s *Store) Get(ctx context.Context, id int64, lock bool) (program.Program, error) {
	q := `SELECT ` + columns + ` FROM programs WHERE id = $1`
	if lock {
		q += ` FOR UPDATE`
	}
	p, err := scan(s.q(ctx).QueryRow(ctx, q, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, program.ErrNotFound
	}
	return p, err
}

// Insert implements program.Store.
func (s *Store) Insert(ctx context.Context, p program.Program) (program.Program, error) {
	e := p.Eligibility
	var id int64
	err := s.q(ctx).QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, mechanics, starts_on, ends_on,
			timezone, crediting, max_receipt_age_days, eligible_shop_ids, eligible_chains, eligible_regions, eligible_roles,
			description, rules_text, how_to_join, cloned_from)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id`,
		p.ClientID, p.Code, p.Name, string(p.Status), p.Mechanics, p.StartsOn, p.EndsOn, p.TimeZone, p.Crediting, p.MaxAgeDays,
		nonNil(e.ShopIDs), nonNilS(e.Chains), nonNilS(e.Regions), nonNilS(e.Roles),
		p.Texts.Description, p.Texts.Rules, p.Texts.HowToJoin, p.ClonedFrom).Scan(&id)
	if postgres.IsUniqueViolation(err, "programs_client_id_code_key") {
		return p, program.ErrCodeTaken
	}
	if err != nil {
		return p, fmt.Errorf("programdb: insert: %w", err)
	}
	return s.Get(ctx, id, false)
}

// Update implements program.Store.
func (s *Store) Update(ctx context.Context, p program.Program) error {
	e := p.Eligibility
	_, err := s.q(ctx).Exec(ctx, `UPDATE programs SET code = $2, name = $3, mechanics = $4, starts_on = $5, ends_on = $6,
			timezone = $7, crediting = $8, max_receipt_age_days = $9, eligible_shop_ids = $10, eligible_chains = $11,
			eligible_regions = $12, eligible_roles = $13, description = $14, rules_text = $15, how_to_join = $16,
			updated_at = now()
		WHERE id = $1`, p.ID, p.Code, p.Name, p.Mechanics, p.StartsOn, p.EndsOn, p.TimeZone, p.Crediting, p.MaxAgeDays,
		nonNil(e.ShopIDs), nonNilS(e.Chains), nonNilS(e.Regions), nonNilS(e.Roles),
		p.Texts.Description, p.Texts.Rules, p.Texts.HowToJoin)
	if postgres.IsUniqueViolation(err, "programs_client_id_code_key") {
		return program.ErrCodeTaken
	}
	return err
}

// SetStatus implements program.Store.
func (s *Store) SetStatus(ctx context.Context, id int64, to program.Status, closedAt *time.Time) error {
	_, err := s.q(ctx).Exec(ctx, `UPDATE programs SET status = $2, closed_at = COALESCE($3, closed_at), updated_at = now()
		WHERE id = $1`, id, string(to), closedAt)
	return err
}

// RuleVersions implements program.Store.
func (s *Store) RuleVersions(ctx context.Context, programID int64) ([]program.RuleVersion, error) {
	rows, err := s.q(ctx).Query(ctx, `SELECT version, effective_from, body, created_at FROM program_rules
		WHERE program_id = $1 ORDER BY version`, programID)
	if err != nil {
		return nil, fmt.Errorf("programdb: rules: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (program.RuleVersion, error) {
		var v program.RuleVersion
		var body []byte
		if err := r.Scan(&v.Version, &v.EffectiveFrom, &body, &v.CreatedAt); err != nil {
			return v, err
		}
		// Stored versions were valid when saved; read them leniently so a
		// later tightening of validation cannot hide the past.
		if err := json.Unmarshal(body, &v.Rules); err != nil {
			return v, fmt.Errorf("program %d rules v%d: %w", programID, v.Version, err)
		}
		return v, nil
	})
}

// InsertRules implements program.Store: the next version number under a
// lock on the program's row (the caller holds it), never an update.
func (s *Store) InsertRules(ctx context.Context, programID int64, effectiveFrom time.Time, r rules.Rules) (int, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	var version int
	err = s.q(ctx).QueryRow(ctx, `INSERT INTO program_rules (program_id, version, effective_from, body)
		SELECT $1, COALESCE(MAX(version), 0) + 1, $2::date, $3 FROM program_rules WHERE program_id = $1
		RETURNING version`, programID, effectiveFrom.Format(time.DateOnly), body).Scan(&version)
	return version, err
}

// DryReceipt implements program.Receipts.
func (s *Store) DryReceipt(ctx context.Context, clientID int64, id string, qr *fiscal.Payload) (program.DryReceipt, error) {
	var d program.DryReceipt
	var part rules.Participant
	var shopID *int64
	var purchased *time.Time
	var op *int
	q := `SELECT r.id::text, r.purchased_at, r.operation, r.created_at, COALESCE(r.seller_inn, ''),
			COALESCE(r.kkt_reg_number, ''), COALESCE(r.retail_address, ''),
			p.id, p.role, p.is_test OR p.is_tester, p.status, p.region, COALESCE(r.shop_id, p.shop_id)
		FROM receipts r JOIN participants p ON p.id = r.participant_id WHERE r.client_id = $1 AND `
	var row pgx.Row
	if id != "" {
		row = s.q(ctx).QueryRow(ctx, q+`r.id::text = $2`, clientID, id)
	} else {
		row = s.q(ctx).QueryRow(ctx, q+`r.fn = $2 AND r.fd = $3 AND r.fp = $4`, clientID, qr.FN, int64(qr.FD), int64(qr.FP))
	}
	err := row.Scan(&d.ReceiptID, &purchased, &op, &d.Receipt.UploadedAt, &d.Receipt.SellerINN, &d.Receipt.KKTRegNumber,
		&d.Receipt.Address, &part.ID, &part.Role, &part.IsTest, &part.Status, &part.Region, &shopID)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, program.ErrNoReceipt
	}
	if err != nil {
		return d, fmt.Errorf("programdb: dry receipt: %w", err)
	}
	if purchased == nil || op == nil {
		return d, nil // not decoded yet: no items either
	}
	d.Receipt.PurchasedAt, d.Receipt.Operation = *purchased, *op
	d.Participant = &part
	if shopID != nil {
		sh := &rules.Shop{ID: *shopID}
		if err := s.q(ctx).QueryRow(ctx, `SELECT COALESCE(inn, ''), kkt_reg_numbers, address, chain, region FROM shops WHERE id = $1`,
			*shopID).Scan(&sh.INN, &sh.KKTRegNumbers, &sh.Address, &sh.Chain, &sh.Region); err != nil {
			return d, fmt.Errorf("programdb: dry receipt shop: %w", err)
		}
		d.Shop = sh
	}
	rows, err := s.q(ctx).Query(ctx, `SELECT line_no, name, quantity_milli, sum_kopecks, COALESCE(gtin, '')
		FROM receipt_items WHERE receipt_id = $1::uuid ORDER BY line_no`, d.ReceiptID)
	if err != nil {
		return d, err
	}
	d.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (receipt.Item, error) {
		var it receipt.Item
		err := r.Scan(&it.LineNo, &it.Name, &it.QuantityMilli, &it.SumKopecks, &it.GTIN)
		return it, err
	})
	return d, err
}

// Results returns the per-program outcomes of the client's receipt id
// (none: another client's, or not evaluated yet).
func (s *Store) Results(ctx context.Context, clientID int64, id string) ([]program.Outcome, error) {
	rows, err := s.q(ctx).Query(ctx, `SELECT x.program_id, p.name, x.status, x.reason, x.rule_version, x.points_kopecks,
			x.pending, x.evaluation
		FROM receipt_program_results x JOIN programs p ON p.id = x.program_id
		WHERE x.client_id = $1 AND x.receipt_id::text = $2 ORDER BY x.program_id`, clientID, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (program.Outcome, error) {
		var x program.Outcome
		err := r.Scan(&x.ProgramID, &x.ProgramName, &x.Status, &x.Reason, &x.RuleVersion, &x.PointsKopecks, &x.Pending, &x.Evaluation)
		x.ReasonText = receipt.Message(x.Reason)
		return x, err
	})
}

// ReceiptProgramFor picks the program a new upload of the client is filed
// under: the one live receipt program (or, for a tester, live or test);
// none (nil) when there are several — the worker evaluates the receipt
// against each — or none at all. When none of the client's receipt
// programs runs (live or test) and one is closed it refuses the upload
// with program.ErrClosed.
func (s *Store) ReceiptProgramFor(ctx context.Context, clientID int64, tester bool) (*int64, error) {
	rows, err := s.q(ctx).Query(ctx, `SELECT id, name, status, closed_at FROM programs
		WHERE client_id = $1 AND 'receipts' = ANY(mechanics) AND status <> 'draft' ORDER BY id`, clientID)
	if err != nil {
		return nil, err
	}
	type prog struct {
		id       int64
		name     string
		status   string
		closedAt *time.Time
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (prog, error) {
		var p prog
		err := r.Scan(&p.id, &p.name, &p.status, &p.closedAt)
		return p, err
	})
	if err != nil {
		return nil, err
	}
	var file []int64
	running := false
	var lastClosed *prog
	for i, p := range ps {
		switch {
		case p.status == "closed":
			lastClosed = &ps[i]
		case p.status == "live" || tester:
			file = append(file, p.id)
			running = true
		default: // in test: a tester's (the flag may be is_tester, which the caller may not know)
			running = true
		}
	}
	switch {
	case len(file) == 1:
		return &file[0], nil
	case !running && lastClosed != nil:
		var at time.Time
		if lastClosed.closedAt != nil {
			at = *lastClosed.closedAt
		}
		return nil, program.ErrClosed(lastClosed.name, at)
	}
	return nil, nil
}

func nonNil(v []int64) []int64 {
	if v == nil {
		return []int64{}
	}
	return v
}

func nonNilS(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// ErrUnknownClient: no client has the code.
var ErrUnknownClient = apperr.New(apperr.NotFound, "client_not_found", "Клиент с таким кодом не найден.")

// ClientID returns the id of the client with code.
func (s *Store) ClientID(ctx context.Context, code string) (int64, error) {
	var id int64
	err := s.q(ctx).QueryRow(ctx, `SELECT id FROM clients WHERE code = $1`, code).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrUnknownClient
	}
	return id, err
}

// ProgramID returns the id of the client's program with code.
func (s *Store) ProgramID(ctx context.Context, clientID int64, code string) (int64, error) {
	var id int64
	err := s.q(ctx).QueryRow(ctx, `SELECT id FROM programs WHERE client_id = $1 AND code = $2`, clientID, code).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, program.ErrNotFound
	}
	return id, err
}
