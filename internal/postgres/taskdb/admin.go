package taskdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

// Roles that manage tasks and that moderate reports.
var (
	managerRoles   = []access.Role{access.ClientManager}
	moderatorRoles = []access.Role{access.ClientManager, access.Moderator}
)

// ErrUnknownProgram: the program does not exist or is not the caller's.
var ErrUnknownProgram = task.WithMessage(task.ErrInvalid, "program_id", "Программа не найдена.")

// ErrUnknownShops: eligibility names shops the client does not have.
var ErrUnknownShops = task.WithMessage(task.ErrInvalid, "eligibility.shop_ids", "Среди магазинов есть не принадлежащие клиенту.")

// CreateTask validates t and stores it for the client owning t.ProgramID.
// The staff member must be a client manager of that client (or an operator).
func (s *Store) CreateTask(ctx context.Context, st access.Staff, t task.Task) (task.Task, error) {
	if err := t.Normalize(); err != nil {
		return task.Task{}, err
	}
	checklist, err := json.Marshal(t.Evidence.Checklist)
	if err != nil {
		return task.Task{}, err
	}
	var out task.Task
	err = withTx(ctx, s.db, func(tx pgx.Tx) error {
		var clientID int64
		err := tx.QueryRow(ctx, `SELECT client_id FROM programs WHERE id = $1`, t.ProgramID).Scan(&clientID)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !st.CanSee(clientID)) {
			return ErrUnknownProgram
		}
		if err != nil {
			return err
		}
		if err := st.CheckClient(clientID, managerRoles...); err != nil {
			return err
		}
		if len(t.Eligibility.ShopIDs) > 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM shops WHERE client_id = $1 AND id = ANY($2)`,
				clientID, t.Eligibility.ShopIDs).Scan(&n); err != nil {
				return err
			}
			if n != len(t.Eligibility.ShopIDs) {
				return ErrUnknownShops
			}
		}
		now := s.now()
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO tasks (client_id, program_id, title, instructions, reward_kopecks,
			roles, shop_ids, regions, chains, starts_at, due_at, recurrence, per_participant, per_shop,
			min_photos, max_photos, checklist, comment_required, geofence_meters, auto_approve,
			auto_min_approved, status, created_by, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$24)
			RETURNING id`,
			clientID, t.ProgramID, t.Title, t.Instructions, t.RewardKopecks, t.Eligibility.Roles,
			t.Eligibility.ShopIDs, t.Eligibility.Regions, t.Eligibility.Chains, t.StartsAt, t.DueAt,
			string(t.Recurrence), t.PerParticipant, t.PerShop, t.Evidence.MinPhotos, t.Evidence.MaxPhotos,
			checklist, t.Evidence.CommentRequired, t.GeofenceMeters, t.AutoApprove.Enabled,
			t.AutoApprove.MinApproved, string(t.Status), st.UserID, now).Scan(&id); err != nil {
			return err
		}
		out, err = scanTask(tx.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks t WHERE t.id = $1`, id))
		return err
	})
	return out, err
}

// Task returns task id if the staff member may see its client; else
// task.ErrNotFound.
func (s *Store) Task(ctx context.Context, st access.Staff, id int64) (task.Task, error) {
	t, err := scanTask(s.db.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks t WHERE t.id = $1`, id))
	if err != nil {
		return t, err
	}
	if !st.CanSee(t.ClientID) {
		return task.Task{}, task.ErrNotFound
	}
	return t, st.CheckClient(t.ClientID, moderatorRoles...)
}

// Tasks lists a client's tasks, newest first (status "" for all).
func (s *Store) Tasks(ctx context.Context, st access.Staff, clientID int64, status task.Status, limit int) ([]task.Task, error) {
	if err := st.CheckClient(clientID, moderatorRoles...); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+taskColumns+` FROM tasks t
		WHERE t.client_id = $1 AND ($2 = '' OR t.status = $2) ORDER BY t.id DESC LIMIT $3`,
		clientID, string(status), clampLimit(limit))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (task.Task, error) { return scanTask(r) })
}

func clampLimit(n int) int {
	if n <= 0 || n > 200 {
		return 50
	}
	return n
}

// SetTaskStatus archives (or re-activates) a task. Open takes stay valid
// until their period ends; an archived task is offered to no one.
func (s *Store) SetTaskStatus(ctx context.Context, st access.Staff, id int64, status task.Status) (task.Task, error) {
	if status != task.Active && status != task.Archived {
		return task.Task{}, task.WithMessage(task.ErrInvalid, "status", "Статус задания: active или archived.")
	}
	t, err := s.Task(ctx, st, id)
	if err != nil {
		return t, err
	}
	if err := st.CheckClient(t.ClientID, managerRoles...); err != nil {
		return t, err
	}
	return scanTask(s.db.QueryRow(ctx, `UPDATE tasks t SET status = $2, updated_at = $3 WHERE id = $1
		RETURNING `+taskColumns, id, string(status), s.now()))
}

