package taskdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/imagehash"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

// PhotoStore keeps report photos (photostore.Dir satisfies it).
type PhotoStore interface {
	// Put stores data under a content-derived key and returns the key.
	Put(ctx context.Context, data []byte, ext string) (string, error)
	// Open returns the photo under key; an error if there is none.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// Store is the PostgreSQL task store.
type Store struct {
	db        *pgxpool.Pool
	ledger    ledger.Postings
	photos    PhotoStore
	notifier  task.ReviewSubscriber[pgx.Tx]
	now       func() time.Time
	threshold int
	log       *slog.Logger
	// secondApproval: rewards of at least this many kopecks need two
	// different approvers (0: off).
	secondApproval int64
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithNotifier sets the subscriber of reviews (task.Reviewed), called in the
// review's transaction; the wiring passes the notification outbox
// (notifydb.Notifier). Default: none.
func WithNotifier(n task.ReviewSubscriber[pgx.Tx]) Option { return func(s *Store) { s.notifier = n } }

// WithNearDuplicateThreshold sets the largest perceptual-hash distance
// flagged as a near-duplicate (default imagehash.DefaultThreshold).
func WithNearDuplicateThreshold(bits int) Option { return func(s *Store) { s.threshold = bits } }

// WithSecondApproval makes approving a report whose reward is at least
// kopecks take two different staff members (maker-checker); 0 turns it off.
func WithSecondApproval(kopecks int64) Option { return func(s *Store) { s.secondApproval = kopecks } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// New returns a Store on db keeping photos in photos and posting rewards
// through postings (ledgerdb.Postings).
func New(db *pgxpool.Pool, photos PhotoStore, postings ledger.Postings, opts ...Option) *Store {
	s := &Store{db: db, ledger: postings, photos: photos, now: time.Now, threshold: imagehash.DefaultThreshold, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Participant is the caller on the participant side, as authenticated.
type Participant struct {
	ID       int64
	ClientID int64
	Role     string
}

const taskColumns = `t.id, t.client_id, t.program_id, t.title, t.instructions, t.reward_kopecks,
	t.roles, t.shop_ids, t.regions, t.chains, t.starts_at, t.due_at, t.recurrence,
	t.per_participant, t.per_shop, t.min_photos, t.max_photos, t.checklist, t.comment_required,
	t.geofence_meters, t.auto_approve, t.auto_min_approved, t.status, COALESCE(t.created_by, 0),
	t.created_at, t.updated_at`

func scanTask(row pgx.Row) (task.Task, error) {
	var t task.Task
	var checklist []byte
	var rec, status string
	err := row.Scan(&t.ID, &t.ClientID, &t.ProgramID, &t.Title, &t.Instructions, &t.RewardKopecks,
		&t.Eligibility.Roles, &t.Eligibility.ShopIDs, &t.Eligibility.Regions, &t.Eligibility.Chains,
		&t.StartsAt, &t.DueAt, &rec, &t.PerParticipant, &t.PerShop, &t.Evidence.MinPhotos,
		&t.Evidence.MaxPhotos, &checklist, &t.Evidence.CommentRequired, &t.GeofenceMeters,
		&t.AutoApprove.Enabled, &t.AutoApprove.MinApproved, &status, &t.CreatedBy, &t.CreatedAt, &t.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, task.ErrNotFound
	}
	if err != nil {
		return t, err
	}
	t.Recurrence, t.Status = task.Recurrence(rec), task.Status(status)
	if err := json.Unmarshal(checklist, &t.Evidence.Checklist); err != nil {
		return t, fmt.Errorf("taskdb: task %d checklist: %w", t.ID, err)
	}
	return t, nil
}

const subColumns = `s.id, s.client_id, s.program_id, s.task_id, t.title, s.participant_id, s.shop_id,
	s.slot, s.slot_starts_at, s.slot_due_at, s.status, s.reason_code, s.review_comment, s.answers,
	s.comment, s.geo_lat, s.geo_lon, s.captured_at, s.flags, s.reward_kopecks, s.points_kopecks,
	COALESCE(s.reviewed_by, 0), s.auto_approved, s.taken_at, s.submitted_at, s.reviewed_at, s.updated_at,
	COALESCE(s.first_approved_by, 0)`

func scanSub(row pgx.Row) (task.Submission, error) {
	var s task.Submission
	var status string
	var answers, flags []byte
	err := row.Scan(&s.ID, &s.ClientID, &s.ProgramID, &s.TaskID, &s.TaskTitle, &s.ParticipantID, &s.ShopID,
		&s.Slot.N, &s.Slot.Start, &s.Slot.End, &status, &s.ReasonCode, &s.ReviewComment, &answers,
		&s.Comment, &s.Lat, &s.Lon, &s.CapturedAt, &flags, &s.RewardKopecks, &s.PointsKopecks,
		&s.ReviewedBy, &s.AutoApproved, &s.TakenAt, &s.SubmittedAt, &s.ReviewedAt, &s.UpdatedAt, &s.FirstApprovedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, task.ErrSubmissionNotFound
	}
	if err != nil {
		return s, err
	}
	s.Status = task.SubmissionStatus(status)
	s.ReasonMessage = task.RejectReasons[s.ReasonCode]
	if err := json.Unmarshal(answers, &s.Answers); err != nil {
		return s, fmt.Errorf("taskdb: submission %d answers: %w", s.ID, err)
	}
	if err := json.Unmarshal(flags, &s.Flags); err != nil {
		return s, fmt.Errorf("taskdb: submission %d flags: %w", s.ID, err)
	}
	return s, nil
}

func collectSubs(rows pgx.Rows, err error) ([]task.Submission, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (task.Submission, error) { return scanSub(r) })
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Store) photosOf(ctx context.Context, q querier, subs []task.Submission) error {
	if len(subs) == 0 {
		return nil
	}
	ids := make([]int64, len(subs))
	at := map[int64]int{}
	for i, sub := range subs {
		ids[i] = sub.ID
		at[sub.ID] = i
	}
	rows, err := q.Query(ctx, `SELECT submission_id, idx, photo_key, encode(sha256, 'hex'), phash, width, height
		FROM task_photos WHERE submission_id = ANY($1) ORDER BY submission_id, idx`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, ph int64
		var p task.Photo
		if err := rows.Scan(&id, &p.Index, &p.Key, &p.SHA256, &ph, &p.Width, &p.Height); err != nil {
			return err
		}
		p.PHash = uint64(ph)
		subs[at[id]].Photos = append(subs[at[id]].Photos, p)
	}
	return rows.Err()
}

// event records a status change and returns the event's id.
func (s *Store) event(ctx context.Context, tx pgx.Tx, id int64, from, to task.SubmissionStatus, actor, reason, msg string) (int64, error) {
	var f *string
	if from != "" {
		v := string(from)
		f = &v
	}
	var eid int64
	err := tx.QueryRow(ctx, `INSERT INTO task_submission_events (submission_id, at, from_status, to_status, actor, reason, message)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, id, s.now(), f, string(to), actor, reason, msg).Scan(&eid)
	return eid, err
}

// staffActor names a dashboard user in events.
func staffActor(st access.Staff) string { return fmt.Sprintf("staff:%d", st.UserID) }

func withTx(ctx context.Context, db *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return postgres.WithTx(ctx, db, fn)
}
