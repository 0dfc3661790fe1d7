package registry

import (
	"errors"
	"fmt"
	"github.com/loyaltyjam/loyaltyjam/internal/phone"
	"regexp"
	"sort"
	"strings"
	"time"
)

var pointsColumns = map[string][]string{
	"phone":   participantColumns["phone"],
	"points":  {"баллы", "количество баллов", "сумма баллов", "начислить баллов", "начисление"},
	"roubles": {"рубли", "сумма", "сумма руб", "сумма в рублях", "руб", "amount rub", "amount", "rub"},
	"comment": {"комментарий", "основание", "причина", "reason", "примечание"},
}

var periodPattern = regexp.MustCompile(`^([0-9]{4})-(0[1-9]|1[0-2])(?:-([12]))?$`)

// ParsePeriod checks a reporting period: a month "2026-03" or a half of it
// "2026-03-1" / "2026-03-2" (clients that pay twice a month). It returns the
// period's first day, the business date of its ledger transactions.
func ParsePeriod(p string) (time.Time, error) {
	m := periodPattern.FindStringSubmatch(p)
	if m == nil {
		return time.Time{}, errors.New("bad period")
	}
	d, err := time.Parse("2006-01", m[1]+"-"+m[2])
	if err != nil {
		return time.Time{}, err
	}
	if m[3] == "2" {
		d = d.AddDate(0, 0, 15)
	}
	return d, nil
}

var (
	monthNominative = [...]string{"январь", "февраль", "март", "апрель", "май", "июнь",
		"июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь"}
	monthGenitive = [...]string{"января", "февраля", "марта", "апреля", "мая", "июня",
		"июля", "августа", "сентября", "октября", "ноября", "декабря"}
)

// PeriodName is a period as people read it after «за»: "2026-12" is
// "декабрь 2026", a half month "2026-12-1" is "1–15 декабря 2026" and
// "2026-12-2" is "16–31 декабря 2026". A string that is not a period is
// returned as it is.
func PeriodName(p string) string {
	m := periodPattern.FindStringSubmatch(p)
	if m == nil {
		return p
	}
	first, err := ParsePeriod(p)
	if err != nil {
		return p
	}
	mo := int(first.Month()) - 1
	switch m[3] {
	case "1":
		return fmt.Sprintf("1–15 %s %d", monthGenitive[mo], first.Year())
	case "2":
		last := first.AddDate(0, 1, -first.Day()).Day()
		return fmt.Sprintf("16–%d %s %d", last, monthGenitive[mo], first.Year())
	}
	return fmt.Sprintf("%s %d", monthNominative[mo], first.Year())
}

// PointLine is what a points registry says one participant gets for the
// period: the sum of their lines.
type PointLine struct {
	ParticipantID int64  `json:"participant_id"`
	Phone         string `json:"phone"`
	Name          string `json:"name,omitempty"`
	AmountKopecks int64  `json:"amount_kopecks"`
	// PreviousKopecks is what earlier registries of the period paid.
	PreviousKopecks int64 `json:"previous_kopecks"`
	// Lines is the number of file lines summed (0: the participant was in
	// an earlier registry of the period and is not in this one).
	Lines     int    `json:"lines"`
	FirstLine int    `json:"first_line,omitempty"`
	Comment   string `json:"comment,omitempty"`
}

// DiffKopecks is what processing will post for the line (negative: a debit).
func (l PointLine) DiffKopecks() int64 { return l.AmountKopecks - l.PreviousKopecks }

// PointsPreview summarises a points registry against what the period
// already paid.
type PointsPreview struct {
	Rows         int    `json:"rows"`
	Participants int    `json:"participants"`
	Unit         string `json:"unit"` // "points" or "roubles" (1 point = 1 rouble)
	TotalKopecks int64  `json:"total_kopecks"`
	// PreviousTotalKopecks is what earlier registries of the same program
	// and period paid in total.
	PreviousTotalKopecks int64 `json:"previous_total_kopecks"`
	// CreditKopecks and DebitKopecks are the sums of positive and negative
	// differences; their difference is the net change.
	CreditKopecks int64 `json:"credit_kopecks"`
	DebitKopecks  int64 `json:"debit_kopecks"`
	New           int   `json:"new"`       // not paid in the period before
	Changed       int   `json:"changed"`   // paid before, a different amount now
	Unchanged     int   `json:"unchanged"` // paid before, the same amount
	Removed       int   `json:"removed"`   // paid before, absent now: set to zero
}

