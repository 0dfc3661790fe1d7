package program

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// RuleVersion is one stored version of a program's rules. Versions are
// never changed: a change is a new version effective from a chosen date.
type RuleVersion struct {
	Version       int         `json:"version"`
	EffectiveFrom time.Time   `json:"-"`
	Rules         rules.Rules `json:"rules"`
	CreatedAt     time.Time   `json:"created_at"`
}

// Store keeps programs and their rules versions (programdb.Store). Every
// method joins the transaction ctx carries when there is one.
type Store interface {
	// InTx runs fn in one transaction (joined by the store's other methods
	// and by the audit recorder through ctx).
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// List returns the client's programs, newest first.
	List(ctx context.Context, clientID int64) ([]Program, error)
	// Get returns the program id; ErrNotFound when there is none. lock
	// holds its row until the transaction ends.
	Get(ctx context.Context, id int64, lock bool) (Program, error)
	// Insert stores a new program and returns it with its id; a taken code
	// is ErrCodeTaken.
	Insert(ctx context.Context, p Program) (Program, error)
	// Update stores p's editable fields.
	Update(ctx context.Context, p Program) error
	// SetStatus moves the program to status (closedAt set when closing).
	SetStatus(ctx context.Context, id int64, to Status, closedAt *time.Time) error
	// RuleVersions lists the program's rules versions, oldest first.
	RuleVersions(ctx context.Context, programID int64) ([]RuleVersion, error)
	// InsertRules stores a new version effective from the date and returns
	// its number (one more than the latest).
	InsertRules(ctx context.Context, programID int64, effectiveFrom time.Time, r rules.Rules) (int, error)
}

// Releaser settles a closed program's pending points
// (ledgerdb.Store.ReleasePending).
type Releaser interface {
	ReleasePending(ctx context.Context, programID int64, periodEnd time.Time) (int, int64, error)
}

// Errors of the service.
var (
	ErrNotFound  = apperr.New(apperr.NotFound, "program_not_found", "Программа не найдена.")
	ErrCodeTaken = &apperr.Error{Kind: apperr.Conflict, Code: "program_code_taken",
		Message: "Программа с таким кодом у клиента уже есть.", Field: "code"}
	ErrClosedProgram = &apperr.Error{Kind: apperr.Conflict, Code: "program_closed_final",
		Message: "Программа закрыта: её нельзя менять.", Field: "status"}
)

// Service creates, edits, clones and moves programs and saves their rules,
// each change audited in its own transaction.
type Service struct {
	store    Store
	audit    audit.Recorder
	releaser Releaser
	now      func() time.Time
}

// NewService returns a Service. releaser may be nil (pending points of a
// closed program are then left to the periodic release).
func NewService(store Store, rec audit.Recorder, releaser Releaser, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, audit: rec, releaser: releaser, now: now}
}

// Actor is who acts: the staff member and how the audit log names them.
type Actor struct {
	Staff access.Staff
	Audit audit.Actor
}

var manage = []access.Role{access.ClientManager}

// get returns program id if st may see it; another client's program is
// ErrNotFound, so its existence does not leak.
func (s *Service) get(ctx context.Context, st access.Staff, id int64, lock bool) (Program, error) {
	p, err := s.store.Get(ctx, id, lock)
	if err != nil {
		return p, err
	}
	if !st.CanSee(p.ClientID) {
		return Program{}, ErrNotFound
	}
	return p, nil
}

// Get returns one program.
func (s *Service) Get(ctx context.Context, st access.Staff, id int64) (Program, error) {
	return s.get(ctx, st, id, false)
}

// List returns a client's programs.
func (s *Service) List(ctx context.Context, st access.Staff, clientID int64) ([]Program, error) {
	if !st.CanSee(clientID) {
		return nil, ErrNotFound
	}
	return s.store.List(ctx, clientID)
}

// Today is the date in the program's zone.
func (s *Service) today(p Program) time.Time {
	now := s.now()
	if loc, err := time.LoadLocation(p.TimeZone); err == nil {
		now = now.In(loc)
	}
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
}

func (s *Service) record(ctx context.Context, a Actor, clientID int64, action string, id int64, before, after any, reason string) error {
	return s.audit.Record(ctx, audit.Entry{ClientID: clientID, Actor: a.Audit, Action: action, ObjectKind: "program",
		ObjectID: fmt.Sprint(id), Before: audit.State(before), After: audit.State(after), Reason: reason})
}

