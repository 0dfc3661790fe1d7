// Package program is a client's incentive program as staff set it up:
// its mechanics, dates and zone, crediting mode, eligibility and the texts
// participants read, and its lifecycle draft → test → live → closed. It
// holds no SQL (internal/postgres/programdb stores it) and no transport
// (internal/adminapi and internal/dashboard serve it).
package program

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// Status is where a program is in its lifecycle.
type Status string

// The lifecycle: a draft is set up; in test only testers earn and their
// points never count in the client's figures; live earns for everyone;
// closed takes no more receipts.
const (
	Draft  Status = "draft"
	Test   Status = "test"
	Live   Status = "live"
	Closed Status = "closed"
)

// Mechanics a program runs on.
const (
	MechReceipts   = "receipts"
	MechRegistries = "registries"
	MechTasks      = "tasks"
	MechPlans      = "plans"
)

var (
	knownMechanics = []string{MechReceipts, MechRegistries, MechTasks, MechPlans}
	knownRoles     = []string{"seller", "sales_rep", "merchandiser", "dealer", "manager"}
	codeRe         = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,62}$`)
)

// Crediting modes.
const (
	Immediate   = "immediate"
	PeriodClose = "period_close"
)

// Eligibility limits who and where a program's receipts count; an empty
// list places no limit on its dimension.
type Eligibility struct {
	ShopIDs []int64  `json:"shop_ids"`
	Chains  []string `json:"chains"`
	Regions []string `json:"regions"`
	Roles   []string `json:"roles"`
}

// Where is who uploaded a receipt and where they sell, as eligibility
// checks it.
type Where struct {
	Role   string
	ShopID int64 // 0: no shop
	Chain  string
	Region string // the shop's region, else the participant's
}

// Reasons a receipt is outside a program's eligibility.
const (
	ReasonShop   = "not_eligible_shop"
	ReasonChain  = "not_eligible_chain"
	ReasonRegion = "not_eligible_region"
	ReasonRole   = "not_eligible_role"
)

// Admits returns "" when w passes every limit, else the reason it fails
// the first.
func (e Eligibility) Admits(w Where) string {
	switch {
	case len(e.ShopIDs) > 0 && !slices.Contains(e.ShopIDs, w.ShopID):
		return ReasonShop
	case len(e.Chains) > 0 && !containsFold(e.Chains, w.Chain):
		return ReasonChain
	case len(e.Regions) > 0 && !containsFold(e.Regions, w.Region):
		return ReasonRegion
	case len(e.Roles) > 0 && !slices.Contains(e.Roles, w.Role):
		return ReasonRole
	}
	return ""
}

func containsFold(list []string, v string) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return false
	}
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(x), v) {
			return true
		}
	}
	return false
}

// Texts are what participants read about the program.
type Texts struct {
	Description string `json:"description"`
	Rules       string `json:"rules"`
	HowToJoin   string `json:"how_to_join"`
}

// Program is one program of a client.
type Program struct {
	ID          int64       `json:"id"`
	ClientID    int64       `json:"client_id"`
	Code        string      `json:"code"`
	Name        string      `json:"name"`
	Status      Status      `json:"status"`
	Mechanics   []string    `json:"mechanics"`
	StartsOn    time.Time   `json:"-"`
	EndsOn      time.Time   `json:"-"`
	TimeZone    string      `json:"time_zone"`
	Crediting   string      `json:"crediting"`
	MaxAgeDays  int         `json:"max_receipt_age_days"`
	Eligibility Eligibility `json:"eligibility"`
	Texts       Texts       `json:"texts"`
	ClonedFrom  *int64      `json:"cloned_from,omitempty"`
	ClosedAt    *time.Time  `json:"closed_at,omitempty"`
	CreatedAt   time.Time   `json:"created_at"`
}

// Has reports whether p runs on mechanic m.
func (p Program) Has(m string) bool { return slices.Contains(p.Mechanics, m) }

// Text limits (the database checks the same).
const (
	maxName        = 200
	maxDescription = 20000
	maxRulesText   = 50000
	maxHowToJoin   = 20000
	maxListItems   = 1000
)

func invalid(field, msg string) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: "program_invalid", Message: msg, Field: field}
}

// Validate checks what staff entered; the first problem is an Invalid
// error naming its field, in Russian.
func (p *Program) Validate() error {
	p.Code = strings.TrimSpace(p.Code)
	p.Name = strings.TrimSpace(p.Name)
	switch {
	case !codeRe.MatchString(p.Code):
		return invalid("code", "Код программы: 2–63 символа, строчные латинские буквы, цифры, «-» и «_», с буквы или цифры.")
	case p.Name == "" || utf8.RuneCountInString(p.Name) > maxName || !utf8.ValidString(p.Name):
		return invalid("name", fmt.Sprintf("Название программы обязательно, не длиннее %d символов.", maxName))
	case len(p.Mechanics) == 0:
		return invalid("mechanics", "Выберите хотя бы одну механику: чеки, реестры или задания.")
	case p.StartsOn.IsZero() || p.EndsOn.IsZero():
		return invalid("starts_on", "Укажите даты начала и окончания программы.")
	case p.EndsOn.Before(p.StartsOn):
		return invalid("ends_on", "Дата окончания раньше даты начала.")
	case p.Crediting != Immediate && p.Crediting != PeriodClose:
		return invalid("crediting", "Режим начисления: immediate (сразу) или period_close (после закрытия периода).")
	case p.MaxAgeDays < 1 || p.MaxAgeDays > 366:
		return invalid("max_receipt_age_days", "Срок давности чека — от 1 до 366 дней.")
	}
	for _, m := range p.Mechanics {
		if !slices.Contains(knownMechanics, m) {
			return invalid("mechanics", fmt.Sprintf("Неизвестная механика «%s»: receipts, registries, tasks или plans.", clip(m)))
		}
	}
	p.Mechanics = dedupe(p.Mechanics)
	if _, err := time.LoadLocation(p.TimeZone); err != nil || p.TimeZone == "" || p.TimeZone == "Local" ||
		!strings.Contains(p.TimeZone, "/") && p.TimeZone != "UTC" {
		return invalid("time_zone", "Часовой пояс — имя из базы IANA, например Europe/Moscow.")
	}
	e := &p.Eligibility
	if len(e.ShopIDs)+len(e.Chains)+len(e.Regions)+len(e.Roles) > maxListItems {
		return invalid("eligibility", fmt.Sprintf("Слишком много условий участия (больше %d).", maxListItems))
	}
	for _, r := range e.Roles {
		if !slices.Contains(knownRoles, r) {
			return invalid("eligibility.roles", fmt.Sprintf("Неизвестная роль «%s».", clip(r)))
		}
	}
	for _, id := range e.ShopIDs {
		if id <= 0 {
			return invalid("eligibility.shop_ids", "Номер магазина должен быть положительным.")
		}
	}
	e.Chains, e.Regions = trimList(e.Chains), trimList(e.Regions)
	for _, f := range []struct {
		field, v string
		max      int
	}{{"texts.description", p.Texts.Description, maxDescription}, {"texts.rules", p.Texts.Rules, maxRulesText},
		{"texts.how_to_join", p.Texts.HowToJoin, maxHowToJoin}} {
		if !utf8.ValidString(f.v) || utf8.RuneCountInString(f.v) > f.max || strings.ContainsRune(f.v, 0) {
			return invalid(f.field, fmt.Sprintf("Текст для участников: не длиннее %d символов.", f.max))
		}
	}
	return nil
}

func clip(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		return string([]rune(s)[:40]) + "…"
	}
	return s
}

func dedupe(list []string) []string {
	out := list[:0:0]
	for _, v := range list {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func trimList(list []string) []string {
	out := make([]string, 0, len(list))
	for _, v := range list {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// Clone returns a draft copy of p under a new code and name: same
// mechanics, zone, crediting, eligibility and texts; the dates given
// (zero: p's). Its rules are copied by the store.
func (p Program) Clone(code, name string, starts, ends time.Time) Program {
	c := p
	c.ID, c.Status, c.Code, c.Name, c.ClosedAt, c.CreatedAt = 0, Draft, code, name, nil, time.Time{}
	id := p.ID
	c.ClonedFrom = &id
	if !starts.IsZero() {
		c.StartsOn = starts
	}
	if !ends.IsZero() {
		c.EndsOn = ends
	}
	c.Mechanics = slices.Clone(p.Mechanics)
	c.Eligibility = Eligibility{ShopIDs: slices.Clone(p.Eligibility.ShopIDs), Chains: slices.Clone(p.Eligibility.Chains),
		Regions: slices.Clone(p.Eligibility.Regions), Roles: slices.Clone(p.Eligibility.Roles)}
	return c
}
