package taxdb

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/tax"
)

// Statement is one person's annual income statement from one agent (the
// data of the «справка о доходах и суммах налога» of the 6-НДФЛ annex).
type Statement struct {
	ParticipantID int64
	ClientID      int64
	Year          int
	Data          *tax.LegalData // nil without a profile
	ProfileV      int
	Months        []StatementMonth
	Income        money.Kopecks
	Assessment    tax.Assessment
	Computed      money.Kopecks
	Withheld      money.Kopecks
	NotWithheld   money.Kopecks
}

// StatementMonth is one month's income of a kind (income code).
type StatementMonth struct {
	Month  time.Month
	Code   string // 2720 gifts, 2740 advertising prizes
	Income money.Kopecks
}

// Income codes (приказ ФНС ЕА-7-11/477@) and their deduction codes.
func incomeCode(k tax.RateKind) (income, deduction string) {
	if k == tax.Advertising {
		return "2740", "505"
	}
	return "2720", "501"
}

// Statements returns the scope's annual statements for year, one per
// person with income, to a tax officer of the scope (or an operator). The
// full legal data is in them: the read is audited in the same
// transaction, as one entry naming the export.
func (s *Store) Statements(ctx context.Context, who access.Staff, actor audit.Actor, sc Scope, year int) ([]Statement, error) {
	if !sc.Visible(who) {
		return nil, ErrNotFound
	}
	if who.Role != access.Operator && who.Role != access.TaxOfficer {
		return nil, access.ErrForbidden
	}
	rules, err := s.rules.For(year)
	if err != nil {
		return nil, err
	}
	var out []Statement
	err = postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		byID := map[int64]*Statement{}
		rows, err := tx.Query(ctx, `SELECT p.participant_id, p.client_id, p.standard, p.advertising, p.computed,
			v.sealed, v.version, COALESCE(v.residency, 'resident')
			FROM tax_positions p
			LEFT JOIN LATERAL (SELECT sealed, version, residency FROM tax_profile_versions v WHERE v.participant_id = p.participant_id
				ORDER BY version DESC LIMIT 1) v ON true
			WHERE p.agent = $1 AND ($2::bigint IS NULL OR p.client_id = $2) AND p.tax_year = $3
			ORDER BY p.participant_id`, sc.Agent, nullID(sc.ClientID), year)
		if err != nil {
			return fmt.Errorf("statements: %w", err)
		}
		for rows.Next() {
			var st Statement
			var pos tax.Position
			var sealed *string
			var version *int
			var res string
			if err := rows.Scan(&st.ParticipantID, &st.ClientID, &pos.Standard, &pos.Advertising, &pos.Computed, &sealed, &version, &res); err != nil {
				rows.Close()
				return err
			}
			st.Year, st.Income, st.Computed = year, pos.Income(), pos.Computed
			st.Assessment = rules.Assess(pos, tax.Residency(res))
			if sealed != nil {
				var d tax.LegalData
				if err := s.openInto(*sealed, st.ParticipantID, *version, &d); err != nil {
					rows.Close()
					return err
				}
				st.Data, st.ProfileV = &d, *version
			}
			out = append(out, st)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range out {
			byID[out[i].ParticipantID] = &out[i]
		}
		// A reversal lowers the income of the month the reward was received
		// in (it may be recorded months later, even the next year).
		rows, err = tx.Query(ctx, `SELECT i.participant_id, EXTRACT(MONTH FROM COALESCE(d.local_date, i.local_date))::int, i.rate_kind,
			sum(i.income), sum(i.withheld), sum(i.not_withheld)
			FROM tax_income i LEFT JOIN tax_income d ON i.event = 'reversal' AND d.event = 'delivery' AND d.ref = i.ref
			WHERE i.agent = $1 AND ($2::bigint IS NULL OR i.client_id = $2) AND i.tax_year = $3
			GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, sc.Agent, nullID(sc.ClientID), year)
		if err != nil {
			return fmt.Errorf("statement months: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var pid int64
			var m int
			var kind string
			var inc, wh, nw money.Kopecks
			if err := rows.Scan(&pid, &m, &kind, &inc, &wh, &nw); err != nil {
				return err
			}
			st := byID[pid]
			if st == nil {
				continue
			}
			st.Withheld += wh
			st.NotWithheld += nw
			month := time.Month(m)
			code, _ := incomeCode(tax.RateKind(kind))
			if n := len(st.Months); n > 0 && st.Months[n-1].Month == month && st.Months[n-1].Code == code {
				st.Months[n-1].Income += inc
			} else {
				st.Months = append(st.Months, StatementMonth{Month: month, Code: code, Income: inc})
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Entry{ClientID: sc.ClientID, Actor: actor, Action: "tax_profile.export",
			ObjectKind: "tax_statement", ObjectID: sc.Agent + ":" + strconv.Itoa(year),
			After: audit.State(map[string]any{"people": len(out)})})
	})
	return out, err
}

// Table is an export: a head row and rows of text cells.
type Table struct {
	Name string
	Head []string
	Rows [][]string
}

// CSV writes t as CSV (UTF-8 with a byte-order mark, «;» between cells,
// as Russian Excel opens it).
func (t Table) CSV() []byte {
	var b bytes.Buffer
	b.WriteString("\ufeff")
	w := csv.NewWriter(&b)
	w.Comma = ';'
	_ = w.Write(t.Head)
	_ = w.WriteAll(t.Rows)
	return b.Bytes()
}

// XLSX writes t as one sheet.
func (t Table) XLSX() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	sheet := "Sheet1"
	if t.Name != "" {
		if err := f.SetSheetName(sheet, t.Name); err != nil {
			return nil, err
		}
		sheet = t.Name
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, err
	}
	write := func(i int, cells []string) error {
		row := make([]any, len(cells))
		for j, c := range cells {
			row[j] = c
		}
		cell, _ := excelize.CoordinatesToCellName(1, i)
		return sw.SetRow(cell, row)
	}
	if err := write(1, t.Head); err != nil {
		return nil, err
	}
	for i, r := range t.Rows {
		if err := write(i+2, r); err != nil {
			return nil, err
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func amount(k money.Kopecks) string { return money.Sheet.Format(k) }

func day(t time.Time) string { return t.Format("02.01.2006") }

// ENPKBK is the budget classification code of the single tax payment
// (ЕНП) through which a tax agent pays withheld НДФЛ since 2023
// (ст. 45 п. 1, ст. 11.3; приказ Минфина 75н).
const ENPKBK = "18201061201010000510"

// PaymentRegistry is the run's registry for payment: per withholding
// period the withheld tax with its payment and notice deadlines, then per
// participant the sums (by participant id; names are in the statements).
func PaymentRegistry(r Run) Table {
	t := Table{Name: "Реестр", Head: []string{"Период", "Участник", "Доход", "Исчислено", "Удержано", "Не удержано",
		"В т.ч. корректировки", "Срок уплаты", "Срок уведомления", "КБК (ЕНП)"}}
	for _, p := range r.Periods {
		t.Rows = append(t.Rows, []string{day(p.From) + "–" + day(p.To), "итого за период", "", "", amount(p.Withheld), "", "",
			day(p.PaymentDeadline), day(p.NoticeDeadline), ENPKBK})
	}
	for _, l := range r.Lines {
		t.Rows = append(t.Rows, []string{fmt.Sprintf("%02d.%d", int(r.Month), r.Year), strconv.FormatInt(l.ParticipantID, 10),
			amount(l.Income), amount(l.Tax), amount(l.Withheld), amount(l.NotWithheld), amount(l.Corrections), "", "", ""})
	}
	t.Rows = append(t.Rows, []string{fmt.Sprintf("%02d.%d", int(r.Month), r.Year), "итого", amount(r.Total.Income),
		amount(r.Total.Tax), amount(r.Total.Withheld), amount(r.Total.NotWithheld), amount(r.Total.Corrections), "", "", ""})
	t.Rows = append(t.Rows, []string{"", "Сроки перенесены с выходных (ст. 6.1 п. 7); праздничные дни сверьте с производственным календарём.", "", "", "", "", "", "", "", ""})
	return t
}

// StatementsTable is the annual statements as a table, one row per person
// and month and income code, then the person's totals: the data of
// «Справка о доходах и суммах налога физического лица» (6-НДФЛ annex 1).
func StatementsTable(sts []Statement, rules tax.Rules) Table {
	t := Table{Name: "Справки", Head: []string{"Участник", "Фамилия", "Имя", "Отчество", "Дата рождения", "ИНН",
		"Гражданство", "Статус", "Код документа", "Серия и номер", "Месяц", "Код дохода", "Доход", "Код вычета", "Вычет",
		"Налоговая база", "Исчислено", "Удержано", "Не удержано"}}
	for _, st := range sts {
		person := make([]string, 10)
		person[0] = strconv.FormatInt(st.ParticipantID, 10)
		if d := st.Data; d != nil {
			status := "1"
			if d.Residency == tax.NonResident {
				status = "2"
			}
			copy(person[1:], []string{d.LastName, d.FirstName, d.MiddleName, d.BirthDate, d.INN, d.Citizenship, status,
				d.DocType, d.DocSeries + " " + d.DocNumber})
		}
		for _, m := range st.Months {
			row := append(append([]string{}, person...), strconv.Itoa(int(m.Month)), m.Code, amount(m.Income), "", "", "", "", "", "")
			t.Rows = append(t.Rows, row)
		}
		a := st.Assessment
		var ded []string
		if a.ExemptStandard > 0 {
			ded = append(ded, "501:"+amount(a.ExemptStandard))
		}
		if a.ExemptAdvertising > 0 {
			ded = append(ded, "505:"+amount(a.ExemptAdvertising))
		}
		dedText := ""
		for i, d := range ded {
			if i > 0 {
				dedText += ", "
			}
			dedText += d
		}
		row := append(append([]string{}, person...), "итого", "", amount(st.Income), dedText, amount(a.Exempt()),
			amount(a.BaseStandard+a.BaseAdvertising), amount(st.Computed), amount(st.Withheld), amount(st.NotWithheld))
		t.Rows = append(t.Rows, row)
	}
	_ = rules
	return t
}

// SixNDFL is the data of section 2 of 6-НДФЛ for the scope's year up to
// the end of quarter q (cumulative), per rate and income code — a
// resident's standard base split across the bands of the scale — and of
// section 1: the tax withheld in the quarter's last three months by
// payment deadline. Each person's tax is assessed from their year up to
// the quarter's end at their latest residency, which is what the events
// computed; withheld and not withheld tax go to a person's bands lowest
// first.
func (s *Store) SixNDFL(ctx context.Context, who access.Staff, sc Scope, year, q int) (Table, error) {
	if !sc.Visible(who) {
		return Table{}, ErrNotFound
	}
	if q < 1 || q > 4 {
		return Table{}, ErrBadScope
	}
	rules, err := s.rules.For(year)
	if err != nil {
		return Table{}, err
	}
	end := time.Date(year, time.Month(3*q+1), 1, 0, 0, 0, 0, time.UTC)
	qStart := end.AddDate(0, -3, 0)
	t := Table{Name: "6-НДФЛ", Head: []string{"Раздел", "Ставка / срок", "Код дохода", "Лиц", "Доход", "Вычеты",
		"Налоговая база", "Исчислено", "Удержано", "Не удержано"}}
	rows, err := s.db.Query(ctx, `SELECT participant_id,
		(array_agg(residency ORDER BY id DESC))[1],
		COALESCE(sum(income) FILTER (WHERE rate_kind = 'standard'), 0),
		COALESCE(sum(income) FILTER (WHERE rate_kind = 'advertising'), 0),
		sum(withheld), sum(not_withheld)
		FROM tax_income
		WHERE agent = $1 AND ($2::bigint IS NULL OR client_id = $2) AND tax_year = $3 AND local_date < $4::date
		GROUP BY participant_id ORDER BY participant_id`, sc.Agent, nullID(sc.ClientID), year, end)
	if err != nil {
		return Table{}, fmt.Errorf("6-НДФЛ section 2: %w", err)
	}
	type key struct {
		rate int64
		code string
	}
	type agg struct {
		persons                                   int
		income, deduction, base, tax, wh, notWith money.Kopecks
	}
	sums := map[key]*agg{}
	var order, personKeys []key
	add := func(k key, income, deduction, base, tx money.Kopecks, wh, nw *money.Kopecks) {
		if income == 0 && base == 0 && tx == 0 {
			return
		}
		a := sums[k]
		if a == nil {
			a = &agg{}
			sums[k] = a
			order = append(order, k)
		}
		personKeys = append(personKeys, k)
		a.persons++
		a.income += income
		a.deduction += deduction
		a.base += base
		a.tax += tx
		// withheld and not withheld: as much of this part's tax as is left
		w := min(max(*wh, 0), tx)
		*wh -= w
		n := min(max(*nw, 0), tx-w)
		*nw -= n
		a.wh += w
		a.notWith += n
	}
	for rows.Next() {
		var pid int64
		var res string
		var pos tax.Position
		var wh, nw money.Kopecks
		if err := rows.Scan(&pid, &res, &pos.Standard, &pos.Advertising, &wh, &nw); err != nil {
			rows.Close()
			return Table{}, err
		}
		a := rules.Assess(pos, tax.Residency(res))
		personKeys = personKeys[:0]
		if tax.Residency(res) == tax.NonResident {
			add(key{rules.NonResidentBP, "2720"}, pos.Standard, a.ExemptStandard, a.BaseStandard, a.TaxStandard, &wh, &nw)
			add(key{rules.NonResidentAdvertisingBP, "2740"}, pos.Advertising, a.ExemptAdvertising, a.BaseAdvertising, a.TaxAdvertising, &wh, &nw)
			continue
		}
		for i, b := range rules.Bands(a.BaseStandard) {
			income, ded := b.Base, money.Kopecks(0)
			if i == 0 { // the first band's line carries the exempt part
				income, ded = b.Base+a.ExemptStandard, a.ExemptStandard
			}
			add(key{b.RateBP, "2720"}, income, ded, b.Base, b.Tax, &wh, &nw)
		}
		if a.BaseStandard == 0 && pos.Standard > 0 {
			add(key{rules.Resident[0].RateBP, "2720"}, pos.Standard, a.ExemptStandard, 0, 0, &wh, &nw)
		}
		add(key{rules.AdvertisingBP, "2740"}, pos.Advertising, a.ExemptAdvertising, a.BaseAdvertising, a.TaxAdvertising, &wh, &nw)
		// what is left (a refund not yet offset, or tax of a residency
		// change) stays on the person's first line
		if wh != 0 || nw != 0 {
			k := key{rules.Resident[0].RateBP, "2720"}
			if len(personKeys) > 0 {
				k = personKeys[0]
			}
			if sums[k] == nil {
				sums[k] = &agg{}
				order = append(order, k)
			}
			sums[k].wh += wh
			sums[k].notWith += nw
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Table{}, err
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].code != order[j].code {
			return order[i].code < order[j].code
		}
		return order[i].rate < order[j].rate
	})
	for _, k := range order {
		a := sums[k]
		t.Rows = append(t.Rows, []string{"2", fmt.Sprintf("%d%%", k.rate/100), k.code, strconv.Itoa(a.persons), amount(a.income),
			amount(a.deduction), amount(a.base), amount(a.tax), amount(a.wh), amount(a.notWith)})
	}
	rows, err = s.db.Query(ctx, `SELECT local_date, sum(withheld) FROM tax_income
		WHERE agent = $1 AND ($2::bigint IS NULL OR client_id = $2) AND local_date >= $3::date AND local_date < $4::date
		AND withheld <> 0 GROUP BY 1 ORDER BY 1`, sc.Agent, nullID(sc.ClientID), qStart, end)
	if err != nil {
		return Table{}, fmt.Errorf("6-НДФЛ section 1: %w", err)
	}
	defer rows.Close()
	byDeadline := map[time.Time]money.Kopecks{}
	var deadlines []time.Time
	for rows.Next() {
		var d time.Time
		var wh money.Kopecks
		if err := rows.Scan(&d, &wh); err != nil {
			return Table{}, err
		}
		dl := tax.PaymentDeadline(d)
		if _, ok := byDeadline[dl]; !ok {
			deadlines = append(deadlines, dl)
		}
		byDeadline[dl] += wh
	}
	for _, dl := range deadlines {
		t.Rows = append(t.Rows, []string{"1", day(dl), "", "", "", "", "", "", amount(byDeadline[dl]), ""})
	}
	return t, rows.Err()
}

// NotWithheldTable is the data of the messages about tax that could not be
// withheld in a year (ст. 226 п. 5): per person with tax not withheld, the
// income, the tax and the deadline to inform the person and the tax
// office (25 February of the next year). The annual statement of such a
// person carries the same sums; this is the list to send and to tell the
// participants by.
func NotWithheldTable(sts []Statement, loc *time.Location) Table {
	t := Table{Name: "Не удержано", Head: []string{"Участник", "Фамилия", "Имя", "Отчество", "ИНН", "Доход", "Исчислено",
		"Не удержано", "Сообщить до"}}
	for _, st := range sts {
		if st.NotWithheld <= 0 {
			continue
		}
		row := []string{strconv.FormatInt(st.ParticipantID, 10), "", "", "", ""}
		if d := st.Data; d != nil {
			row[1], row[2], row[3], row[4] = d.LastName, d.FirstName, d.MiddleName, d.INN
		}
		row = append(row, amount(st.Income), amount(st.Computed), amount(st.NotWithheld), day(tax.NotWithheldDeadline(st.Year, loc)))
		t.Rows = append(t.Rows, row)
	}
	return t
}