// Create stores a new draft program of p.ClientID.
func (s *Service) Create(ctx context.Context, a Actor, p Program) (Program, error) {
	if err := a.Staff.CheckClient(p.ClientID, manage...); err != nil {
		if !a.Staff.CanSee(p.ClientID) {
			return Program{}, ErrNotFound
		}
		return Program{}, err
	}
	p.Status, p.ClonedFrom, p.ClosedAt = Draft, nil, nil
	if err := p.Validate(); err != nil {
		return Program{}, err
	}
	var out Program
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if out, err = s.store.Insert(ctx, p); err != nil {
			return err
		}
		return s.record(ctx, a, p.ClientID, "program.create", out.ID, nil, out, "")
	})
	return out, err
}

// Update replaces the editable fields of program id with p's. A live
// program keeps its start date, mechanics and crediting mode (points were
// credited under them); a closed one changes no more.
func (s *Service) Update(ctx context.Context, a Actor, id int64, p Program) (Program, error) {
	var out Program
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		old, err := s.get(ctx, a.Staff, id, true)
		if err != nil {
			return err
		}
		if err := a.Staff.CheckClient(old.ClientID, manage...); err != nil {
			return err
		}
		if old.Status == Closed {
			return ErrClosedProgram
		}
		p.ID, p.ClientID, p.Status, p.ClonedFrom, p.ClosedAt, p.CreatedAt = old.ID, old.ClientID, old.Status, old.ClonedFrom, old.ClosedAt, old.CreatedAt
		if err := p.Validate(); err != nil {
			return err
		}
		if old.Status == Live && (!p.StartsOn.Equal(old.StartsOn) || p.Crediting != old.Crediting ||
			fmt.Sprint(p.Mechanics) != fmt.Sprint(old.Mechanics)) {
			return &apperr.Error{Kind: apperr.Conflict, Code: "program_live_locked", Field: "starts_on",
				Message: "У работающей программы нельзя менять дату начала, механики и режим начисления: по ним уже начислены баллы."}
		}
		if err := s.store.Update(ctx, p); err != nil {
			return err
		}
		out = p
		return s.record(ctx, a, p.ClientID, "program.update", id, old, p, "")
	})
	return out, err
}

// Clone copies program id into a new draft (pilot → rollout) with the
// given code, name and dates (zero: the original's), and its rules as in
// force on the clone's start date (else its latest), effective from that
// date.
func (s *Service) Clone(ctx context.Context, a Actor, id int64, code, name string, starts, ends time.Time) (Program, error) {
	var out Program
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		src, err := s.get(ctx, a.Staff, id, false)
		if err != nil {
			return err
		}
		if err := a.Staff.CheckClient(src.ClientID, manage...); err != nil {
			return err
		}
		c := src.Clone(code, name, starts, ends)
		if err := c.Validate(); err != nil {
			return err
		}
		if out, err = s.store.Insert(ctx, c); err != nil {
			return err
		}
		versions, err := s.store.RuleVersions(ctx, src.ID)
		if err != nil {
			return err
		}
		if v, ok := InForce(versions, out.StartsOn, true); ok {
			if _, err := s.store.InsertRules(ctx, out.ID, out.StartsOn, v.Rules); err != nil {
				return err
			}
		}
		return s.record(ctx, a, out.ClientID, "program.clone", out.ID, map[string]any{"from_program_id": src.ID}, out, "")
	})
	return out, err
}

// Move moves program id to status `to` after the lifecycle's checks
// (CanMove). Closing settles the program's pending points (the period ends
// with the close) when the service has a releaser.
func (s *Service) Move(ctx context.Context, a Actor, id int64, to Status, reason string) (Program, error) {
	var out Program
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		p, err := s.get(ctx, a.Staff, id, true)
		if err != nil {
			return err
		}
		if err := a.Staff.CheckClient(p.ClientID, manage...); err != nil {
			return err
		}
		versions, err := s.store.RuleVersions(ctx, id)
		if err != nil {
			return err
		}
		if err := CanMove(p, to, Facts{HasRules: len(versions) > 0, Today: s.today(p)}); err != nil {
			return err
		}
		var closedAt *time.Time
		if to == Closed {
			t := s.now()
			closedAt = &t
		}
		if err := s.store.SetStatus(ctx, id, to, closedAt); err != nil {
			return err
		}
		out = p
		out.Status, out.ClosedAt = to, closedAt
		return s.record(ctx, a, p.ClientID, "program.status", id, map[string]any{"status": p.Status},
			map[string]any{"status": to}, reason)
	})
	if err != nil || to != Closed || s.releaser == nil || out.Crediting != PeriodClose {
		return out, err
	}
	// The close is committed: settle what is pending. A failure here is
	// reported; the periodic release settles it later as well.
	// Everything accrued up to and including today (occurred_on before
	// tomorrow) is released.
	if _, _, err := s.releaser.ReleasePending(ctx, out.ID, s.today(out).AddDate(0, 0, 1)); err != nil {
		return out, fmt.Errorf("program %d closed; releasing its pending points: %w", out.ID, err)
	}
	return out, nil
}

