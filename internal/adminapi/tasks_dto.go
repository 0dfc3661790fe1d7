package adminapi

import (
	"strconv"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/task"
)

// taskInput is the body of POST /admin/v1/tasks.
type taskInput struct {
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

func (in taskInput) toTask() task.Task {
	return task.Task{
		ProgramID: in.ProgramID, Title: in.Title, Instructions: in.Instructions, RewardKopecks: in.RewardKopecks,
		Eligibility: in.Eligibility, StartsAt: in.StartsAt, DueAt: in.DueAt, Recurrence: in.Recurrence,
		PerParticipant: in.PerParticipant, PerShop: in.PerShop, Evidence: in.Evidence,
		GeofenceMeters: in.GeofenceMeters, AutoApprove: in.AutoApprove,
	}
}

type taskDTO struct {
	ID           int64  `json:"id"`
	ClientID     int64  `json:"client_id"`
	Status       string `json:"status"`
	RewardPoints string `json:"reward_points"` // "300.00", for display
	taskInput
	CreatedAt time.Time `json:"created_at"`
}

func taskView(t task.Task) taskDTO {
	return taskDTO{
		ID: t.ID, ClientID: t.ClientID, Status: string(t.Status), RewardPoints: points(t.RewardKopecks),
		taskInput: taskInput{
			ProgramID: t.ProgramID, Title: t.Title, Instructions: t.Instructions, RewardKopecks: t.RewardKopecks,
			Eligibility: t.Eligibility, StartsAt: t.StartsAt, DueAt: t.DueAt, Recurrence: t.Recurrence,
			PerParticipant: t.PerParticipant, PerShop: t.PerShop, Evidence: t.Evidence,
			GeofenceMeters: t.GeofenceMeters, AutoApprove: t.AutoApprove,
		},
		CreatedAt: t.CreatedAt,
	}
}

func points(kopecks int64) string {
	s := strconv.FormatInt(kopecks/100, 10)
	k := kopecks % 100
	if k < 0 {
		k = -k
	}
	return s + "." + string(rune('0'+k/10)) + string(rune('0'+k%10))
}

type photoDTO struct {
	Index  int    `json:"index"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	SHA256 string `json:"sha256"`
	URL    string `json:"url,omitempty"`
}

type submissionDTO struct {
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
	Photos         []photoDTO   `json:"photos"`
	RewardKopecks  int64        `json:"reward_kopecks"`
	PointsKopecks  int64        `json:"points_kopecks"`
	AutoApproved   bool         `json:"auto_approved"`
	TakenAt        time.Time    `json:"taken_at"`
	SubmittedAt    *time.Time   `json:"submitted_at,omitempty"`
	ReviewedAt     *time.Time   `json:"reviewed_at,omitempty"`
}

// submissionView renders a report for moderators: with its integrity flags
// and photo links, which the participant's view (mobile-api) leaves out.
func submissionView(s task.Submission) submissionDTO {
	d := submissionDTO{
		ID: s.ID, TaskID: s.TaskID, TaskTitle: s.TaskTitle, ParticipantID: s.ParticipantID, ShopID: s.ShopID,
		PeriodStartsAt: s.Slot.Start, DueAt: s.Slot.End, Status: string(s.Status), ReasonCode: s.ReasonCode,
		ReasonMessage: s.ReasonMessage, ReviewComment: s.ReviewComment, Answers: s.Answers, Comment: s.Comment,
		Lat: s.Lat, Lon: s.Lon, CapturedAt: s.CapturedAt, Photos: []photoDTO{}, RewardKopecks: s.RewardKopecks,
		PointsKopecks: s.PointsKopecks, AutoApproved: s.AutoApproved, TakenAt: s.TakenAt,
		SubmittedAt: s.SubmittedAt, ReviewedAt: s.ReviewedAt,
	}
	if d.Answers == nil {
		d.Answers = task.Answers{}
	}
	d.Flags = s.Flags
	if d.Flags == nil {
		d.Flags = []task.Flag{}
	}
	for _, p := range s.Photos {
		d.Photos = append(d.Photos, photoDTO{Index: p.Index, Width: p.Width, Height: p.Height, SHA256: p.SHA256,
			URL: "/admin/v1/tasks/submissions/" + strconv.FormatInt(s.ID, 10) + "/photos/" + strconv.Itoa(p.Index)})
	}
	return d
}
