// Package taxdb is the PostgreSQL store of the tax agent (migration
// 00170, docs/tax.md): program tax settings, sealed legal data, consents,
// the income and tax of every delivered or reversed reward, the yearly
// positions and the monthly runs.
//
// RecordIncome and ReverseIncome join the transaction the context carries
// (postgres.ContextWithTx), so the redemption that delivers or reverses a
// reward commits its tax with it.
package taxdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
	"github.com/loyaltyjam/loyaltyjam/internal/tax"
)

// Store is the tax store.
type Store struct {
	db     *pgxpool.Pool
	box    *sealbox.Box
	rules  tax.RuleSet
	ledger ledger.Postings
	audit  audit.Recorder
	now    func() time.Time
}

// New returns a Store on db posting withheld tax through postings and
// recording staff reads and changes with rec (both in the store's
// transaction, joined by the context), sealing legal data with box,
// applying rules (tax.Defaults() when nil).
func New(db *pgxpool.Pool, postings ledger.Postings, rec audit.Recorder, box *sealbox.Box, rules tax.RuleSet) *Store {
	if rules == nil {
		rules = tax.Defaults()
	}
	return &Store{db: db, ledger: postings, box: box, rules: rules, audit: rec, now: time.Now}
}

// Rules returns the rule set the store applies.
func (s *Store) Rules() tax.RuleSet { return s.rules }

// Errors of the store.
var (
	ErrNotFound = apperr.New(apperr.NotFound, "not_found", "Не найдено.")
	ErrNoIncome = errors.New("taxdb: no delivery with this reference to reverse")
)

// Income is a reward delivered to a participant.
type Income struct {
	ClientID      int64
	ProgramID     int64
	ParticipantID int64
	// Ref identifies the delivery (e.g. "redemption:123"); recording the
	// same Ref twice returns the first outcome and changes nothing.
	Ref   string
	At    time.Time
	Value money.Kopecks
}

// Settings are a program's tax settings.
type Settings struct {
	ProgramID    int64
	ClientID     int64
	Agent        string // "platform" or "client"
	Mode         tax.Mode
	Kind         tax.RateKind
	Requirements tax.Requirements
}

// DefaultSettings are a program's settings until staff save others: the
// client is the agent, nothing is withheld, the standard rate, the
// personal-data consent required.
func DefaultSettings(clientID, programID int64) Settings {
	return Settings{ProgramID: programID, ClientID: clientID, Agent: "client", Mode: tax.Notify, Kind: tax.Standard,
		Requirements: tax.Requirements{PersonalData: true}}
}

// Recorded is the tax of one event as stored.
type Recorded struct {
	ID      int64
	Year    int
	Day     time.Time
	Outcome tax.Outcome
	Replay  bool // the event was recorded before; nothing changed
}

// RecordIncome computes and stores the tax of delivering in, in the
// transaction ctx carries (or its own). The participant's current
// residency applies (resident when they have no profile yet).
func (s *Store) RecordIncome(ctx context.Context, in Income) (Recorded, error) {
	if in.Value <= 0 || in.Ref == "" || in.ParticipantID <= 0 || in.ProgramID <= 0 {
		return Recorded{}, tax.ErrBadDelivery
	}
	var out Recorded
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		if r, ok, err := existing(ctx, tx, "delivery", in.Ref); err != nil || ok {
			out = r
			return err
		}
		set, err := settings(ctx, tx, in.ClientID, in.ProgramID)
		if err != nil {
			return err
		}
		day, err := localDay(ctx, tx, in.ClientID, in.At)
		if err != nil {
			return err
		}
		year := day.Year()
		rules, err := s.rules.For(year)
		if err != nil {
			return err
		}
		res, err := residency(ctx, tx, in.ParticipantID)
		if err != nil {
			return err
		}
		pos, err := lockPosition(ctx, tx, in.ClientID, in.ParticipantID, set.Agent, year)
		if err != nil {
			return err
		}
		// Checked again under the position's lock: a concurrent delivery of
		// the same reference waited for it.
		if r, ok, err := existing(ctx, tx, "delivery", in.Ref); err != nil || ok {
			out = r
			return err
		}
		o, err := rules.Deliver(pos, res, tax.Delivery{Value: in.Value, Kind: set.Kind, Mode: set.Mode})
		if err != nil {
			return err
		}
		id, err := insertIncome(ctx, tx, incomeRow{clientID: in.ClientID, programID: in.ProgramID, participantID: in.ParticipantID,
			agent: set.Agent, year: year, event: "delivery", ref: in.Ref, at: in.At, day: day, kind: set.Kind, mode: set.Mode,
			res: res, rules: rules.Version, value: in.Value, o: o})
		if err != nil {
			return err
		}
		if err := savePosition(ctx, tx, in.ParticipantID, set.Agent, year, o.After); err != nil {
			return err
		}
		if err := s.postWithheld(ctx, tx, in.ClientID, in.ProgramID, in.ParticipantID, "delivery", in.Ref, day, o.Withheld); err != nil {
			return err
		}
		out = Recorded{ID: id, Year: year, Day: day, Outcome: o}
		return nil
	})
	return out, err
}

