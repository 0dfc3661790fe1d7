package taxdb

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/tax"
)

// Consent is one recorded consent.
type Consent struct {
	ID            int64           `json:"id"`
	ClientID      int64           `json:"-"`
	Kind          tax.ConsentKind `json:"kind"`
	ParticipantID int64           `json:"participant_id,omitempty"`
	ShopID        int64           `json:"shop_id,omitempty"`
	ProgramID     int64           `json:"program_id,omitempty"`
	TextVersion   string          `json:"text_version"`
	Channel       string          `json:"channel"`
	Evidence      string          `json:"evidence"`
	GivenBy       string          `json:"given_by,omitempty"`
	GrantedAt     time.Time       `json:"granted_at"`
	WithdrawnAt   *time.Time      `json:"withdrawn_at,omitempty"`
}

var (
	versionRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,40}$`)
	channels  = map[string]bool{"app": true, "web": true, "registry": true, "paper": true, "dashboard": true}

	// ErrBadConsent is a consent the schema would refuse.
	ErrBadConsent = apperr.New(apperr.Invalid, "invalid_consent",
		"Согласие: вид personal_data, offer или employer; версия текста; канал app, web, registry, paper или dashboard; доказательство до 2000 символов.")
)

// Grant records c (its ID and GrantedAt are set by the store), audited as
// actor's, in the transaction ctx carries or its own. A participant's
// consent of a kind already in force for the same program is not recorded
// twice: the one in force is returned.
func (s *Store) Grant(ctx context.Context, c Consent, actor audit.Actor) (Consent, error) {
	if !c.Kind.Valid() || !versionRe.MatchString(c.TextVersion) || !channels[c.Channel] || c.Evidence == "" ||
		len(c.Evidence) > 2000 || len(c.GivenBy) > 300 ||
		(c.Kind != tax.ConsentEmployer && c.ParticipantID <= 0) ||
		(c.Kind == tax.ConsentEmployer && c.ShopID <= 0 && c.ParticipantID <= 0) {
		return Consent{}, ErrBadConsent
	}
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		if c.Kind != tax.ConsentEmployer {
			err := tx.QueryRow(ctx, `SELECT id, granted_at FROM tax_consents WHERE participant_id = $1 AND kind = $2
				AND text_version = $3 AND program_id IS NOT DISTINCT FROM $4 AND withdrawn_at IS NULL`,
				c.ParticipantID, string(c.Kind), c.TextVersion, nullID(c.ProgramID)).Scan(&c.ID, &c.GrantedAt)
			if err == nil {
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("find consent: %w", err)
			}
		}
		err := tx.QueryRow(ctx, `INSERT INTO tax_consents (client_id, kind, participant_id, shop_id, program_id, text_version,
			channel, evidence, given_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING id, granted_at`,
			c.ClientID, string(c.Kind), nullID(c.ParticipantID), nullID(c.ShopID), nullID(c.ProgramID), c.TextVersion,
			c.Channel, c.Evidence, c.GivenBy).Scan(&c.ID, &c.GrantedAt)
		if err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23503" {
				return ErrNotFound
			}
			return fmt.Errorf("record consent: %w", err)
		}
		return s.audit.Record(ctx, audit.Entry{ClientID: c.ClientID, Actor: actor, Action: "consent.grant",
			ObjectKind: "consent", ObjectID: strconv.FormatInt(c.ID, 10),
			After: audit.State(map[string]any{"kind": c.Kind, "participant_id": c.ParticipantID, "shop_id": c.ShopID,
				"program_id": c.ProgramID, "text_version": c.TextVersion, "channel": c.Channel})})
	})
	return c, err
}

// Withdraw withdraws consent id of clientID (restricted to participantID's
// own when it is not 0), audited as actor's. Withdrawing twice is a no-op.
func (s *Store) Withdraw(ctx context.Context, clientID, participantID, id int64, channel string, actor audit.Actor) error {
	if !channels[channel] {
		return ErrBadConsent
	}
	return postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tax_consents SET withdrawn_at = now(), withdrawn_channel = $4
			WHERE id = $1 AND client_id = $2 AND ($3 = 0 OR participant_id = $3) AND withdrawn_at IS NULL`,
			id, clientID, participantID, channel)
		if err != nil {
			return fmt.Errorf("withdraw consent: %w", err)
		}
		if tag.RowsAffected() == 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM tax_consents WHERE id = $1 AND client_id = $2
				AND ($3 = 0 OR participant_id = $3)`, id, clientID, participantID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return ErrNotFound
			}
			return nil
		}
		return s.audit.Record(ctx, audit.Entry{ClientID: clientID, Actor: actor, Action: "consent.withdraw",
			ObjectKind: "consent", ObjectID: strconv.FormatInt(id, 10), After: audit.State(map[string]any{"channel": channel})})
	})
}

// Consents lists participantID's consents (their own and their shop's
// employer consents), newest first.
func (s *Store) Consents(ctx context.Context, clientID, participantID int64) ([]Consent, error) {
	rows, err := s.db.Query(ctx, `SELECT c.id, c.client_id, c.kind, COALESCE(c.participant_id, 0), COALESCE(c.shop_id, 0),
		COALESCE(c.program_id, 0), c.text_version, c.channel, c.evidence, c.given_by, c.granted_at, c.withdrawn_at
		FROM tax_consents c JOIN participants p ON p.id = $2 AND p.client_id = $1
		WHERE c.client_id = $1 AND (c.participant_id = p.id OR (c.participant_id IS NULL AND c.shop_id = p.shop_id))
		ORDER BY c.id DESC LIMIT 500`, clientID, participantID)
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	defer rows.Close()
	out := []Consent{}
	for rows.Next() {
		var c Consent
		var kind string
		if err := rows.Scan(&c.ID, &c.ClientID, &kind, &c.ParticipantID, &c.ShopID, &c.ProgramID, &c.TextVersion,
			&c.Channel, &c.Evidence, &c.GivenBy, &c.GrantedAt, &c.WithdrawnAt); err != nil {
			return nil, err
		}
		c.Kind = tax.ConsentKind(kind)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Lacking returns the consents programID requires that participantID does
// not hold in force (whatever the stages). A program without settings
// requires the personal-data consent only.
func (s *Store) Lacking(ctx context.Context, clientID, programID, participantID int64) ([]tax.ConsentKind, error) {
	set, h, err := s.held(ctx, clientID, programID, participantID)
	if err != nil {
		return nil, err
	}
	return set.Requirements.Lacking(h), nil
}

// LackingFor returns the consents programID requires before stage that
// participantID does not hold in force: the question redemption and
// crediting ask before they act (empty: go ahead). A program that does not
// enforce its requirements at stage (the default) lacks nothing.
func (s *Store) LackingFor(ctx context.Context, stage tax.Stage, clientID, programID, participantID int64) ([]tax.ConsentKind, error) {
	set, h, err := s.held(ctx, clientID, programID, participantID)
	if err != nil {
		return nil, err
	}
	return set.Requirements.LackingFor(stage, h), nil
}

// LackingForRedeeming is LackingFor(tax.Redeeming) as redemption's port
// (reward.ConsentGate) asks it: the kinds' names.
func (s *Store) LackingForRedeeming(ctx context.Context, clientID, programID, participantID int64) ([]string, error) {
	return s.lackingNames(ctx, tax.Redeeming, clientID, programID, participantID)
}

// LackingForCrediting is LackingFor(tax.Crediting) as crediting's port
// (points.ConsentChecker) asks it: the kinds' names.
func (s *Store) LackingForCrediting(ctx context.Context, clientID, programID, participantID int64) ([]string, error) {
	return s.lackingNames(ctx, tax.Crediting, clientID, programID, participantID)
}

func (s *Store) lackingNames(ctx context.Context, stage tax.Stage, clientID, programID, participantID int64) ([]string, error) {
	kinds, err := s.LackingFor(ctx, stage, clientID, programID, participantID)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out, nil
}

func (s *Store) held(ctx context.Context, clientID, programID, participantID int64) (Settings, tax.Held, error) {
	var set Settings
	var h tax.Held
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		set, err = settings(ctx, tx, clientID, programID)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `SELECT
			bool_or(c.kind = 'personal_data') IS TRUE,
			bool_or(c.kind = 'offer' AND (c.program_id IS NULL OR c.program_id = $3)) IS TRUE,
			bool_or(c.kind = 'employer' AND (c.participant_id = p.id OR c.shop_id = p.shop_id)) IS TRUE
			FROM participants p LEFT JOIN tax_consents c ON c.client_id = p.client_id AND c.withdrawn_at IS NULL
				AND (c.participant_id = p.id OR (c.participant_id IS NULL AND c.shop_id = p.shop_id))
			WHERE p.id = $2 AND p.client_id = $1 GROUP BY p.id`, clientID, participantID, programID).
			Scan(&h.PersonalData, &h.Offer, &h.Employer)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("held consents: %w", err)
		}
		return nil
	})
	return set, h, err
}

// Settings returns programID's tax settings (the defaults when none are
// saved; ErrNotFound when the program is not clientID's).
func (s *Store) Settings(ctx context.Context, clientID, programID int64) (Settings, error) {
	var out Settings
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM programs WHERE id = $1 AND client_id = $2`, programID, clientID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		var err error
		out, err = settings(ctx, tx, clientID, programID)
		return err
	})
	return out, err
}

