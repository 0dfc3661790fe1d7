package task

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Recurrence says how a task repeats.
type Recurrence string

// Recurrences. A recurring task runs in consecutive periods from StartsAt
// until DueAt; limits count per period.
const (
	Once    Recurrence = "none"
	Daily   Recurrence = "daily"
	Weekly  Recurrence = "weekly"
	Monthly Recurrence = "monthly"
)

// Status of a task.
type Status string

// Task statuses.
const (
	Active   Status = "active"
	Archived Status = "archived"
)

// Roles participants may have (participants.role).
var Roles = []string{"seller", "sales_rep", "merchandiser", "dealer", "manager"}

// Eligibility says who may take a task. An empty list does not restrict.
type Eligibility struct {
	Roles   []string `json:"roles"`
	ShopIDs []int64  `json:"shop_ids"`
	Regions []string `json:"regions"`
	Chains  []string `json:"chains"`
}

// AnswerKind is the kind of a checklist question.
type AnswerKind string

// Checklist answer kinds.
const (
	YesNo  AnswerKind = "yes_no"
	Number AnswerKind = "number"
)

// ChecklistItem is one question of a task's checklist.
type ChecklistItem struct {
	// Key identifies the question in answers: [a-z0-9_], 1–40 chars.
	Key      string     `json:"key"`
	Question string     `json:"question"`
	Kind     AnswerKind `json:"kind"`
	// Required questions must be answered.
	Required bool `json:"required"`
	// Min and Max bound a number answer, when set.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// Expect is the yes/no answer that means the work is done; an answer
	// differing from it is flagged to the moderator. Nil: either is fine.
	Expect *bool `json:"expect,omitempty"`
}

// Evidence is what a report must contain.
type Evidence struct {
	MinPhotos       int             `json:"min_photos"`
	MaxPhotos       int             `json:"max_photos"`
	Checklist       []ChecklistItem `json:"checklist"`
	CommentRequired bool            `json:"comment_required"`
}

// AutoApprove is the policy for approving reports without a moderator.
type AutoApprove struct {
	Enabled bool `json:"enabled"`
	// MinApproved is how many approved reports in the program, with none
	// rejected, make a participant's history clean (at least 1).
	MinApproved int `json:"min_approved"`
}

