package task

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SubmissionStatus is where a participant's attempt at a task stands.
type SubmissionStatus string

// Submission statuses. A submission starts as taken (the participant has
// reserved one unit of the period's limits), becomes submitted with a
// report, in_review when a moderator picks it, and ends approved (reward
// credited), rejected (limits released) or expired (taken or sent back for
// rework and not reported before the period's end; limits released).
// rework_requested returns it to the participant for another report.
const (
	Taken           SubmissionStatus = "taken"
	Submitted       SubmissionStatus = "submitted"
	InReview        SubmissionStatus = "in_review"
	Approved        SubmissionStatus = "approved"
	Rejected        SubmissionStatus = "rejected"
	ReworkRequested SubmissionStatus = "rework_requested"
	Expired         SubmissionStatus = "expired"
)

// Statuses lists every submission status.
var Statuses = []SubmissionStatus{Taken, Submitted, InReview, Approved, Rejected, ReworkRequested, Expired}

// ParseStatus reads a submission status filter: "" is no filter, a known
// status is itself, anything else is not ok.
func ParseStatus(v string) (s SubmissionStatus, ok bool) {
	if v == "" {
		return "", true
	}
	for _, s := range Statuses {
		if string(s) == v {
			return s, true
		}
	}
	return "", false
}

// Terminal reports whether s is final.
func (s SubmissionStatus) Terminal() bool { return s == Approved || s == Rejected || s == Expired }

// HoldsQuota reports whether a submission in s counts against the limits.
func (s SubmissionStatus) HoldsQuota() bool { return s != Rejected && s != Expired }

// Action is something that changes a submission's status.
type Action string

// Actions.
const (
	ActSubmit  Action = "submit"
	ActClaim   Action = "claim" // a moderator starts reviewing
	ActApprove Action = "approve"
	ActReject  Action = "reject"
	ActRework  Action = "rework"
	ActExpire  Action = "expire"
)

var transitions = map[Action]struct {
	from []SubmissionStatus
	to   SubmissionStatus
}{
	ActSubmit:  {[]SubmissionStatus{Taken, ReworkRequested}, Submitted},
	ActClaim:   {[]SubmissionStatus{Submitted}, InReview},
	ActApprove: {[]SubmissionStatus{Submitted, InReview}, Approved},
	ActReject:  {[]SubmissionStatus{Submitted, InReview}, Rejected},
	ActRework:  {[]SubmissionStatus{Submitted, InReview}, ReworkRequested},
	ActExpire:  {[]SubmissionStatus{Taken, ReworkRequested}, Expired},
}

// Transition returns the status a applied to from leads to, or
// ErrAlreadyReviewed for a review of a reviewed submission, or ErrBadStatus.
func Transition(from SubmissionStatus, a Action) (SubmissionStatus, error) {
	tr, ok := transitions[a]
	if !ok {
		return from, ErrBadStatus
	}
	if slices.Contains(tr.from, from) {
		return tr.to, nil
	}
	if (a == ActApprove || a == ActReject || a == ActRework || a == ActClaim) && (from == Approved || from == Rejected) {
		return from, ErrAlreadyReviewed
	}
	return from, ErrBadStatus
}

// RejectReasons are the reason codes a moderator picks from, with the
// message the participant sees.
var RejectReasons = map[string]string{
	"photo_unreadable":   "Фотографии нечёткие или не показывают результат работы.",
	"not_done":           "Работа по заданию не выполнена.",
	"wrong_shop":         "Отчёт сделан не в том магазине.",
	"duplicate_photo":    "Фотографии уже использовались в другом отчёте.",
	"checklist_mismatch": "Ответы чек-листа не соответствуют фотографиям.",
	"out_of_time":        "Работа выполнена вне срока задания.",
	"other":              "Отчёт отклонён модератором.",
}

// Review is a moderator's decision.
type Review struct {
	Action Action
	// ReasonCode is one of RejectReasons for a rejection.
	ReasonCode string
	// Comment is free text to the participant; required for rework.
	Comment string
}

// Validate checks a review's fields.
func (r *Review) Validate() error {
	r.Comment = strings.TrimSpace(r.Comment)
	if utf8.RuneCountInString(r.Comment) > MaxCommentRunes || !utf8.ValidString(r.Comment) {
		return invalid("comment", "Комментарий не длиннее 2000 символов.")
	}
	switch r.Action {
	case ActReject:
		if _, ok := RejectReasons[r.ReasonCode]; !ok {
			return WithField(ErrBadReason, "reason_code")
		}
		if r.ReasonCode == "other" && r.Comment == "" {
			return invalid("comment", "Для причины «другое» напишите комментарий.")
		}
	case ActRework:
		if r.Comment == "" {
			return invalid("comment", "Напишите, что нужно исправить.")
		}
		r.ReasonCode = ""
	case ActApprove, ActClaim:
		r.ReasonCode = ""
	default:
		return invalid("action", "Неизвестное действие.")
	}
	return nil
}

// History is a participant's record of reviewed reports in a program.
type History struct {
	Approved int
	Rejected int
}

// AutoApprovable reports whether a report with flags may be approved
// without a moderator: the task allows it, nothing is flagged and the
// participant's history is clean (enough approvals, no rejections).
func (t Task) AutoApprovable(flags []Flag, h History) bool {
	return t.AutoApprove.Enabled && len(flags) == 0 && h.Rejected == 0 && h.Approved >= t.AutoApprove.MinApproved
}

// Submission is one attempt of a participant at a task in one period.
type Submission struct {
	ID            int64
	ClientID      int64
	ProgramID     int64
	TaskID        int64
	TaskTitle     string
	ParticipantID int64
	ShopID        int64
	Slot          Slot
	Status        SubmissionStatus
	ReasonCode    string
	// ReasonMessage is the Russian explanation of a rejection.
	ReasonMessage string
	ReviewComment string
	Answers       Answers
	Comment       string
	Lat, Lon      *float64
	CapturedAt    *time.Time
	Flags         []Flag
	Photos        []Photo
	RewardKopecks int64
	// PointsKopecks is what approval credited (0 until approved).
	PointsKopecks int64
	ReviewedBy    int64 // 0: auto-approved or not reviewed
	// FirstApprovedBy is the staff member whose approval of a reward over
	// the second-approval limit waits for another person's (0: none).
	FirstApprovedBy int64
	AutoApproved    bool
	TakenAt         time.Time
	SubmittedAt     *time.Time
	ReviewedAt      *time.Time
	UpdatedAt       time.Time
}

// Photo is one stored photo of a report.
type Photo struct {
	Index  int    `json:"index"`
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
	PHash  uint64 `json:"-"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// RewardKey is the ledger idempotency key of a submission's reward: one
// submission is credited once, whoever approves it how often.
func RewardKey(submissionID int64) string {
	return "task_submission:" + strconv.FormatInt(submissionID, 10)
}