// ParsePoints validates a points registry: each row names a participant by
// phone and an amount in points or roubles (one column or the other; 1
// point = 1 rouble) with an optional comment. Several rows of one
// participant are summed. previous is what earlier registries of the same
// program and period paid per participant; participants paid before and
// absent now get a zero line. The file is the complete registry of the
// period. It returns lines sorted by participant id, a preview, and every
// row error.
func ParsePoints(t Table, participants map[string]ExistingParticipant, previous map[int64]int64) ([]PointLine, PointsPreview, []RowError) {
	col, errs := columns(t.Header, pointsColumns)
	var p PointsPreview
	_, hasPoints := col["points"]
	_, hasRoubles := col["roubles"]
	switch {
	case hasPoints && hasRoubles:
		errs = append(errs, RowError{Line: t.HeaderLine, Code: "bad_header",
			Reason: "в заголовке есть и «баллы», и «сумма»: оставьте одну колонку (1 балл = 1 рубль)"})
	case hasRoubles:
		p.Unit = "roubles"
	default:
		p.Unit = "points"
		errs = append(errs, missingColumns(t, col, "phone", "points")...)
	}
	if hasRoubles {
		errs = append(errs, missingColumns(t, col, "phone")...)
	}
	if len(errs) > 0 {
		return nil, p, errs
	}
	amountCol := "points"
	if hasRoubles {
		amountCol = "roubles"
	}
	byID := map[int64]*PointLine{}
	for _, r := range t.Rows {
		bad := func(column, code, format string, args ...any) {
			errs = append(errs, RowError{Line: r.Line, Column: column, Code: code, Reason: fmt.Sprintf(format, args...)})
		}
		rawPhone, _ := cell(r, col, "phone")
		var who ExistingParticipant
		ok := false
		switch phone, err := phone.Normalize(rawPhone); {
		case rawPhone == "":
			bad("phone", "required", "не указан телефон участника")
		case err != nil:
			bad("phone", "bad_phone", "%q не похож на номер телефона", rawPhone)
		default:
			who, ok = participants[phone]
			if !ok {
				bad("phone", "unknown_participant", "участник с телефоном %s не зарегистрирован: сначала загрузите реестр участников", MaskPhone(phone))
			} else if who.Status == "blocked" {
				bad("phone", "blocked_participant", "участник с телефоном %s заблокирован", MaskPhone(phone))
				ok = false
			}
		}
		raw, numeric := cell(r, col, amountCol)
		amount, err := ParseKopecks(raw, numeric)
		if raw == "" {
			bad(amountCol, "required", "не указано количество баллов")
		} else if err != nil {
			bad(amountCol, "bad_amount", "%s", strings.TrimPrefix(err.Error(), "amount: "))
		}
		if !ok || err != nil {
			continue
		}
		l := byID[who.ID]
		if l == nil {
			l = &PointLine{ParticipantID: who.ID, Phone: who.Phone, Name: who.Name, FirstLine: r.Line}
			byID[who.ID] = l
		}
		if l.AmountKopecks+amount > MaxKopecks {
			bad(amountCol, "bad_amount", "сумма участника по реестру слишком велика")
			continue
		}
		l.AmountKopecks += amount
		l.Lines++
		if c, _ := cell(r, col, "comment"); c != "" && l.Comment == "" {
			l.Comment = truncate(c, 500)
		}
	}
	p.Rows = len(t.Rows)
	if len(errs) > 0 {
		return nil, p, errs
	}
	for id, prev := range previous {
		if _, ok := byID[id]; !ok && prev != 0 {
			byID[id] = &PointLine{ParticipantID: id}
		}
	}
	lines := make([]PointLine, 0, len(byID))
	for id, l := range byID {
		l.PreviousKopecks = previous[id]
		lines = append(lines, *l)
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].ParticipantID < lines[j].ParticipantID })
	for _, l := range lines {
		p.TotalKopecks += l.AmountKopecks
		p.PreviousTotalKopecks += l.PreviousKopecks
		if l.Lines > 0 {
			p.Participants++
		}
		d := l.DiffKopecks()
		switch _, paid := previous[l.ParticipantID]; {
		case l.Lines == 0:
			p.Removed++
		case !paid:
			p.New++
		case d == 0:
			p.Unchanged++
		default:
			p.Changed++
		}
		if d > 0 {
			p.CreditKopecks += d
		} else {
			p.DebitKopecks -= d
		}
	}
	return lines, p, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

// MaskPhone keeps the country code and the last two digits: +7*******67.
func MaskPhone(p string) string {
	if len(p) < 5 {
		return "***"
	}
	return p[:2] + strings.Repeat("*", len(p)-4) + p[len(p)-2:]
}

// LineKey is the ledger idempotency key of the v-th change of a
// participant's registry amount in a program's period. Versions grow by one
// per posted change, so a retry of the same change is refused by the ledger
// and a correction is a new key.
func LineKey(programID int64, period string, participantID int64, version int) string {
	return fmt.Sprintf("registry:%d:%s:%d:v%d", programID, period, participantID, version)
}
