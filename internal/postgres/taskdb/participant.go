package taskdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

// Available is a task offered to a participant now.
type Available struct {
	Task task.Task
	Slot task.Slot
	// Used is how many of the participant's attempts hold a unit of this
	// period's limit; Remaining how many more they may take.
	Used      int
	Remaining int
	// OpenSubmissionID is the participant's taken, not yet reported
	// attempt in this period (0: none).
	OpenSubmissionID int64
}

// participantRow is what the store needs of the caller.
type participantRow struct {
	role   string
	status string
	shopID *int64
}

func loadParticipant(ctx context.Context, q querier, p Participant) (participantRow, error) {
	var r participantRow
	err := q.QueryRow(ctx, `SELECT role, status, shop_id FROM participants WHERE id = $1 AND client_id = $2`,
		p.ID, p.ClientID).Scan(&r.role, &r.status, &r.shopID)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, task.ErrNotEligible
	}
	if err == nil && r.status == "blocked" {
		return r, task.ErrNotEligible
	}
	return r, err
}

func loadShop(ctx context.Context, q querier, clientID, shopID int64) (task.Shop, error) {
	sh := task.Shop{ID: shopID}
	err := q.QueryRow(ctx, `SELECT region, chain, lat, lon FROM shops WHERE id = $1 AND client_id = $2`,
		shopID, clientID).Scan(&sh.Region, &sh.Chain, &sh.Lat, &sh.Lon)
	if errors.Is(err, pgx.ErrNoRows) {
		return sh, task.WithField(task.ErrShopNotEligible, "shop_id")
	}
	return sh, err
}

// liveTask is the condition for a task a participant may see.
const liveTask = `t.status = 'active' AND EXISTS (SELECT 1 FROM programs p WHERE p.id = t.program_id AND p.status IN ('live', 'test'))`