// InForce picks the version in force on day: the greatest EffectiveFrom not
// after it, the higher version on a tie. With orFirst, a day before every
// version gets the first one. versions are oldest first.
func InForce(versions []RuleVersion, day time.Time, orFirst bool) (RuleVersion, bool) {
	var best RuleVersion
	found := false
	for _, v := range versions {
		if !v.EffectiveFrom.After(day) && (!found || !v.EffectiveFrom.Before(best.EffectiveFrom)) {
			best, found = v, true
		}
	}
	if !found && orFirst && len(versions) > 0 {
		best, found = versions[0], true
		for _, v := range versions {
			if v.EffectiveFrom.Before(best.EffectiveFrom) || (v.EffectiveFrom.Equal(best.EffectiveFrom) && v.Version > best.Version) {
				best = v
			}
		}
	}
	return best, found
}

// Rules returns the program's rules versions, oldest first.
func (s *Service) Rules(ctx context.Context, st access.Staff, id int64) (Program, []RuleVersion, error) {
	p, err := s.get(ctx, st, id, false)
	if err != nil {
		return p, nil, err
	}
	v, err := s.store.RuleVersions(ctx, id)
	return p, v, err
}

// errRules is the Invalid error of rules that do not validate, listing
// every problem in Russian.
func errRules(err error) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: "rules_invalid", Field: "rules",
		Message: "Правила заданы с ошибкой: " + err.Error(), Err: err}
}

// SaveRules stores r as a new version of program id's rules, effective from
// the date given. The past is never rewritten: versions are never edited,
// and a program that has taken real receipts (live) gets a new version
// only from today on in its zone; a closed program gets none.
func (s *Service) SaveRules(ctx context.Context, a Actor, id int64, effectiveFrom time.Time, r rules.Rules) (RuleVersion, error) {
	if err := CheckRules(r); err != nil {
		return RuleVersion{}, errRules(err)
	}
	var out RuleVersion
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		p, err := s.get(ctx, a.Staff, id, true)
		if err != nil {
			return err
		}
		if err := a.Staff.CheckClient(p.ClientID, manage...); err != nil {
			return err
		}
		if p.Status == Closed {
			return ErrClosedProgram
		}
		day := time.Date(effectiveFrom.Year(), effectiveFrom.Month(), effectiveFrom.Day(), 0, 0, 0, 0, time.UTC)
		if effectiveFrom.IsZero() {
			return &apperr.Error{Kind: apperr.Invalid, Code: "rules_effective_from", Field: "effective_from",
				Message: "Укажите дату, с которой действует версия правил."}
		}
		if p.Status == Live && day.Before(s.today(p)) {
			return &apperr.Error{Kind: apperr.Conflict, Code: "rules_past", Field: "effective_from",
				Message: "Программа работает: новая версия правил может действовать только с сегодняшнего дня или позже — прошлое не переписывается."}
		}
		before, err := s.store.RuleVersions(ctx, id)
		if err != nil {
			return err
		}
		v, err := s.store.InsertRules(ctx, id, day, r)
		if err != nil {
			return err
		}
		out = RuleVersion{Version: v, EffectiveFrom: day, Rules: r, CreatedAt: s.now()}
		var prev any
		if len(before) > 0 {
			prev = before[len(before)-1]
		}
		return s.record(ctx, a, p.ClientID, "program.rules_save", id, prev,
			map[string]any{"version": v, "effective_from": day.Format(time.DateOnly), "rules": json.RawMessage(mustJSON(r))}, "")
	})
	return out, err
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("null")
	}
	return b
}
