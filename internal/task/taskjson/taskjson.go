// Package taskjson holds the JSON shapes of tasks and task reports that
// both APIs answer with: the participants' (mobile-api, /api/v1/tasks...)
// and the staff's (internal/adminapi, /admin/v1/tasks...). One definition,
// so a field added to a task reaches both. The staff view of a report adds
// what the participant's leaves out (integrity flags, photo links) on top
// of SubmissionOf; see Staff.
package taskjson

import (
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

// Input is the body of POST /admin/v1/tasks; a task as either API shows it
// carries the same fields (Task).
type Input struct {
	ProgramID      int64            `json:"program_id"`
	Title          string           `json:"title"`
	Instructions   string           `json:"instructions"`
	RewardKopecks  int64            `json:"reward_kopecks"`
	Eligibility    task.Eligibility `json:"eligibility"`
	StartsAt       time.Time        `json:"starts_at"`
	DueAt          time.Time        `json:"due_at"`
	Recurrence     task.Recurrence  `json:"recurrence"`
	PerParticipant int              `json:"per_participant"`
	PerShop        int              `json:"per_shop"`
	Evidence       task.Evidence    `json:"evidence"`
	GeofenceMeters int              `json:"geofence_meters"`
	AutoApprove    task.AutoApprove `json:"auto_approve"`
}

// Task returns the task in.
func (in Input) Task() task.Task {
	return task.Task{
		ProgramID: in.ProgramID, Title: in.Title, Instructions: in.Instructions, RewardKopecks: in.RewardKopecks,
		Eligibility: in.Eligibility, StartsAt: in.StartsAt, DueAt: in.DueAt, Recurrence: in.Recurrence,
		PerParticipant: in.PerParticipant, PerShop: in.PerShop, Evidence: in.Evidence,
		GeofenceMeters: in.GeofenceMeters, AutoApprove: in.AutoApprove,
	}
}

// Task is a task as both APIs show it.
type Task struct {
	ID           int64  `json:"id"`
	ClientID     int64  `json:"client_id"`
	Status       string `json:"status"`
	RewardPoints string `json:"reward_points"` // "300.00", for display
	Input
	CreatedAt time.Time `json:"created_at"`
}

// TaskOf renders t.
func TaskOf(t task.Task) Task {
	return Task{
		ID: t.ID, ClientID: t.ClientID, Status: string(t.Status), RewardPoints: money.Kopecks(t.RewardKopecks).String(),
		Input: Input{
			ProgramID: t.ProgramID, Title: t.Title, Instructions: t.Instructions, RewardKopecks: t.RewardKopecks,
			Eligibility: t.Eligibility, StartsAt: t.StartsAt, DueAt: t.DueAt, Recurrence: t.Recurrence,
			PerParticipant: t.PerParticipant, PerShop: t.PerShop, Evidence: t.Evidence,
			GeofenceMeters: t.GeofenceMeters, AutoApprove: t.AutoApprove,
		},
		CreatedAt: t.CreatedAt,
	}
}

// Photo is one photo of a report. URL is the staff's link to it (empty,
// and left out, in the participant's view).
type Photo struct {
	Index  int    `json:"index"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	SHA256 string `json:"sha256"`
	URL    string `json:"url,omitempty"`
}

// Submission is a task report. Flags (the integrity checks that fired)
// are only in the staff's view (Staff).
type Submission struct {
	ID             int64        `json:"id"`
	TaskID         int64        `json:"task_id"`
	TaskTitle      string       `json:"task_title"`
	ParticipantID  int64        `json:"participant_id"`
	ShopID         int64        `json:"shop_id"`
	PeriodStartsAt time.Time    `json:"period_starts_at"`
	DueAt          time.Time    `json:"due_at"`
	Status         string       `json:"status"`
	ReasonCode     string       `json:"reason_code,omitempty"`
	ReasonMessage  string       `json:"reason_message,omitempty"`
	ReviewComment  string       `json:"review_comment,omitempty"`
	Answers        task.Answers `json:"answers"`
	Comment        string       `json:"comment"`
	Lat            *float64     `json:"lat,omitempty"`
	Lon            *float64     `json:"lon,omitempty"`
	CapturedAt     *time.Time   `json:"captured_at,omitempty"`
	Flags          []task.Flag  `json:"flags,omitempty"`
	Photos         []Photo      `json:"photos"`
	RewardKopecks  int64        `json:"reward_kopecks"`
	PointsKopecks  int64        `json:"points_kopecks"`
	AutoApproved   bool         `json:"auto_approved"`
	TakenAt        time.Time    `json:"taken_at"`
	SubmittedAt    *time.Time   `json:"submitted_at,omitempty"`
	ReviewedAt     *time.Time   `json:"reviewed_at,omitempty"`
}

// SubmissionOf renders a report for its participant: without the
// integrity flags and photo links of the moderators' view (Staff), so a
// participant is not told how cheating is detected.
func SubmissionOf(s task.Submission) Submission {
	d := Submission{
		ID: s.ID, TaskID: s.TaskID, TaskTitle: s.TaskTitle, ParticipantID: s.ParticipantID, ShopID: s.ShopID,
		PeriodStartsAt: s.Slot.Start, DueAt: s.Slot.End, Status: string(s.Status), ReasonCode: s.ReasonCode,
		ReasonMessage: s.ReasonMessage, ReviewComment: s.ReviewComment, Answers: s.Answers, Comment: s.Comment,
		Lat: s.Lat, Lon: s.Lon, CapturedAt: s.CapturedAt, Photos: []Photo{}, RewardKopecks: s.RewardKopecks,
		PointsKopecks: s.PointsKopecks, AutoApproved: s.AutoApproved, TakenAt: s.TakenAt,
		SubmittedAt: s.SubmittedAt, ReviewedAt: s.ReviewedAt,
	}
	if d.Answers == nil {
		d.Answers = task.Answers{}
	}
	for _, p := range s.Photos {
		d.Photos = append(d.Photos, Photo{Index: p.Index, Width: p.Width, Height: p.Height, SHA256: p.SHA256})
	}
	return d
}

// Staff renders a report for moderators: SubmissionOf with its integrity
// flags and a link to each photo (photoPath(submission id, photo index),
// the staff API's photo route).
func Staff(s task.Submission, photoPath func(submissionID int64, index int) string) Submission {
	d := SubmissionOf(s)
	d.Flags = s.Flags
	if d.Flags == nil {
		d.Flags = []task.Flag{}
	}
	for i := range d.Photos {
		d.Photos[i].URL = photoPath(s.ID, d.Photos[i].Index)
	}
	return d
}