// Queue returns reports waiting for review, the earliest due first.
func (s *Store) Queue(ctx context.Context, st access.Staff, f task.QueueFilter) ([]task.Submission, error) {
	if err := st.CheckClient(f.ClientID, moderatorRoles...); err != nil {
		return nil, err
	}
	if f.Status != "" && f.Status != task.Submitted && f.Status != task.InReview {
		return nil, task.WithMessage(task.ErrInvalid, "status", "Очередь показывает статусы submitted и in_review.")
	}
	if f.Offset < 0 || f.Offset > 100_000 {
		return nil, task.WithMessage(task.ErrInvalid, "offset", "Некорректное смещение.")
	}
	subs, err := collectSubs(s.db.Query(ctx, `SELECT `+subColumns+` FROM task_submissions s JOIN tasks t ON t.id = s.task_id
		WHERE s.client_id = $1 AND s.status IN ('submitted', 'in_review') AND ($2 = '' OR s.status = $2)
		  AND ($3 = 0 OR s.task_id = $3)
		ORDER BY s.slot_due_at, s.submitted_at, s.id LIMIT $4 OFFSET $5`,
		f.ClientID, string(f.Status), f.TaskID, clampLimit(f.Limit), f.Offset))
	if err != nil {
		return nil, err
	}
	return subs, s.photosOf(ctx, s.db, subs)
}

// Submission returns one report with its photos for a moderator.
func (s *Store) Submission(ctx context.Context, st access.Staff, id int64) (task.Submission, error) {
	sub, err := scanSub(s.db.QueryRow(ctx, `SELECT `+subColumns+` FROM task_submissions s
		JOIN tasks t ON t.id = s.task_id WHERE s.id = $1`, id))
	if err != nil {
		return sub, err
	}
	if !st.CanSee(sub.ClientID) {
		return task.Submission{}, task.ErrSubmissionNotFound
	}
	if err := st.CheckClient(sub.ClientID, moderatorRoles...); err != nil {
		return task.Submission{}, err
	}
	subs := []task.Submission{sub}
	err = s.photosOf(ctx, s.db, subs)
	return subs[0], err
}

// Photo opens photo idx of a report for a moderator.
func (s *Store) Photo(ctx context.Context, st access.Staff, id int64, idx int) (io.ReadCloser, string, error) {
	sub, err := s.Submission(ctx, st, id)
	if err != nil {
		return nil, "", err
	}
	for _, p := range sub.Photos {
		if p.Index == idx {
			rc, err := s.photos.Open(ctx, p.Key)
			if err != nil {
				return nil, "", fmt.Errorf("taskdb: open photo %s: %w", p.Key, err)
			}
			ct := "image/jpeg"
			if len(p.Key) > 4 && p.Key[len(p.Key)-4:] == ".png" {
				ct = "image/png"
			}
			return rc, ct, nil
		}
	}
	return nil, "", task.WithMessage(task.ErrSubmissionNotFound, "photo", "Фотография не найдена.")
}

// Review applies a moderator's decision to report id. Approval credits the
// reward from the program budget through the ledger in the same
// transaction as the status change, under the idempotency key
// task.RewardKey(id): approving an approved report again returns it
// unchanged and credits nothing. It returns ledger.ErrBudgetExhausted
// (nothing changed) when the budget cannot pay, task.ErrAlreadyReviewed
// for any other decision on a reviewed report.
func (s *Store) Review(ctx context.Context, st access.Staff, id int64, r task.Review) (task.Submission, error) {
	if err := r.Validate(); err != nil {
		return task.Submission{}, err
	}
	var out task.Submission
	err := withTx(ctx, s.db, func(tx pgx.Tx) error {
		sub, err := lockSub(ctx, tx, id, 0)
		if err != nil {
			return err
		}
		if !st.CanSee(sub.ClientID) {
			return task.ErrSubmissionNotFound
		}
		if err := st.CheckClient(sub.ClientID, moderatorRoles...); err != nil {
			return err
		}
		to, err := task.Transition(sub.Status, r.Action)
		if errors.Is(err, task.ErrAlreadyReviewed) && r.Action == task.ActApprove && sub.Status == task.Approved {
			out = sub
			return nil // done before: credit once, answer the same
		}
		if err != nil {
			return err
		}
		actor := staffActor(st)
		switch r.Action {
		case task.ActApprove:
			err = s.approveReviewed(ctx, tx, &sub, actor, st.UserID)
		case task.ActReject, task.ActRework, task.ActClaim:
			err = s.decide(ctx, tx, &sub, to, r, actor, st.UserID)
		}
		if err != nil {
			return err
		}
		out, err = scanSub(tx.QueryRow(ctx, `SELECT `+subColumns+` FROM task_submissions s
			JOIN tasks t ON t.id = s.task_id WHERE s.id = $1`, id))
		return err
	})
	if err != nil {
		return task.Submission{}, err
	}
	subs := []task.Submission{out}
	err = s.photosOf(ctx, s.db, subs)
	return subs[0], err
}