// SaveSettings stores a program's tax settings, audited as actor's with
// the settings before and after. Changes apply to rewards delivered from
// now on; recorded income keeps the mode and rate it was computed with.
func (s *Store) SaveSettings(ctx context.Context, set Settings, actor audit.Actor) error {
	if (set.Agent != "platform" && set.Agent != "client") || !set.Mode.Valid() || !set.Kind.Valid() {
		return apperr.New(apperr.Invalid, "invalid_tax_settings", "Налоговый агент platform или client, режим gross_up или notify, ставка standard или advertising.")
	}
	return postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		before, err := s.Settings(ctx, set.ClientID, set.ProgramID)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO tax_program_settings (program_id, client_id, agent, mode, rate_kind,
			requires_personal_data, requires_offer, requires_employer, consents_before_redeeming, consents_before_crediting)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
			ON CONFLICT (program_id) DO UPDATE SET agent = $3, mode = $4, rate_kind = $5, requires_personal_data = $6,
			requires_offer = $7, requires_employer = $8, consents_before_redeeming = $9, consents_before_crediting = $10,
			updated_at = now()`,
			set.ProgramID, set.ClientID, set.Agent, string(set.Mode), string(set.Kind),
			set.Requirements.PersonalData, set.Requirements.Offer, set.Requirements.Employer,
			set.Requirements.BeforeRedeeming, set.Requirements.BeforeCrediting)
		if err != nil {
			return fmt.Errorf("save tax settings: %w", err)
		}
		return s.audit.Record(ctx, audit.Entry{ClientID: set.ClientID, Actor: actor, Action: "program.tax_settings",
			ObjectKind: "program", ObjectID: strconv.FormatInt(set.ProgramID, 10),
			Before: audit.State(before), After: audit.State(set)})
	})
}

func nullID(id int64) *int64 {
	if id <= 0 {
		return nil
	}
	return &id
}
