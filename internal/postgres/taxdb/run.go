package taxdb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/tax"
)

// Scope is one tax agent: the platform (ClientID 0, every client's
// programs that name the platform) or one client.
type Scope struct {
	Agent    string // "platform" or "client"
	ClientID int64
}

func (sc Scope) valid() bool {
	return (sc.Agent == "platform" && sc.ClientID == 0) || (sc.Agent == "client" && sc.ClientID > 0)
}

// Visible reports whether who may see the scope's runs: an operator sees
// every agent's; a client's staff only their client's.
func (sc Scope) Visible(who access.Staff) bool {
	if who.Role == access.Operator {
		return true
	}
	return sc.Agent == "client" && who.ClientID == sc.ClientID
}

// Errors of the runs.
var (
	ErrRunClosed = apperr.New(apperr.Conflict, "tax_run_closed", "Этот месяц уже закрыт.")
	ErrRunEarly  = apperr.New(apperr.Conflict, "tax_run_early", "Месяц ещё не закончился.")
	ErrBadScope  = apperr.New(apperr.Invalid, "invalid_tax_scope", "Налоговый агент: platform или client с его id.")
)

// Run is a closed monthly run.
type Run struct {
	ID         int64
	Scope      Scope
	ClientName string // AllRuns only; "" for the platform
	Year       int
	Month      time.Month
	ClosedAt   time.Time
	ClosedBy   string
	Lines      []RunLine
	Total      RunLine // ParticipantID 0
	Periods    []Period
}

// RunLine is one participant's sums in a run (or the run's total).
type RunLine struct {
	ParticipantID int64
	ClientID      int64
	Income        money.Kopecks
	Tax           money.Kopecks // computed
	Withheld      money.Kopecks
	NotWithheld   money.Kopecks
	Corrections   money.Kopecks // of Tax, from rows of earlier months or years (deltas, never rewrites)
}

// Period is the withheld tax of one withholding period of the run with
// its deadlines.
type Period struct {
	From, To        time.Time
	Withheld        money.Kopecks
	PaymentDeadline time.Time
	NoticeDeadline  time.Time
}

// CloseMonth closes year/month for the scope: every row not yet in a run
// with a day before the month's end joins it — the month's own rows and
// the corrections of earlier months recorded since their runs — and the
// profile versions of its participants become filed. A month is closed
// once, after it ended.
func (s *Store) CloseMonth(ctx context.Context, sc Scope, year int, month time.Month, actor audit.Actor) (int64, error) {
	if !sc.valid() || month < 1 || month > 12 {
		return 0, ErrBadScope
	}
	end := time.Date(year, month+1, 1, 0, 0, 0, 0, time.UTC)
	if s.now().Before(end) {
		return 0, ErrRunEarly
	}
	var id int64
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO tax_runs (agent, client_id, year, month, closed_by) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING RETURNING id`, sc.Agent, nullID(sc.ClientID), year, int(month), actor.Name).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrRunClosed
		}
		if err != nil {
			return fmt.Errorf("open tax run: %w", err)
		}
		tag, err := tx.Exec(ctx, `UPDATE tax_income SET run_id = $1 WHERE run_id IS NULL AND agent = $2
			AND ($3::bigint IS NULL OR client_id = $3) AND local_date < $4::date`, id, sc.Agent, nullID(sc.ClientID), end)
		if err != nil {
			return fmt.Errorf("take rows into tax run: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE tax_profile_versions v SET filed = true
			WHERE NOT filed AND version = (SELECT max(version) FROM tax_profile_versions w WHERE w.participant_id = v.participant_id)
			AND participant_id IN (SELECT participant_id FROM tax_income WHERE run_id = $1)`, id); err != nil {
			return fmt.Errorf("file profile versions: %w", err)
		}
		return s.audit.Record(ctx, audit.Entry{ClientID: sc.ClientID, Actor: actor, Action: "tax_run.close",
			ObjectKind: "tax_run", ObjectID: strconv.FormatInt(id, 10),
			After: audit.State(map[string]any{"agent": sc.Agent, "year": year, "month": int(month), "rows": tag.RowsAffected()})})
	})
	return id, err
}