// Available lists the tasks participant p may take now, the earliest due
// first. Shop restrictions are checked against the participant's own shop
// when they have one; a participant without a fixed shop (a travelling
// merchandiser) sees them and names the shop when taking.
func (s *Store) Available(ctx context.Context, p Participant) ([]Available, error) {
	pr, err := loadParticipant(ctx, s.db, p)
	if err != nil {
		return nil, err
	}
	var home *task.Shop
	if pr.shopID != nil {
		sh, err := loadShop(ctx, s.db, p.ClientID, *pr.shopID)
		if err != nil {
			return nil, err
		}
		home = &sh
	}
	now := s.now()
	rows, err := s.db.Query(ctx, `SELECT `+taskColumns+` FROM tasks t
		WHERE t.client_id = $1 AND t.starts_at <= $2 AND t.due_at > $2 AND `+liveTask+`
		ORDER BY t.due_at, t.id LIMIT 500`, p.ClientID, now)
	if err != nil {
		return nil, err
	}
	tasks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (task.Task, error) { return scanTask(r) })
	if err != nil {
		return nil, err
	}
	var out []Available
	for _, t := range tasks {
		if !t.RoleAllowed(pr.role) || (home != nil && !t.ShopAllowed(*home)) {
			continue
		}
		slot, err := t.SlotAt(now)
		if err != nil {
			continue
		}
		a := Available{Task: t, Slot: slot}
		err = s.db.QueryRow(ctx, `SELECT
			COALESCE((SELECT used FROM task_quotas WHERE task_id = $1 AND slot = $2 AND scope = 'participant' AND subject_id = $3), 0),
			COALESCE((SELECT id FROM task_submissions WHERE task_id = $1 AND slot = $2 AND participant_id = $3 AND status = 'taken'), 0)`,
			t.ID, slot.N, p.ID).Scan(&a.Used, &a.OpenSubmissionID)
		if err != nil {
			return nil, err
		}
		a.Remaining = max(0, t.PerParticipant-a.Used)
		if a.Remaining == 0 && a.OpenSubmissionID == 0 {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// TaskFor returns a task participant p may see (task.ErrNotFound
// otherwise, including another client's task).
func (s *Store) TaskFor(ctx context.Context, p Participant, id int64) (task.Task, error) {
	return scanTask(s.db.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks t
		WHERE t.id = $1 AND t.client_id = $2 AND `+liveTask, id, p.ClientID))
}

type existingTake struct{ id int64 }

func (existingTake) Error() string { return "existing take" }

// Take reserves one attempt at task id for participant p in shopID (0: the
// participant's own shop) in the current period and returns it (status
// taken). Taking again while an attempt is open returns the open one. The
// period's limits per participant and per shop are counted in the
// database: task.ErrParticipantLimit and task.ErrShopLimit when reached.
func (s *Store) Take(ctx context.Context, p Participant, id, shopID int64) (task.Submission, error) {
	var subID int64
	err := withTx(ctx, s.db, func(tx pgx.Tx) error {
		t, err := scanTask(tx.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks t
			WHERE t.id = $1 AND t.client_id = $2 AND `+liveTask, id, p.ClientID))
		if err != nil {
			return err
		}
		now := s.now()
		slot, err := t.SlotAt(now)
		if err != nil {
			return err
		}
		pr, err := loadParticipant(ctx, tx, p)
		if err != nil {
			return err
		}
		if !t.RoleAllowed(pr.role) {
			return task.ErrNotEligible
		}
		if shopID == 0 {
			if pr.shopID == nil {
				return task.WithField(task.ErrShopRequired, "shop_id")
			}
			shopID = *pr.shopID
		}
		shop, err := loadShop(ctx, tx, p.ClientID, shopID)
		if err != nil {
			return err
		}
		if !t.ShopAllowed(shop) {
			return task.WithField(task.ErrShopNotEligible, "shop_id")
		}
		// Lock the participant's counter row first: it serializes this
		// participant's takes, so the open-take check below sees any
		// take that committed while we waited.
		if err := lockCounter(ctx, tx, t.ID, slot.N, "participant", p.ID, t.PerParticipant); err != nil {
			return err
		}
		var open int64
		err = tx.QueryRow(ctx, `SELECT id FROM task_submissions WHERE task_id = $1 AND participant_id = $2
			AND slot = $3 AND status = 'taken'`, t.ID, p.ID, slot.N).Scan(&open)
		if err == nil {
			return existingTake{open}
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err := s.reserve(ctx, tx, t.ID, slot.N, "participant", p.ID, t.PerParticipant); err != nil {
			return err
		}
		if t.PerShop > 0 {
			if err := s.reserve(ctx, tx, t.ID, slot.N, "shop", shopID, t.PerShop); err != nil {
				return err
			}
		}
		if err := tx.QueryRow(ctx, `INSERT INTO task_submissions (client_id, program_id, task_id, participant_id,
			shop_id, slot, slot_starts_at, slot_due_at, status, reward_kopecks, taken_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'taken', $9, $10, $10) RETURNING id`,
			p.ClientID, t.ProgramID, t.ID, p.ID, shopID, slot.N, slot.Start, slot.End, t.RewardKopecks, now).Scan(&subID); err != nil {
			return err
		}
		_, err = s.event(ctx, tx, subID, "", task.Taken, participantActor(p), "", "")
		return err
	})
	var ex existingTake
	if errors.As(err, &ex) {
		subID, err = ex.id, nil
	}
	if err != nil {
		return task.Submission{}, err
	}
	return s.MySubmission(ctx, p, subID)
}

func participantActor(p Participant) string { return "participant:" + strconv.FormatInt(p.ID, 10) }

