// Package registrydb stores registry uploads (internal/registry) in
// PostgreSQL and applies them: participants in one transaction, points
// through the ledger's postings port (ledger.Postings, which the wiring
// passes in) in one transaction with the budget checked first.
package registrydb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
)

// Store implements registry.Store and registry.Applier.
type Store struct {
	db *pgxpool.Pool
	// ledger posts the points lines in the upload's transaction.
	ledger ledger.Postings
	// audit records each confirmation in its transaction.
	audit audit.Recorder
	// BatchSize is how many point lines are posted between progress
	// updates.
	BatchSize int
	// box seals invitation passwords while they wait to be delivered.
	box Sealer
	// secondApproval is the maker-checker threshold (WithSecondApproval).
	secondApproval int64
	// credits consume the credited lines (WithCreditSubscribers).
	credits []registry.CreditSubscriber[pgx.Tx]
}

// Sealer encrypts a secret bound to associated data (sealbox.Box).
type Sealer interface {
	Seal(plain string, ad []byte) string
	Open(sealed string, ad []byte) (string, error)
}

// Option configures a Store.
type Option func(*Store)

// WithSealer keeps invitation passwords sealed with box. Every process
// that delivers invitations must use the same key (CREDENTIALS_KEY).
func WithSealer(box Sealer) Option { return func(s *Store) { s.box = box } }

// WithCreditSubscribers sets the consumers of credited registry lines
// (registry.LineCredited), called in the transaction that posts the points; the
// wiring passes the notification outbox (notifydb.Notifier). Default: none.
func WithCreditSubscribers(subs ...registry.CreditSubscriber[pgx.Tx]) Option {
	return func(s *Store) { s.credits = subs }
}

// processBox is the sealer of a Store built without one: a random key per
// process, so a password still pending when the process restarts cannot be
// read back (its delivery fails until the 72 h give-up; it can be re-sent).
// Production configures CREDENTIALS_KEY instead.
var processBox = sync.OnceValue(func() Sealer { return sealbox.Random() })

var (
	_ registry.Store   = (*Store)(nil)
	_ registry.Applier = (*Store)(nil)
)

// New returns a Store on db that posts points through postings
// (ledgerdb.Postings) and records each confirmation with rec (auditdb), both
// in the store's transaction, joined by the context.
func New(db *pgxpool.Pool, postings ledger.Postings, rec audit.Recorder, opts ...Option) *Store {
	s := &Store{db: db, ledger: postings, audit: rec, BatchSize: 2000}
	for _, o := range opts {
		o(s)
	}
	if s.box == nil {
		s.box = processBox()
	}
	return s
}

// Participants returns the client's participants by phone.
func (s *Store) Participants(ctx context.Context, clientID int64) (map[string]registry.ExistingParticipant, error) {
	rows, err := s.db.Query(ctx, `SELECT id, phone, name, COALESCE(email, ''), role, region, COALESCE(shop_id, 0), status
		FROM participants WHERE client_id = $1`, clientID)
	if err != nil {
		return nil, fmt.Errorf("registrydb: participants: %w", err)
	}
	out := map[string]registry.ExistingParticipant{}
	var p registry.ExistingParticipant
	_, err = pgx.ForEachRow(rows, []any{&p.ID, &p.Phone, &p.Name, &p.Email, &p.Role, &p.Region, &p.ShopID, &p.Status}, func() error {
		out[p.Phone] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("registrydb: participants: %w", err)
	}
	return out, nil
}

// Shops returns the client's shops.
func (s *Store) Shops(ctx context.Context, clientID int64) ([]registry.Shop, error) {
	rows, err := s.db.Query(ctx, `SELECT id, code, COALESCE(inn, ''), address FROM shops WHERE client_id = $1`, clientID)
	if err != nil {
		return nil, fmt.Errorf("registrydb: shops: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (registry.Shop, error) {
		var sh registry.Shop
		return sh, r.Scan(&sh.ID, &sh.Code, &sh.INN, &sh.Address)
	})
}

// ProgramClient returns the client of a program.
func (s *Store) ProgramClient(ctx context.Context, programID int64) (int64, error) {
	var c int64
	err := s.db.QueryRow(ctx, `SELECT client_id FROM programs WHERE id = $1`, programID).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, registry.ErrProgramNotFound
	}
	return c, err
}

