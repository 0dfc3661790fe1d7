package program

import (
	"fmt"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
)

// Facts are what a lifecycle move looks at besides the program.
type Facts struct {
	// HasRules: the program has at least one rules version.
	HasRules bool
	// Today is the date in the program's zone.
	Today time.Time
}

// transitions lists the moves allowed from each status. A live program
// never goes back to test or draft (real points were credited under it);
// closed is final. A draft goes through test before it is live, so the
// rules are tried by testers first.
var transitions = map[Status][]Status{
	Draft:  {Test, Closed},
	Test:   {Draft, Live, Closed},
	Live:   {Closed},
	Closed: nil,
}

// Allowed reports whether from → to is a move of the lifecycle.
func Allowed(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Next lists the statuses p can move to.
func Next(from Status) []Status { return transitions[from] }

// ErrTransition is a move the lifecycle refuses.
func errTransition(code, msg string) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: code, Message: msg, Field: "status"}
}

// CanMove checks that p may move to `to` given f: the move is in the
// lifecycle, and a program that takes receipts has rules before testers
// or everyone earn under it; going live also needs its end date not past.
func CanMove(p Program, to Status, f Facts) error {
	if !Allowed(p.Status, to) {
		return errTransition("program_transition_refused",
			fmt.Sprintf("Программу в статусе «%s» нельзя перевести в «%s».", StatusName(p.Status), StatusName(to)))
	}
	if (to == Test || to == Live) && p.Has(MechReceipts) && !f.HasRules {
		return errTransition("program_rules_required", "Сначала задайте правила начисления: без них чеки не получат баллов.")
	}
	if to == Live && !f.Today.IsZero() && dateOf(p.EndsOn).Before(dateOf(f.Today)) {
		return errTransition("program_ended", "Дата окончания программы уже прошла: продлите её, прежде чем запускать.")
	}
	return nil
}

// StatusName is a status in Russian.
func StatusName(s Status) string {
	switch s {
	case Draft:
		return "черновик"
	case Test:
		return "тест"
	case Live:
		return "работает"
	case Closed:
		return "закрыта"
	}
	return string(s)
}

// ParseStatus reads a status from input.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case Draft, Test, Live, Closed:
		return st, nil
	}
	return "", invalid("status", "Статус программы: draft, test, live или closed.")
}

// ErrClosed is an upload refused because the client's receipt programs are
// all closed.
func ErrClosed(name string, closedOn time.Time) error {
	msg := fmt.Sprintf("Программа «%s» завершена", name)
	if !closedOn.IsZero() {
		msg += " " + closedOn.Format("02.01.2006")
	}
	return &apperr.Error{Kind: apperr.Conflict, Code: "program_closed", Message: msg + ": новые чеки не принимаются."}
}

func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
