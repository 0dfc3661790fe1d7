package plan

import (
	"fmt"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
)

// Ledger transaction kinds of plan bonuses.
const (
	KindBonus       = "plan_bonus"       // budget → participant, a period's plan bonus or its increase
	KindBonusDebit  = "plan_bonus_debit" // participant → budget, a bonus reduced on re-close
	CloseStatusPrev = "preview"          // a close run computed, not approved
	CloseStatusDone = "posted"           // approved and its credits posted
	CloseStatusOld  = "stale"            // superseded: another run of the period posted first
	reasonFirst     = "Бонус за выполнение плана"
	reasonPlan      = "Пересчёт: изменён план"
	reasonActual    = "Пересчёт: новые продажи или возвраты"
	reasonTable     = "Пересчёт: изменена таблица порогов"
)

// Errors of a period close.
var (
	ErrSecondApproval = apperr.New(apperr.Forbidden, "plan_close_second_approval_required",
		"Сумма закрытия выше порога: подтвердить должен другой сотрудник.")
	ErrStale = apperr.New(apperr.Conflict, "plan_close_stale",
		"После предпросмотра период уже закрывали: сделайте новый предпросмотр.")
	ErrNoTable = apperr.New(apperr.Conflict, "plan_no_tier_table",
		"Для периода не задана таблица порогов.")
	ErrNotFound = apperr.New(apperr.NotFound, "not_found", "Не найдено.")
	// ErrBadCloseDay: a close day is not 0..28.
	ErrBadCloseDay = invalid("plan_bad_close_day", "День закрытия периода — от 1 до 28 (0 — без расписания).", "close_day")
	// ErrBadTarget: a plan value is negative or absurd.
	ErrBadTarget = invalid("plan_bad_target", "План должен быть от 0 до 10^15 в своей единице.", "target")
)

// MaxTarget bounds a plan value (kopecks, milli-units or receipts).
const MaxTarget = int64(1e15)

var ()

// Paid is what earlier closes of the period paid a participant.
type Paid struct {
	Kopecks     money.Kopecks // net of debits
	PlanVersion int           // plan version of the last credit; 0: none
	TableVer    int
	Value       int64 // the actual value the last credit was computed on
}

// Line is one participant's line of a close: what they are owed now, what
// was paid, and the difference to post with its reason.
type Line struct {
	ParticipantID int64
	PlanVersion   int
	Settlement    Settlement
	PaidKopecks   money.Kopecks
	// DeltaKopecks is owed − paid, a debit cut to what the participant has
	// available (the rest is collected by a later close).
	DeltaKopecks money.Kopecks
	Reason       string
}

// Delta builds the line of a participant owed s under planVersion and
// tableVersion, after paid, with available points on their account (for a
// debit: a bonus that shrank cannot take more than is there).
func Delta(pid int64, planVersion, tableVersion int, s Settlement, paid Paid, available money.Kopecks) Line {
	l := Line{ParticipantID: pid, PlanVersion: planVersion, Settlement: s, PaidKopecks: paid.Kopecks}
	d := s.PayoutKopecks - paid.Kopecks
	if d < 0 && -d > available {
		d = -available
		if available < 0 {
			d = 0
		}
	}
	l.DeltaKopecks = d
	switch {
	case d == 0:
	case paid.PlanVersion == 0:
		l.Reason = reasonFirst
	case paid.PlanVersion != planVersion:
		l.Reason = fmt.Sprintf("%s (версия %d → %d)", reasonPlan, paid.PlanVersion, planVersion)
	case paid.TableVer != tableVersion:
		l.Reason = fmt.Sprintf("%s (версия %d → %d)", reasonTable, paid.TableVer, tableVersion)
	default:
		l.Reason = reasonActual
	}
	if d != 0 && d != s.PayoutKopecks-paid.Kopecks {
		l.Reason += fmt.Sprintf("; списано %s из %s, остаток спишется при следующем закрытии",
			(-d).Roubles(), (paid.Kopecks - s.PayoutKopecks).Roubles())
	}
	return l
}

// Totals sums a close: what it credits and what it debits.
func Totals(ls []Line) (credit, debit money.Kopecks) {
	for _, l := range ls {
		if l.DeltaKopecks > 0 {
			credit += l.DeltaKopecks
		} else {
			debit -= l.DeltaKopecks
		}
	}
	return credit, debit
}

// NeedsSecondApproval reports whether a close crediting credit needs a
// second person under threshold (0 disables): the maker of the preview may
// approve it alone only below the threshold.
func NeedsSecondApproval(threshold int64, credit money.Kopecks) bool {
	return threshold > 0 && int64(credit) >= threshold
}

// CheckApprover returns ErrSecondApproval when approver made the preview
// and its credit needs a second person.
func CheckApprover(threshold int64, credit money.Kopecks, maker, approver int64) error {
	if NeedsSecondApproval(threshold, credit) && maker == approver {
		return ErrSecondApproval
	}
	return nil
}