// PeriodPaid returns what registries paid per participant in a period.
func (s *Store) PeriodPaid(ctx context.Context, programID int64, period string) (map[int64]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT participant_id, credited_kopecks FROM registry_balances
		WHERE program_id = $1 AND period = $2`, programID, period)
	if err != nil {
		return nil, fmt.Errorf("registrydb: period paid: %w", err)
	}
	out := map[int64]int64{}
	var id, k int64
	_, err = pgx.ForEachRow(rows, []any{&id, &k}, func() error { out[id] = k; return nil })
	return out, err
}

func nullID(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Create stores an upload with its rows in one transaction.
func (s *Store) Create(ctx context.Context, u registry.Upload, prows []registry.ParticipantRow, plines []registry.PointLine) (int64, error) {
	opts, _ := json.Marshal(u.Options)
	errs := u.Errors
	if errs == nil {
		errs = []registry.RowError{}
	}
	errJSON, _ := json.Marshal(errs)
	var preview []byte
	switch {
	case u.Participants != nil:
		preview, _ = json.Marshal(u.Participants)
	case u.Points != nil:
		preview, _ = json.Marshal(u.Points)
	default:
		preview = []byte("{}")
	}
	var id int64
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO registry_uploads (client_id, kind, program_id, period, status,
			file_name, file_sha256, file_size, format, encoding, options, uploaded_by, needs_second_approval,
			rows_total, error_count, errors, items_total, preview)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18) RETURNING id`,
			u.ClientID, string(u.Kind), nullID(u.ProgramID), nullText(u.Period), string(u.Status),
			u.FileName, u.FileSHA256, u.FileSize, string(u.Format), u.Encoding, opts, u.UploadedBy,
			u.NeedsSecondApproval, u.Rows, u.ErrorCount, errJSON, u.ItemsTotal, preview).Scan(&id)
		if err != nil {
			return fmt.Errorf("registrydb: insert upload: %w", err)
		}
		if len(prows) > 0 {
			_, err = tx.CopyFrom(ctx, pgx.Identifier{"registry_participant_rows"},
				[]string{"upload_id", "line", "phone", "name", "email", "role", "region", "shop_id",
					"shop_code", "shop_inn", "shop_address", "shop_name", "action", "participant_id"},
				pgx.CopyFromSlice(len(prows), func(i int) ([]any, error) {
					r := prows[i]
					return []any{id, r.Line, r.Phone, r.Name, r.Email, r.Role, r.Region, nullID(r.ShopID),
						r.ShopCode, r.ShopINN, r.ShopAddress, r.ShopName, string(r.Action), nullID(r.ParticipantID)}, nil
				}))
			if err != nil {
				return fmt.Errorf("registrydb: copy participant rows: %w", err)
			}
		}
		if len(plines) > 0 {
			_, err = tx.CopyFrom(ctx, pgx.Identifier{"registry_point_lines"},
				[]string{"upload_id", "participant_id", "amount_kopecks", "previous_kopecks", "lines", "first_line", "comment"},
				pgx.CopyFromSlice(len(plines), func(i int) ([]any, error) {
					l := plines[i]
					return []any{id, l.ParticipantID, l.AmountKopecks, l.PreviousKopecks, l.Lines, l.FirstLine, l.Comment}, nil
				}))
			if err != nil {
				return fmt.Errorf("registrydb: copy point lines: %w", err)
			}
		}
		return nil
	})
	return id, err
}

const uploadColumns = `id, client_id, kind, COALESCE(program_id, 0), COALESCE(period, ''), status, file_name,
	file_sha256, file_size, format, encoding, options, uploaded_by, COALESCE(confirmed_by, 0), needs_second_approval,
	rows_total, error_count, errors, items_total, items_done, preview, result, COALESCE(failure_code, ''),
	COALESCE(failure_message, ''), created_at, confirmed_at, started_at, finished_at`