// reserve takes one unit of a limit counter; the CHECK on the row is what
// refuses the unit over the cap.
func (s *Store) reserve(ctx context.Context, tx pgx.Tx, taskID int64, slot int, scope string, subject int64, limit int) error {
	if err := lockCounter(ctx, tx, taskID, slot, scope, subject, limit); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE task_quotas SET used = used + 1
		WHERE task_id = $1 AND slot = $2 AND scope = $3 AND subject_id = $4`, taskID, slot, scope, subject)
	if postgres.ConstraintViolated(err) == "task_quotas_cap" {
		if scope == "shop" {
			return task.ErrShopLimit
		}
		return task.ErrParticipantLimit
	}
	return err
}

// lockCounter creates a limit counter if it is new and locks it until the
// transaction ends (the upsert takes the row lock either way).
func lockCounter(ctx context.Context, tx pgx.Tx, taskID int64, slot int, scope string, subject int64, limit int) error {
	_, err := tx.Exec(ctx, `INSERT INTO task_quotas (task_id, slot, scope, subject_id, used, cap)
		VALUES ($1, $2, $3, $4, 0, $5)
		ON CONFLICT (task_id, slot, scope, subject_id) DO UPDATE SET cap = EXCLUDED.cap`,
		taskID, slot, scope, subject, limit)
	return err
}

// Upload is a report as it arrives from the app.
type Upload struct {
	Photos     [][]byte
	Answers    []byte // JSON object
	Comment    string
	Lat, Lon   *float64
	CapturedAt time.Time
}

// Submit stores a report for participant p's attempt id (taken, or sent
// back for rework) and returns it: photos checked and stored, answers
// validated, integrity flags computed (exact and near-duplicate photos
// across the program, geofence, capture time) and, when the task allows it
// and the participant's history is clean, approved and credited at once.
func (s *Store) Submit(ctx context.Context, p Participant, id int64, u Upload) (task.Submission, error) {
	// Cheap checks before the photos are decoded and stored.
	cur, err := scanSub(s.db.QueryRow(ctx, `SELECT `+subColumns+` FROM task_submissions s
		JOIN tasks t ON t.id = s.task_id WHERE s.id = $1 AND s.participant_id = $2 AND s.client_id = $3`, id, p.ID, p.ClientID))
	if err != nil {
		return task.Submission{}, err
	}
	if _, err := task.Transition(cur.Status, task.ActSubmit); err != nil {
		return task.Submission{}, err
	}
	if len(u.Photos) > task.MaxPhotos {
		return task.Submission{}, task.WithField(task.ErrTooManyPhotos, "photos")
	}
	infos := make([]task.PhotoInfo, len(u.Photos))
	keys := make([]string, len(u.Photos))
	for i, data := range u.Photos {
		if infos[i], err = task.InspectPhoto(ctx, data, fmt.Sprintf("photos[%d]", i)); err != nil {
			return task.Submission{}, err
		}
	}
	for i, data := range u.Photos {
		// Content-addressed: a photo stored for a report that then fails
		// is harmless and reused if sent again.
		if keys[i], err = s.photos.Put(ctx, data, infos[i].Ext); err != nil {
			return task.Submission{}, fmt.Errorf("taskdb: store photo: %w", err)
		}
	}
	err = withTx(ctx, s.db, func(tx pgx.Tx) error {
		sub, err := lockSub(ctx, tx, id, p.ID)
		if err != nil {
			return err
		}
		to, err := task.Transition(sub.Status, task.ActSubmit)
		if err != nil {
			return err
		}
		now := s.now()
		if now.After(sub.Slot.End) {
			return task.ErrSlotOver
		}
		t, err := scanTask(tx.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks t WHERE t.id = $1`, sub.TaskID))
		if err != nil {
			return err
		}
		shop, err := loadShop(ctx, tx, sub.ClientID, sub.ShopID)
		if err != nil {
			return err
		}
		answers, err := task.ParseAnswers(u.Answers, t.Evidence.Checklist)
		if err != nil {
			return err
		}
		flags, err := t.CheckReport(task.Report{Photos: len(u.Photos), Answers: answers, Comment: u.Comment,
			Lat: u.Lat, Lon: u.Lon, CapturedAt: u.CapturedAt}, sub.Slot, shop, now)
		if err != nil {
			return err
		}
		photoFlags, err := s.photoFlags(ctx, tx, sub.ProgramID, sub.ID, infos)
		if err != nil {
			return err
		}
		flags = append(photoFlags, flags...)
		if flags == nil {
			flags = []task.Flag{}
		}
		// A reworked report replaces its photos.
		if _, err := tx.Exec(ctx, `DELETE FROM task_photos WHERE submission_id = $1`, sub.ID); err != nil {
			return err
		}
		for i, in := range infos {
			if _, err := tx.Exec(ctx, `INSERT INTO task_photos (submission_id, program_id, idx, photo_key, sha256, phash, width, height, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, sub.ID, sub.ProgramID, i, keys[i], in.SHA256[:],
				int64(in.PHash), in.Width, in.Height, now); err != nil {
				return err
			}
		}
		aj, _ := json.Marshal(answers)
		fj, _ := json.Marshal(flags)
		var captured *time.Time
		if !u.CapturedAt.IsZero() {
			captured = &u.CapturedAt
		}
		if _, err := tx.Exec(ctx, `UPDATE task_submissions SET status = $2, answers = $3, comment = $4,
			geo_lat = $5, geo_lon = $6, captured_at = $7, flags = $8, submitted_at = $9, updated_at = $9,
			reason_code = '', review_comment = CASE WHEN status = 'rework_requested' THEN review_comment ELSE '' END
			WHERE id = $1`, sub.ID, string(to), aj, u.Comment, u.Lat, u.Lon, captured, fj, now); err != nil {
			return err
		}
		if _, err := s.event(ctx, tx, sub.ID, sub.Status, to, participantActor(p), "", ""); err != nil {
			return err
		}
		sub.Status = to
		if !t.AutoApprove.Enabled || len(flags) > 0 {
			return nil
		}
		var h task.History
		if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'approved'), count(*) FILTER (WHERE status = 'rejected')
			FROM task_submissions WHERE participant_id = $1 AND program_id = $2`, p.ID, sub.ProgramID).Scan(&h.Approved, &h.Rejected); err != nil {
			return err
		}
		if !t.AutoApprovable(flags, h) || (s.secondApproval > 0 && sub.RewardKopecks >= s.secondApproval) {
			// Over the second-approval limit two people approve it.
			return nil
		}
		err = s.approve(ctx, tx, &sub, "auto", 0)
		if errors.Is(err, ledger.ErrBudgetExhausted) {
			// Leave it to a moderator; the budget may be topped up.
			s.log.WarnContext(ctx, "task auto-approval skipped: budget exhausted", "submission_id", sub.ID, "program_id", sub.ProgramID)
			return nil
		}
		return err
	})
	if err != nil {
		return task.Submission{}, err
	}
	return s.MySubmission(ctx, p, id)
}