// Runs lists the scope's closed runs, newest first (without lines). For
// an operator with AllAgents, every agent's.
func (s *Store) Runs(ctx context.Context, who access.Staff, sc Scope) ([]Run, error) {
	if !sc.Visible(who) {
		return nil, ErrNotFound
	}
	rows, err := s.db.Query(ctx, `SELECT id, agent, COALESCE(client_id, 0), year, month, closed_at, closed_by
		FROM tax_runs WHERE agent = $1 AND COALESCE(client_id, 0) = $2 ORDER BY year DESC, month DESC LIMIT 240`,
		sc.Agent, sc.ClientID)
	if err != nil {
		return nil, fmt.Errorf("list tax runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var m int
		if err := rows.Scan(&r.ID, &r.Scope.Agent, &r.Scope.ClientID, &r.Year, &m, &r.ClosedAt, &r.ClosedBy); err != nil {
			return nil, err
		}
		r.Month = time.Month(m)
		out = append(out, r)
	}
	return out, rows.Err()
}

// RunReport returns run id with its lines, total and withholding periods,
// to staff who may see its agent (ErrNotFound otherwise).
func (s *Store) RunReport(ctx context.Context, who access.Staff, id int64) (Run, error) {
	var r Run
	var m int
	err := s.db.QueryRow(ctx, `SELECT id, agent, COALESCE(client_id, 0), year, month, closed_at, closed_by FROM tax_runs WHERE id = $1`, id).
		Scan(&r.ID, &r.Scope.Agent, &r.Scope.ClientID, &r.Year, &m, &r.ClosedAt, &r.ClosedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return Run{}, ErrNotFound
	}
	if err != nil {
		return Run{}, fmt.Errorf("read tax run: %w", err)
	}
	r.Month = time.Month(m)
	if !r.Scope.Visible(who) {
		return Run{}, ErrNotFound
	}
	start := time.Date(r.Year, r.Month, 1, 0, 0, 0, 0, time.UTC)
	rows, err := s.db.Query(ctx, `SELECT participant_id, client_id, sum(income), sum(tax), sum(withheld), sum(not_withheld),
		COALESCE(sum(tax) FILTER (WHERE local_date < $2::date OR tax_year <> $3), 0)
		FROM tax_income WHERE run_id = $1 GROUP BY participant_id, client_id ORDER BY participant_id`, id, start, r.Year)
	if err != nil {
		return Run{}, fmt.Errorf("read tax run lines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l RunLine
		if err := rows.Scan(&l.ParticipantID, &l.ClientID, &l.Income, &l.Tax, &l.Withheld, &l.NotWithheld, &l.Corrections); err != nil {
			return Run{}, err
		}
		r.Lines = append(r.Lines, l)
		r.Total.Income += l.Income
		r.Total.Tax += l.Tax
		r.Total.Withheld += l.Withheld
		r.Total.NotWithheld += l.NotWithheld
		r.Total.Corrections += l.Corrections
	}
	if err := rows.Err(); err != nil {
		return Run{}, err
	}
	// Withheld tax by period of the run's month: rows of earlier months
	// (corrections) count in the first period, as they are withheld or
	// refunded now.
	mid := start.AddDate(0, 0, 22)
	end := start.AddDate(0, 1, -1)
	var first, second money.Kopecks
	if err := s.db.QueryRow(ctx, `SELECT COALESCE(sum(withheld) FILTER (WHERE local_date < $2::date), 0),
		COALESCE(sum(withheld) FILTER (WHERE local_date >= $2::date), 0) FROM tax_income WHERE run_id = $1`, id, mid).
		Scan(&first, &second); err != nil {
		return Run{}, err
	}
	r.Periods = []Period{
		{From: start, To: mid.AddDate(0, 0, -1), Withheld: first, PaymentDeadline: tax.PaymentDeadline(start), NoticeDeadline: tax.NoticeDeadline(start)},
		{From: mid, To: end, Withheld: second, PaymentDeadline: tax.PaymentDeadline(mid), NoticeDeadline: tax.NoticeDeadline(mid)},
	}
	return r, nil
}

// YearLine is one participant's tax year with one agent.
type YearLine struct {
	ParticipantID int64
	ClientID      int64
	Position      tax.Position
	Withheld      money.Kopecks
	NotWithheld   money.Kopecks
	HasProfile    bool
	Complete      bool
	Masked        tax.MaskedData
}

// YearToDate lists every participant with income from the scope's agent
// in year: their position, withheld and not withheld tax and the state
// of their profile, masked. onlyMissing keeps those over the exemption
// without a complete profile.
func (s *Store) YearToDate(ctx context.Context, who access.Staff, sc Scope, year int, onlyMissing bool) ([]YearLine, error) {
	if !sc.Visible(who) {
		return nil, ErrNotFound
	}
	rules, err := s.rules.For(year)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT p.participant_id, p.client_id, p.standard, p.advertising, p.computed,
		COALESCE((SELECT sum(withheld) FROM tax_income i WHERE i.participant_id = p.participant_id AND i.agent = p.agent AND i.tax_year = p.tax_year), 0),
		COALESCE((SELECT sum(not_withheld) FROM tax_income i WHERE i.participant_id = p.participant_id AND i.agent = p.agent AND i.tax_year = p.tax_year), 0),
		v.sealed, v.version, COALESCE(v.complete, false)
		FROM tax_positions p
		LEFT JOIN LATERAL (SELECT sealed, version, complete FROM tax_profile_versions v WHERE v.participant_id = p.participant_id
			ORDER BY version DESC LIMIT 1) v ON true
		WHERE p.agent = $1 AND ($2::bigint IS NULL OR p.client_id = $2) AND p.tax_year = $3
		ORDER BY p.participant_id LIMIT 100000`, sc.Agent, nullID(sc.ClientID), year)
	if err != nil {
		return nil, fmt.Errorf("year to date: %w", err)
	}
	defer rows.Close()
	var out []YearLine
	for rows.Next() {
		var l YearLine
		var sealed *string
		var version *int
		if err := rows.Scan(&l.ParticipantID, &l.ClientID, &l.Position.Standard, &l.Position.Advertising, &l.Position.Computed,
			&l.Withheld, &l.NotWithheld, &sealed, &version, &l.Complete); err != nil {
			return nil, err
		}
		if onlyMissing && (l.Complete || l.Position.Income() <= rules.Exemption) {
			continue
		}
		if sealed != nil {
			l.HasProfile = true
			var d tax.LegalData
			if err := s.openInto(*sealed, l.ParticipantID, *version, &d); err != nil {
				return nil, err
			}
			l.Masked = d.Masked()
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// AllRuns lists every agent's closed runs, newest first, for an operator
// (others get ErrNotFound), with the sums of each.
func (s *Store) AllRuns(ctx context.Context, who access.Staff, limit int) ([]Run, error) {
	if who.Role != access.Operator {
		return nil, ErrNotFound
	}
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	rows, err := s.db.Query(ctx, `SELECT r.id, r.agent, COALESCE(r.client_id, 0), COALESCE(c.name, ''), r.year, r.month, r.closed_at,
		r.closed_by, COALESCE(sum(i.income), 0), COALESCE(sum(i.tax), 0), COALESCE(sum(i.withheld), 0), COALESCE(sum(i.not_withheld), 0)
		FROM tax_runs r LEFT JOIN clients c ON c.id = r.client_id LEFT JOIN tax_income i ON i.run_id = r.id
		GROUP BY r.id, c.name ORDER BY r.year DESC, r.month DESC, r.id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("all tax runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var m int
		if err := rows.Scan(&r.ID, &r.Scope.Agent, &r.Scope.ClientID, &r.ClientName, &r.Year, &m, &r.ClosedAt, &r.ClosedBy,
			&r.Total.Income, &r.Total.Tax, &r.Total.Withheld, &r.Total.NotWithheld); err != nil {
			return nil, err
		}
		r.Month = time.Month(m)
		out = append(out, r)
	}
	return out, rows.Err()
}