func scanUpload(row pgx.Row) (registry.Upload, error) {
	var (
		u                           registry.Upload
		kind, status, format        string
		opts, errs, preview, result []byte
	)
	err := row.Scan(&u.ID, &u.ClientID, &kind, &u.ProgramID, &u.Period, &status, &u.FileName,
		&u.FileSHA256, &u.FileSize, &format, &u.Encoding, &opts, &u.UploadedBy, &u.ConfirmedBy, &u.NeedsSecondApproval,
		&u.Rows, &u.ErrorCount, &errs, &u.ItemsTotal, &u.ItemsDone, &preview, &result, &u.FailureCode,
		&u.FailureText, &u.CreatedAt, &u.ConfirmedAt, &u.StartedAt, &u.FinishedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, registry.ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("registrydb: scan upload: %w", err)
	}
	u.Kind, u.Status, u.Format = registry.Kind(kind), registry.Status(status), registry.Format(format)
	_ = json.Unmarshal(opts, &u.Options)
	_ = json.Unmarshal(errs, &u.Errors)
	if u.Kind == registry.KindParticipants {
		u.Participants = &registry.ParticipantPreview{}
		_ = json.Unmarshal(preview, u.Participants)
	} else {
		u.Points = &registry.PointsPreview{}
		_ = json.Unmarshal(preview, u.Points)
	}
	if result != nil {
		u.Result = &registry.Result{}
		_ = json.Unmarshal(result, u.Result)
	}
	return u, nil
}

// Get returns an upload, or registry.ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (registry.Upload, error) {
	return scanUpload(s.db.QueryRow(ctx, `SELECT `+uploadColumns+` FROM registry_uploads WHERE id = $1`, id))
}

// PointLines returns a page of an upload's lines by participant id.
func (s *Store) PointLines(ctx context.Context, id int64, offset, limit int) ([]registry.PointLine, error) {
	rows, err := s.db.Query(ctx, `SELECT l.participant_id, p.phone, p.name, l.amount_kopecks, l.previous_kopecks,
		l.lines, l.first_line, l.comment
		FROM registry_point_lines l JOIN participants p ON p.id = l.participant_id
		WHERE l.upload_id = $1 ORDER BY l.participant_id OFFSET $2 LIMIT $3`, id, offset, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (registry.PointLine, error) {
		var l registry.PointLine
		return l, r.Scan(&l.ParticipantID, &l.Phone, &l.Name, &l.AmountKopecks, &l.PreviousKopecks, &l.Lines, &l.FirstLine, &l.Comment)
	})
}

// Confirm moves a validated upload to confirmed. Of concurrent calls one
// wins; the others get registry.ErrNotConfirmable. The database refuses a
// self-confirmation of an upload that needs a second approver. Confirming
// is the staff action that registers people or moves money, so it writes
// a registry.confirm audit entry (who, the upload, its preview) in the
// same transaction.
func (s *Store) Confirm(ctx context.Context, id, userID int64) (registry.Upload, error) {
	var u registry.Upload
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		u, err = scanUpload(tx.QueryRow(ctx, `UPDATE registry_uploads
			SET status = 'confirmed', confirmed_by = $2, confirmed_at = now(), updated_at = now()
			WHERE id = $1 AND status = 'validated' RETURNING `+uploadColumns, id, userID))
		if err != nil {
			return err
		}
		var name string
		if err := tx.QueryRow(ctx, `SELECT name FROM dashboard_users WHERE id = $1`, userID).Scan(&name); err != nil {
			return fmt.Errorf("registrydb: confirming staff member: %w", err)
		}
		after := map[string]any{"kind": u.Kind, "program_id": u.ProgramID, "file_name": u.FileName, "file_sha256": u.FileSHA256,
			"rows": u.Rows, "status": u.Status}
		if u.Period != "" {
			after["period"] = u.Period
		}
		if u.Participants != nil {
			after["participants_preview"] = u.Participants
		}
		if u.Points != nil {
			after["points_preview"] = u.Points
		}
		return s.audit.Record(ctx, audit.Entry{ClientID: u.ClientID, Actor: audit.StaffActor(userID, name, ""),
			Action: "registry.confirm", ObjectKind: "registry_upload", ObjectID: strconv.FormatInt(u.ID, 10),
			Before: audit.State(map[string]any{"status": registry.StatusValidated}), After: audit.State(after)})
	})
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return u, registry.ErrNotConfirmable
	case postgres.ConstraintViolated(err) == "registry_uploads_second_approver":
		return u, registry.ErrSecondApproval
	}
	return u, err
}

