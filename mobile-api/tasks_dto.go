package mobileapi

import (
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/task/taskjson"
)

type availableDTO struct {
	Task             taskjson.Task `json:"task"`
	PeriodStartsAt   time.Time     `json:"period_starts_at"`
	DueAt            time.Time     `json:"due_at"` // of the current period
	Used             int           `json:"used"`
	Remaining        int           `json:"remaining"`
	OpenSubmissionID int64         `json:"open_submission_id,omitempty"`
}

type taskPointsDTO struct {
	TaskID        int64  `json:"task_id"`
	Title         string `json:"title"`
	Approved      int    `json:"approved"`
	PointsKopecks int64  `json:"points_kopecks"`
}

type mineDTO struct {
	Items        []taskjson.Submission `json:"items"`
	PerTask      []taskPointsDTO       `json:"per_task"`
	TotalKopecks int64                 `json:"total_kopecks"`
	// NextBefore pages: pass it as ?before= for older reports.
	NextBefore int64 `json:"next_before,omitempty"`
}