// approveReviewed is a staff member's approval. A reward at or over the
// second-approval limit is credited only by a second, different person:
// the first approval is recorded (the report stays in review), the same
// person approving again gets task.ErrSecondApproval, and the CHECK
// task_submissions_second_approver refuses anything else. The submission
// row is locked, so two approvals cannot both be "the first".
func (s *Store) approveReviewed(ctx context.Context, tx pgx.Tx, sub *task.Submission, actor string, by int64) error {
	if s.secondApproval <= 0 || sub.RewardKopecks < s.secondApproval {
		return s.approve(ctx, tx, sub, actor, by)
	}
	switch sub.FirstApprovedBy {
	case 0:
		now := s.now()
		if _, err := tx.Exec(ctx, `UPDATE task_submissions SET status = 'in_review', needs_second_approval = true,
			first_approved_by = $2, first_approved_at = $3, reviewed_by = $2, updated_at = $3 WHERE id = $1`,
			sub.ID, by, now); err != nil {
			return err
		}
		_, err := s.event(ctx, tx, sub.ID, sub.Status, task.InReview, actor, "first_approval", "")
		return err
	case by:
		return task.ErrSecondApproval
	}
	if _, err := tx.Exec(ctx, `UPDATE task_submissions SET needs_second_approval = true WHERE id = $1`, sub.ID); err != nil {
		return err
	}
	return s.approve(ctx, tx, sub, actor, by)
}

// lockSub reads and locks a submission (of participantID, when not 0).
func lockSub(ctx context.Context, tx pgx.Tx, id, participantID int64) (task.Submission, error) {
	return scanSub(tx.QueryRow(ctx, `SELECT `+subColumns+` FROM task_submissions s
		JOIN tasks t ON t.id = s.task_id
		WHERE s.id = $1 AND ($2 = 0 OR s.participant_id = $2) FOR UPDATE OF s`, id, participantID))
}

// decide stores a rejection, a rework request or a claim. A rejection gives
// the unit of the limits back.
func (s *Store) decide(ctx context.Context, tx pgx.Tx, sub *task.Submission, to task.SubmissionStatus, r task.Review, actor string, by int64) error {
	now := s.now()
	// A rejection or rework ends a pending first approval: a reworked
	// report needs two approvals again.
	if _, err := tx.Exec(ctx, `UPDATE task_submissions SET status = $2, reason_code = $3, review_comment = $4,
		reviewed_by = NULLIF($5, 0), reviewed_at = CASE WHEN $2 = 'in_review' THEN reviewed_at ELSE $6 END, updated_at = $6,
		first_approved_by = CASE WHEN $2 = 'in_review' THEN first_approved_by END,
		first_approved_at = CASE WHEN $2 = 'in_review' THEN first_approved_at END
		WHERE id = $1`, sub.ID, string(to), r.ReasonCode, r.Comment, by, now); err != nil {
		return err
	}
	if to == task.Rejected {
		if err := releaseQuota(ctx, tx, sub); err != nil {
			return err
		}
	}
	msg := r.Comment
	if to == task.Rejected {
		msg = task.RejectReasons[r.ReasonCode]
		if r.Comment != "" {
			msg += " " + r.Comment
		}
	}
	eid, err := s.event(ctx, tx, sub.ID, sub.Status, to, actor, r.ReasonCode, msg)
	if err != nil {
		return err
	}
	if to == task.InReview || s.notifier == nil {
		return nil
	}
	return s.notifier.TaskReviewed(ctx, tx, task.Reviewed{
		EventID: eid, ClientID: sub.ClientID, ParticipantID: sub.ParticipantID, SubmissionID: sub.ID, TaskID: sub.TaskID,
		TaskTitle: sub.TaskTitle, Status: to, ReasonCode: r.ReasonCode, Message: msg,
	})
}

// releaseQuota gives back the unit a submission held, participant counter
// first and shop counter second: the order takes lock them in, so a
// release and a take never wait on each other in a cycle.
func releaseQuota(ctx context.Context, tx pgx.Tx, sub *task.Submission) error {
	for _, q := range []struct {
		scope string
		id    int64
	}{{"participant", sub.ParticipantID}, {"shop", sub.ShopID}} {
		if _, err := tx.Exec(ctx, `UPDATE task_quotas SET used = used - 1
			WHERE task_id = $1 AND slot = $2 AND scope = $3 AND subject_id = $4 AND used > 0`,
			sub.TaskID, sub.Slot.N, q.scope, q.id); err != nil {
			return err
		}
	}
	return nil
}