// Start moves a confirmed upload to processing.
func (s *Store) Start(ctx context.Context, id int64) (registry.Upload, error) {
	u, err := scanUpload(s.db.QueryRow(ctx, `UPDATE registry_uploads
		SET status = 'processing', started_at = COALESCE(started_at, now()), updated_at = now()
		WHERE id = $1 AND status IN ('confirmed', 'processing') RETURNING `+uploadColumns, id))
	if errors.Is(err, registry.ErrNotFound) {
		return s.Get(ctx, id)
	}
	return u, err
}

// Fail marks an unfinished upload failed.
func (s *Store) Fail(ctx context.Context, id int64, code, message string) error {
	_, err := s.db.Exec(ctx, `UPDATE registry_uploads SET status = 'failed', failure_code = $2,
		failure_message = $3, finished_at = now(), updated_at = now()
		WHERE id = $1 AND status IN ('confirmed', 'processing')`, id, code, message)
	return err
}

// Stuck returns the uploads a sweeper should enqueue again (Redis may lose
// a task, and Asynq gives up after its retries; Process is idempotent):
// those left confirmed or processing for longer than age, and those with
// an invitation still pending whose last delivery attempt (or creation)
// is older than age.
func (s *Store) Stuck(ctx context.Context, age time.Duration) ([]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT id FROM registry_uploads
		WHERE status IN ('confirmed', 'processing') AND updated_at < now() - $1::interval
		UNION
		SELECT upload_id FROM registry_invitations
		WHERE status = 'pending' AND COALESCE(last_attempt_at, created_at) < now() - $1::interval
		ORDER BY 1`, age.String())
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// advisory lock class for processing one upload at a time.
const lockUpload = 74210070

func lockUploadTx(ctx context.Context, tx pgx.Tx, id int64) (registry.Upload, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, ($2 % 2147483647)::int)`, lockUpload, id); err != nil {
		return registry.Upload{}, fmt.Errorf("registrydb: lock upload: %w", err)
	}
	return scanUpload(tx.QueryRow(ctx, `SELECT `+uploadColumns+` FROM registry_uploads WHERE id = $1`, id))
}

func finish(ctx context.Context, tx pgx.Tx, id int64, res registry.Result, done int) error {
	b, _ := json.Marshal(res)
	_, err := tx.Exec(ctx, `UPDATE registry_uploads SET status = 'applied', result = $2, items_done = $3,
		finished_at = now(), updated_at = now() WHERE id = $1`, id, b, done)
	return err
}

// progressReporter publishes items_done outside the applying transaction,
// so the API sees it while the transaction runs. Reports never block the
// transaction: the latest value waits in a one-slot channel for a goroutine
// that writes it (when the pool is busy, intermediate values are skipped).
// The upload is serialised by an advisory lock, not a row lock, so these
// writes do not wait for the transaction either.
type progressReporter struct {
	ch   chan int
	done chan struct{}
}

func (s *Store) startProgress(ctx context.Context, id int64) *progressReporter {
	p := &progressReporter{ch: make(chan int, 1), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for n := range p.ch {
			_, _ = s.db.Exec(ctx, `UPDATE registry_uploads SET items_done = $2, updated_at = now() WHERE id = $1`, id, n)
		}
	}()
	return p
}

func (p *progressReporter) report(n int) {
	for {
		select {
		case p.ch <- n:
			return
		default:
		}
		select {
		case <-p.ch: // drop the stale value
		default:
		}
	}
}

func (p *progressReporter) stop() {
	close(p.ch)
	<-p.done
}