// photoFlags compares the photos with every other report's photos in the
// program: byte-identical (sha256) first, else the nearest perceptual hash
// within the threshold. The scan is per program and indexed for sha256; the
// Hamming scan reads the program's hashes (64-bit integers, ~10^5 rows in
// a few milliseconds).
func (s *Store) photoFlags(ctx context.Context, tx pgx.Tx, programID, subID int64, infos []task.PhotoInfo) ([]task.Flag, error) {
	var flags []task.Flag
	for i, in := range infos {
		var ref int64
		err := tx.QueryRow(ctx, `SELECT submission_id FROM task_photos WHERE program_id = $1 AND sha256 = $2
			AND submission_id <> $3 ORDER BY submission_id LIMIT 1`, programID, in.SHA256[:], subID).Scan(&ref)
		if err == nil {
			f := task.NewFlag(task.FlagDuplicatePhoto)
			f.Photo, f.RefSubmissionID = &i, ref
			flags = append(flags, f)
			continue
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
		var bits int
		err = tx.QueryRow(ctx, `SELECT submission_id, d FROM (
			    SELECT submission_id, bit_count((phash # $2)::bit(64)) AS d FROM task_photos
			     WHERE program_id = $1 AND submission_id <> $3) x
			 WHERE d <= $4 ORDER BY d, submission_id LIMIT 1`, programID, int64(in.PHash), subID, s.threshold).Scan(&ref, &bits)
		if err == nil {
			f := task.NewFlag(task.FlagSimilarPhoto)
			f.Photo, f.RefSubmissionID, f.Bits = &i, ref, &bits
			flags = append(flags, f)
			continue
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
	}
	return flags, nil
}

// approve credits a submission's reward and marks it approved, in tx.
func (s *Store) approve(ctx context.Context, tx pgx.Tx, sub *task.Submission, actor string, by int64) error {
	var crediting string
	if err := tx.QueryRow(ctx, `SELECT crediting FROM programs WHERE id = $1`, sub.ProgramID).Scan(&crediting); err != nil {
		return err
	}
	now := s.now()
	// The reward's posting joins tx (ledger.Postings).
	txID, err := s.ledger.Post(postgres.ContextWithTx(ctx, tx), ledger.Transaction{
		IdempotencyKey: task.RewardKey(sub.ID),
		Kind:           ledger.KindTaskReward,
		ClientID:       sub.ClientID,
		ProgramID:      sub.ProgramID,
		ParticipantID:  sub.ParticipantID,
		Memo:           "Задание: " + sub.TaskTitle,
		OccurredOn:     now.In(task.Moscow),
		Postings:       ledger.Credit(sub.ClientID, sub.ProgramID, sub.ParticipantID, sub.RewardKopecks, crediting == "period_close"),
	})
	if err != nil && !errors.Is(err, ledger.ErrAlreadyPosted) {
		return err
	}
	auto := by == 0
	if _, err := tx.Exec(ctx, `UPDATE task_submissions SET status = 'approved', points_kopecks = reward_kopecks,
		ledger_tx_id = $2, reviewed_by = NULLIF($3, 0), auto_approved = $4, reviewed_at = $5, updated_at = $5,
		reason_code = '' WHERE id = $1`, sub.ID, txID, by, auto, now); err != nil {
		return err
	}
	eid, err := s.event(ctx, tx, sub.ID, sub.Status, task.Approved, actor, "", "")
	if err != nil {
		return err
	}
	if s.notifier == nil {
		return nil
	}
	return s.notifier.TaskReviewed(ctx, tx, task.Reviewed{
		EventID: eid, ClientID: sub.ClientID, ParticipantID: sub.ParticipantID, SubmissionID: sub.ID, TaskID: sub.TaskID,
		TaskTitle: sub.TaskTitle, Status: task.Approved, PointsKopecks: sub.RewardKopecks, Pending: crediting == "period_close",
		Message: "Отчёт по заданию «" + sub.TaskTitle + "» принят, баллы начислены.",
	})
}

// MySubmission returns participant p's report id with its photos.
func (s *Store) MySubmission(ctx context.Context, p Participant, id int64) (task.Submission, error) {
	sub, err := scanSub(s.db.QueryRow(ctx, `SELECT `+subColumns+` FROM task_submissions s
		JOIN tasks t ON t.id = s.task_id WHERE s.id = $1 AND s.participant_id = $2 AND s.client_id = $3`, id, p.ID, p.ClientID))
	if err != nil {
		return sub, err
	}
	subs := []task.Submission{sub}
	err = s.photosOf(ctx, s.db, subs)
	return subs[0], err
}

// TaskPoints is what a participant earned on one task.
type TaskPoints struct {
	TaskID        int64
	Title         string
	Approved      int
	PointsKopecks int64
}

// Mine is a participant's reports and earnings.
type Mine struct {
	Submissions []task.Submission
	PerTask     []TaskPoints
	// TotalKopecks is the sum of approved rewards over every task.
	TotalKopecks int64
}

// MineFilter selects a participant's reports.
type MineFilter struct {
	Status task.SubmissionStatus // "": any
	TaskID int64                 // 0: any
	Limit  int
	// BeforeID pages: only reports with a smaller id.
	BeforeID int64
}

// MySubmissions lists participant p's reports, newest first, with the
// points earned per task and in total.
func (s *Store) MySubmissions(ctx context.Context, p Participant, f MineFilter) (Mine, error) {
	var m Mine
	subs, err := collectSubs(s.db.Query(ctx, `SELECT `+subColumns+` FROM task_submissions s JOIN tasks t ON t.id = s.task_id
		WHERE s.participant_id = $1 AND s.client_id = $2 AND ($3 = '' OR s.status = $3) AND ($4 = 0 OR s.task_id = $4)
		  AND ($5 = 0 OR s.id < $5)
		ORDER BY s.id DESC LIMIT $6`, p.ID, p.ClientID, string(f.Status), f.TaskID, f.BeforeID, clampLimit(f.Limit)))
	if err != nil {
		return m, err
	}
	if err := s.photosOf(ctx, s.db, subs); err != nil {
		return m, err
	}
	m.Submissions = subs
	rows, err := s.db.Query(ctx, `SELECT s.task_id, t.title, count(*), COALESCE(SUM(s.points_kopecks), 0)
		FROM task_submissions s JOIN tasks t ON t.id = s.task_id
		WHERE s.participant_id = $1 AND s.client_id = $2 AND s.status = 'approved'
		GROUP BY s.task_id, t.title ORDER BY s.task_id`, p.ID, p.ClientID)
	if err != nil {
		return m, err
	}
	m.PerTask, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TaskPoints, error) {
		var tp TaskPoints
		err := r.Scan(&tp.TaskID, &tp.Title, &tp.Approved, &tp.PointsKopecks)
		return tp, err
	})
	for _, tp := range m.PerTask {
		m.TotalKopecks += tp.PointsKopecks
	}
	return m, err
}