// ReverseIncome computes and stores the tax of reversing the delivery
// recorded as ref, at at, in the transaction ctx carries (or its own). The
// reversal belongs to the delivery's tax year; a closed month is never
// rewritten: the reversal is a row of the next run. Reversing twice
// returns the first outcome.
func (s *Store) ReverseIncome(ctx context.Context, ref string, at time.Time) (Recorded, error) {
	var out Recorded
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		var d incomeRow
		err := tx.QueryRow(ctx, `SELECT client_id, program_id, participant_id, agent, tax_year, rate_kind, mode, value, cash
			FROM tax_income WHERE event = 'delivery' AND ref = $1`, ref).
			Scan(&d.clientID, &d.programID, &d.participantID, &d.agent, &d.year, &d.kind, &d.mode, &d.value, &d.o.Cash)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNoIncome
		}
		if err != nil {
			return fmt.Errorf("find delivery to reverse: %w", err)
		}
		pos, err := lockPosition(ctx, tx, d.clientID, d.participantID, d.agent, d.year)
		if err != nil {
			return err
		}
		if r, ok, err := existing(ctx, tx, "reversal", ref); err != nil || ok {
			out = r
			return err
		}
		rules, err := s.rules.For(d.year)
		if err != nil {
			return err
		}
		res, err := residency(ctx, tx, d.participantID)
		if err != nil {
			return err
		}
		o, err := rules.Reverse(pos, res, tax.Reversal{Value: d.value, Cash: d.o.Cash, Kind: d.kind, Mode: d.mode})
		if err != nil {
			return err
		}
		day, err := localDay(ctx, tx, d.clientID, at)
		if err != nil {
			return err
		}
		row := d
		row.event, row.ref, row.at, row.day, row.res, row.rules, row.value, row.o = "reversal", ref, at, day, res, rules.Version, -d.value, o
		row.o.Cash = -d.o.Cash
		id, err := insertIncome(ctx, tx, row)
		if err != nil {
			return err
		}
		if err := savePosition(ctx, tx, d.participantID, d.agent, d.year, o.After); err != nil {
			return err
		}
		if err := s.postWithheld(ctx, tx, d.clientID, d.programID, d.participantID, "reversal", ref, day, o.Withheld); err != nil {
			return err
		}
		out = Recorded{ID: id, Year: d.year, Day: day, Outcome: row.o}
		return nil
	})
	return out, err
}

// Ledger kinds of the tax postings.
const (
	KindTaxWithheld = "tax_withheld" // funding → tax: the gross-up cash part withheld as tax
	KindTaxRefund   = "tax_refund"   // tax → funding: withheld tax of a reversed reward
)

// postWithheld posts withheld tax to the client's tax account in the same
// transaction: the gross-up cash part is the client's money, withheld
// whole, so it moves from the client's funding account to tax (and back
// when the reward is reversed). Tax that is only notified is the
// participant's to pay and moves no points.
func (s *Store) postWithheld(ctx context.Context, tx pgx.Tx, clientID, programID, participantID int64, event, ref string, day time.Time, withheld money.Kopecks) error {
	if withheld == 0 {
		return nil
	}
	kind := KindTaxWithheld
	if withheld < 0 {
		kind = KindTaxRefund
	}
	_, err := s.ledger.Post(postgres.ContextWithTx(ctx, tx), ledger.Transaction{IdempotencyKey: "tax:" + event + ":" + ref, Kind: kind,
		ClientID: clientID, ProgramID: programID, ParticipantID: participantID, OccurredOn: day,
		Memo: "НДФЛ, удержанный налоговым агентом",
		Postings: []ledger.Posting{
			{Account: ledger.FundingAccount(clientID), AmountKopecks: -int64(withheld)},
			{Account: ledger.Account{Kind: ledger.Tax, ClientID: clientID}, AmountKopecks: int64(withheld)},
		}})
	if err != nil && !errors.Is(err, ledger.ErrAlreadyPosted) {
		return fmt.Errorf("post withheld tax: %w", err)
	}
	return nil
}