// Task is a piece of work with a reward.
type Task struct {
	ID           int64
	ClientID     int64
	ProgramID    int64
	Title        string
	Instructions string
	// RewardKopecks is paid for each approved report.
	RewardKopecks int64
	Eligibility   Eligibility
	StartsAt      time.Time
	DueAt         time.Time
	Recurrence    Recurrence
	// PerParticipant is how many times one participant may do the task in
	// one period; PerShop how many times it may be done in one shop in one
	// period (0: unlimited).
	PerParticipant int
	PerShop        int
	Evidence       Evidence
	// GeofenceMeters: reports taken farther than this from the shop are
	// flagged; 0 turns the check off.
	GeofenceMeters int
	AutoApprove    AutoApprove
	Status         Status
	CreatedBy      int64
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Limits of task definitions.
const (
	MaxPhotos          = 10
	MaxChecklist       = 30
	MaxTitle           = 200
	MaxInstructions    = 5000
	MaxCommentRunes    = 2000
	MaxRewardKopecks   = 100_000_000 // 1 000 000 points
	MaxGeofenceMeters  = 50_000
	MaxPerLimit        = 1000
	MaxEligibilityList = 1000
)

// Normalize fills defaults and validates t, returning an Invalid error
// naming the field at fault.
func (t *Task) Normalize() error {
	t.Title = strings.TrimSpace(t.Title)
	t.Instructions = strings.TrimSpace(t.Instructions)
	if t.Recurrence == "" {
		t.Recurrence = Once
	}
	if t.Status == "" {
		t.Status = Active
	}
	if t.PerParticipant == 0 {
		t.PerParticipant = 1
	}
	if t.AutoApprove.Enabled && t.AutoApprove.MinApproved == 0 {
		t.AutoApprove.MinApproved = 3
	}
	switch {
	case t.ProgramID <= 0:
		return invalid("program_id", "Укажите программу.")
	case t.Title == "" || utf8.RuneCountInString(t.Title) > MaxTitle:
		return invalid("title", fmt.Sprintf("Название задания обязательно и не длиннее %d символов.", MaxTitle))
	case utf8.RuneCountInString(t.Instructions) > MaxInstructions:
		return invalid("instructions", fmt.Sprintf("Инструкция не длиннее %d символов.", MaxInstructions))
	case t.RewardKopecks <= 0 || t.RewardKopecks > MaxRewardKopecks:
		return invalid("reward_kopecks", "Вознаграждение должно быть положительным и не больше 1 000 000 баллов.")
	case t.StartsAt.IsZero() || t.DueAt.IsZero():
		return invalid("due_at", "Укажите начало и срок выполнения задания.")
	case !t.DueAt.After(t.StartsAt):
		return invalid("due_at", "Срок выполнения должен быть позже начала.")
	case !slices.Contains([]Recurrence{Once, Daily, Weekly, Monthly}, t.Recurrence):
		return invalid("recurrence", "Повторение: none, daily, weekly или monthly.")
	case t.PerParticipant < 1 || t.PerParticipant > MaxPerLimit:
		return invalid("per_participant", fmt.Sprintf("Лимит на участника — от 1 до %d.", MaxPerLimit))
	case t.PerShop < 0 || t.PerShop > MaxPerLimit:
		return invalid("per_shop", fmt.Sprintf("Лимит на магазин — от 0 (без лимита) до %d.", MaxPerLimit))
	case t.GeofenceMeters < 0 || t.GeofenceMeters > MaxGeofenceMeters:
		return invalid("geofence_meters", fmt.Sprintf("Радиус геозоны — от 0 (без проверки) до %d м.", MaxGeofenceMeters))
	case t.AutoApprove.MinApproved < 0 || t.AutoApprove.MinApproved > MaxPerLimit:
		return invalid("auto_approve.min_approved", "Некорректный порог автоодобрения.")
	case t.Status != Active && t.Status != Archived:
		return invalid("status", "Статус задания: active или archived.")
	}
	if err := t.Eligibility.normalize(); err != nil {
		return err
	}
	return t.Evidence.normalize()
}

func (e *Eligibility) normalize() error {
	if len(e.Roles) > len(Roles) || len(e.ShopIDs) > MaxEligibilityList ||
		len(e.Regions) > MaxEligibilityList || len(e.Chains) > MaxEligibilityList {
		return invalid("eligibility", "Слишком длинный список условий участия.")
	}
	for _, r := range e.Roles {
		if !slices.Contains(Roles, r) {
			return invalid("eligibility.roles", "Неизвестная роль участника: "+r+".")
		}
	}
	for _, id := range e.ShopIDs {
		if id <= 0 {
			return invalid("eligibility.shop_ids", "Некорректный идентификатор магазина.")
		}
	}
	e.Roles = uniq(e.Roles)
	e.Regions = uniq(trimAll(e.Regions))
	e.Chains = uniq(trimAll(e.Chains))
	slices.Sort(e.ShopIDs)
	e.ShopIDs = slices.Compact(e.ShopIDs)
	if e.Roles == nil {
		e.Roles = []string{}
	}
	if e.ShopIDs == nil {
		e.ShopIDs = []int64{}
	}
	return nil
}

func trimAll(s []string) []string {
	out := make([]string, 0, len(s))
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func uniq(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func (e *Evidence) normalize() error {
	if e.MaxPhotos == 0 {
		e.MaxPhotos = max(e.MinPhotos, 1) * 2
		e.MaxPhotos = min(e.MaxPhotos, MaxPhotos)
	}
	switch {
	case e.MinPhotos < 0 || e.MinPhotos > MaxPhotos:
		return invalid("evidence.min_photos", fmt.Sprintf("Число фотографий — от 0 до %d.", MaxPhotos))
	case e.MaxPhotos < e.MinPhotos || e.MaxPhotos > MaxPhotos:
		return invalid("evidence.max_photos", fmt.Sprintf("Максимум фотографий — от минимума до %d.", MaxPhotos))
	case len(e.Checklist) > MaxChecklist:
		return invalid("evidence.checklist", fmt.Sprintf("В чек-листе не больше %d вопросов.", MaxChecklist))
	}
	seen := map[string]bool{}
	for i := range e.Checklist {
		it := &e.Checklist[i]
		it.Question = strings.TrimSpace(it.Question)
		field := fmt.Sprintf("evidence.checklist[%d]", i)
		switch {
		case !validKey(it.Key):
			return invalid(field+".key", "Ключ вопроса: латинские буквы, цифры и _, до 40 символов.")
		case seen[it.Key]:
			return invalid(field+".key", "Ключи вопросов чек-листа повторяются.")
		case it.Question == "" || utf8.RuneCountInString(it.Question) > 500:
			return invalid(field+".question", "Текст вопроса обязателен и не длиннее 500 символов.")
		case it.Kind != YesNo && it.Kind != Number:
			return invalid(field+".kind", "Тип вопроса: yes_no или number.")
		case it.Kind == YesNo && (it.Min != nil || it.Max != nil):
			return invalid(field+".min", "Границы задаются только для числовых вопросов.")
		case it.Kind == Number && it.Expect != nil:
			return invalid(field+".expect", "Ожидаемый ответ задаётся только для вопросов да/нет.")
		case it.Min != nil && it.Max != nil && *it.Min > *it.Max:
			return invalid(field+".max", "Максимум меньше минимума.")
		}
		seen[it.Key] = true
	}
	if e.Checklist == nil {
		e.Checklist = []ChecklistItem{}
	}
	return nil
}

func validKey(k string) bool {
	if k == "" || len(k) > 40 {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}