// ExpireOverdue ends attempts that were taken (or sent back for rework)
// and not reported before their period's due time, giving their units of
// the limits back; at most limit of them per call. It returns how many it
// expired. Run it periodically from the worker.
func (s *Store) ExpireOverdue(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		limit = 500
	}
	n := 0
	err := withTx(ctx, s.db, func(tx pgx.Tx) error {
		n = 0
		subs, err := collectSubs(tx.Query(ctx, `SELECT `+subColumns+` FROM task_submissions s JOIN tasks t ON t.id = s.task_id
			WHERE s.status IN ('taken', 'rework_requested') AND s.slot_due_at < $1
			ORDER BY s.slot_due_at LIMIT $2 FOR UPDATE OF s SKIP LOCKED`, s.now(), limit))
		if err != nil {
			return err
		}
		for i := range subs {
			sub := &subs[i]
			if _, err := tx.Exec(ctx, `UPDATE task_submissions SET status = 'expired', updated_at = $2 WHERE id = $1`, sub.ID, s.now()); err != nil {
				return err
			}
			if err := releaseQuota(ctx, tx, sub); err != nil {
				return err
			}
			if _, err := s.event(ctx, tx, sub.ID, sub.Status, task.Expired, "system", "overdue", "Срок выполнения истёк."); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