type incomeRow struct {
	clientID, programID, participantID int64
	agent                              string
	year                               int
	event, ref                         string
	at                                 time.Time
	day                                time.Time
	kind                               tax.RateKind
	mode                               tax.Mode
	res                                tax.Residency
	rules                              string
	value                              money.Kopecks
	o                                  tax.Outcome
}

func insertIncome(ctx context.Context, tx pgx.Tx, r incomeRow) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO tax_income (client_id, program_id, participant_id, agent, tax_year, event, ref, at,
		local_date, rate_kind, mode, residency, rules_version, value, cash, income, tax, withheld, not_withheld)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19) RETURNING id`,
		r.clientID, r.programID, r.participantID, r.agent, r.year, r.event, r.ref, r.at, r.day, string(r.kind), string(r.mode),
		string(r.res), r.rules, r.value, r.o.Cash, r.o.Income, r.o.Tax, r.o.Withheld, r.o.NotWithheld).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record tax income: %w", err)
	}
	return id, nil
}

func existing(ctx context.Context, tx pgx.Tx, event, ref string) (Recorded, bool, error) {
	var r Recorded
	err := tx.QueryRow(ctx, `SELECT id, tax_year, local_date, cash, income, tax, withheld, not_withheld
		FROM tax_income WHERE event = $1 AND ref = $2`, event, ref).
		Scan(&r.ID, &r.Year, &r.Day, &r.Outcome.Cash, &r.Outcome.Income, &r.Outcome.Tax, &r.Outcome.Withheld, &r.Outcome.NotWithheld)
	if errors.Is(err, pgx.ErrNoRows) {
		return Recorded{}, false, nil
	}
	if err != nil {
		return Recorded{}, false, fmt.Errorf("look up tax income: %w", err)
	}
	r.Replay = true
	return r, true, nil
}

func settings(ctx context.Context, tx pgx.Tx, clientID, programID int64) (Settings, error) {
	set := DefaultSettings(clientID, programID)
	var mode, kind string
	err := tx.QueryRow(ctx, `SELECT agent, mode, rate_kind, requires_personal_data, requires_offer, requires_employer,
		consents_before_redeeming, consents_before_crediting
		FROM tax_program_settings WHERE program_id = $1 AND client_id = $2`, programID, clientID).
		Scan(&set.Agent, &mode, &kind, &set.Requirements.PersonalData, &set.Requirements.Offer, &set.Requirements.Employer,
			&set.Requirements.BeforeRedeeming, &set.Requirements.BeforeCrediting)
	if errors.Is(err, pgx.ErrNoRows) {
		return set, nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("read tax settings: %w", err)
	}
	set.Mode, set.Kind = tax.Mode(mode), tax.RateKind(kind)
	return set, nil
}

// localDay is at's date in the client's zone: the day the tax is computed
// and withheld on, which decides its month and its payment deadline.
func localDay(ctx context.Context, tx pgx.Tx, clientID int64, at time.Time) (time.Time, error) {
	var day time.Time
	err := tx.QueryRow(ctx, `SELECT ($2::timestamptz AT TIME ZONE timezone)::date FROM clients WHERE id = $1`, clientID, at).Scan(&day)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, ErrNotFound
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("client day: %w", err)
	}
	return day, nil
}

func residency(ctx context.Context, tx pgx.Tx, participantID int64) (tax.Residency, error) {
	var res string
	err := tx.QueryRow(ctx, `SELECT residency FROM tax_profile_versions WHERE participant_id = $1
		ORDER BY version DESC LIMIT 1`, participantID).Scan(&res)
	if errors.Is(err, pgx.ErrNoRows) {
		return tax.Resident, nil
	}
	if err != nil {
		return "", fmt.Errorf("read residency: %w", err)
	}
	return tax.Residency(res), nil
}

func lockPosition(ctx context.Context, tx pgx.Tx, clientID, participantID int64, agent string, year int) (tax.Position, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO tax_positions (participant_id, client_id, agent, tax_year)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, participantID, clientID, agent, year); err != nil {
		return tax.Position{}, fmt.Errorf("open tax position: %w", err)
	}
	var p tax.Position
	err := tx.QueryRow(ctx, `SELECT standard, advertising, computed FROM tax_positions
		WHERE participant_id = $1 AND agent = $2 AND tax_year = $3 FOR UPDATE`, participantID, agent, year).
		Scan(&p.Standard, &p.Advertising, &p.Computed)
	if err != nil {
		return tax.Position{}, fmt.Errorf("lock tax position: %w", err)
	}
	return p, nil
}

func savePosition(ctx context.Context, tx pgx.Tx, participantID int64, agent string, year int, p tax.Position) error {
	_, err := tx.Exec(ctx, `UPDATE tax_positions SET standard = $4, advertising = $5, computed = $6
		WHERE participant_id = $1 AND agent = $2 AND tax_year = $3`, participantID, agent, year, p.Standard, p.Advertising, p.Computed)
	if err != nil {
		return fmt.Errorf("save tax position: %w", err)
	}
	return nil
}

// YearIncome is a participant's income this tax year from every agent,
// and whether their tax profile is complete (tax.GateStore).
func (s *Store) YearIncome(ctx context.Context, participantID int64, year int) (money.Kopecks, bool, error) {
	var income money.Kopecks
	var complete bool
	err := s.db.QueryRow(ctx, `SELECT
		COALESCE((SELECT sum(standard + advertising) FROM tax_positions WHERE participant_id = $1 AND tax_year = $2), 0),
		COALESCE((SELECT complete FROM tax_profile_versions WHERE participant_id = $1 ORDER BY version DESC LIMIT 1), false)`,
		participantID, year).Scan(&income, &complete)
	if err != nil {
		return 0, false, fmt.Errorf("year income: %w", err)
	}
	return income, complete, nil
}

// YearSummary is a participant's tax year with every agent, for the
// participant's own view.
type YearSummary struct {
	Income      money.Kopecks
	Computed    money.Kopecks
	Withheld    money.Kopecks
	NotWithheld money.Kopecks
}

// ParticipantYear sums participantID's tax year.
func (s *Store) ParticipantYear(ctx context.Context, participantID int64, year int) (YearSummary, error) {
	var y YearSummary
	err := s.db.QueryRow(ctx, `SELECT COALESCE(sum(income), 0), COALESCE(sum(tax), 0), COALESCE(sum(withheld), 0),
		COALESCE(sum(not_withheld), 0) FROM tax_income WHERE participant_id = $1 AND tax_year = $2`, participantID, year).
		Scan(&y.Income, &y.Computed, &y.Withheld, &y.NotWithheld)
	if err != nil {
		return YearSummary{}, fmt.Errorf("participant tax year: %w", err)
	}
	return y, nil
}

// Event is one reward's tax as the participant sees it.
type Event struct {
	Day         time.Time
	Event       string // delivery, reversal
	Kind        tax.RateKind
	Mode        tax.Mode
	Value       money.Kopecks
	Cash        money.Kopecks
	Tax         money.Kopecks
	Withheld    money.Kopecks
	NotWithheld money.Kopecks
}

// ParticipantEvents lists participantID's tax events of year, newest
// first (at most 500).
func (s *Store) ParticipantEvents(ctx context.Context, participantID int64, year int) ([]Event, error) {
	rows, err := s.db.Query(ctx, `SELECT local_date, event, rate_kind, mode, value, cash, tax, withheld, not_withheld
		FROM tax_income WHERE participant_id = $1 AND tax_year = $2 ORDER BY id DESC LIMIT 500`, participantID, year)
	if err != nil {
		return nil, fmt.Errorf("participant tax events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var kind, mode string
		if err := rows.Scan(&e.Day, &e.Event, &kind, &mode, &e.Value, &e.Cash, &e.Tax, &e.Withheld, &e.NotWithheld); err != nil {
			return nil, err
		}
		e.Kind, e.Mode = tax.RateKind(kind), tax.Mode(mode)
		out = append(out, e)
	}
	return out, rows.Err()
}
