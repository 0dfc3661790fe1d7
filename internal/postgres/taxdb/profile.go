package taxdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/tax"
)

// Profile is a participant's legal data as stored.
type Profile struct {
	ParticipantID int64
	ClientID      int64
	Version       int
	Filed         bool // the version was used by a closed run: a change starts a new version
	Data          tax.LegalData
	UpdatedAt     time.Time
}

func profileAD(participantID int64, version int) []byte {
	return []byte("tax_profile:" + strconv.FormatInt(participantID, 10) + ":" + strconv.Itoa(version))
}

// ErrBadProfile is a validation error of legal data (its text names the
// field, never the value).
func badProfile(err error) error {
	return apperr.New(apperr.Invalid, "invalid_tax_profile", err.Error())
}

// Profile returns participantID's current legal data (ErrNotFound when
// they have none). The caller is the participant themself or the store's
// own audited reads; staff use StaffProfile.
func (s *Store) Profile(ctx context.Context, participantID int64) (Profile, error) {
	return s.profile(ctx, s.db, participantID)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Store) profile(ctx context.Context, q querier, participantID int64) (Profile, error) {
	var p Profile
	var sealed string
	err := q.QueryRow(ctx, `SELECT participant_id, client_id, version, filed, sealed, updated_at FROM tax_profile_versions
		WHERE participant_id = $1 ORDER BY version DESC LIMIT 1`, participantID).
		Scan(&p.ParticipantID, &p.ClientID, &p.Version, &p.Filed, &sealed, &p.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Profile{}, ErrNotFound
	}
	if err != nil {
		return Profile{}, fmt.Errorf("read tax profile: %w", err)
	}
	plain, err := s.box.Open(sealed, profileAD(p.ParticipantID, p.Version))
	if err != nil {
		return Profile{}, fmt.Errorf("open tax profile of participant %d: %w", p.ParticipantID, err)
	}
	if err := json.Unmarshal([]byte(plain), &p.Data); err != nil {
		return Profile{}, fmt.Errorf("decode tax profile of participant %d: %w", p.ParticipantID, err)
	}
	return p, nil
}

// SaveProfile stores participantID's legal data as the participant's
// (actor) change, audited without the data. The current version is
// rewritten unless a closed run used it; then the data becomes the next
// version and the filed one stays as it was reported.
func (s *Store) SaveProfile(ctx context.Context, clientID, participantID int64, d tax.LegalData, actor audit.Actor) (Profile, error) {
	d = d.Normalize()
	if err := d.Validate(s.now()); err != nil {
		return Profile{}, badProfile(err)
	}
	if d.Residency == "" {
		d.Residency = tax.Resident
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return Profile{}, err
	}
	var out Profile
	err = postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		// Serialise the participant's saves on their row.
		var cid int64
		err := tx.QueryRow(ctx, `SELECT client_id FROM participants WHERE id = $1 AND client_id = $2 FOR UPDATE`,
			participantID, clientID).Scan(&cid)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("lock participant: %w", err)
		}
		version, filed := 0, false
		err = tx.QueryRow(ctx, `SELECT version, filed FROM tax_profile_versions WHERE participant_id = $1
			ORDER BY version DESC LIMIT 1`, participantID).Scan(&version, &filed)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read tax profile version: %w", err)
		}
		before := version
		if version == 0 || filed {
			version++
			_, err = tx.Exec(ctx, `INSERT INTO tax_profile_versions (participant_id, client_id, version, sealed, residency, complete)
				VALUES ($1, $2, $3, $4, $5, $6)`, participantID, clientID, version,
				s.box.Seal(string(raw), profileAD(participantID, version)), string(d.Residency), d.Complete())
		} else {
			_, err = tx.Exec(ctx, `UPDATE tax_profile_versions SET sealed = $3, residency = $4, complete = $5, updated_at = now()
				WHERE participant_id = $1 AND version = $2`, participantID, version,
				s.box.Seal(string(raw), profileAD(participantID, version)), string(d.Residency), d.Complete())
		}
		if err != nil {
			return fmt.Errorf("save tax profile: %w", err)
		}
		if err := s.audit.Record(ctx, audit.Entry{ClientID: clientID, Actor: actor, Action: "tax_profile.save",
			ObjectKind: "participant", ObjectID: strconv.FormatInt(participantID, 10),
			Before: audit.State(map[string]any{"version": before}),
			After:  audit.State(map[string]any{"version": version, "complete": d.Complete(), "residency": d.Residency})}); err != nil {
			return err
		}
		out = Profile{ParticipantID: participantID, ClientID: clientID, Version: version, Data: d, UpdatedAt: s.now()}
		return nil
	})
	return out, err
}

// StaffView is a participant's profile as staff see it.
type StaffView struct {
	ParticipantID int64
	Version       int
	Complete      bool
	Missing       []string
	Masked        tax.MaskedData
	Full          *tax.LegalData // only from StaffFullProfile
}

// StaffProfile returns participantID's profile masked, for staff of the
// participant's client (another client's staff get ErrNotFound).
func (s *Store) StaffProfile(ctx context.Context, who access.Staff, participantID int64) (StaffView, error) {
	p, err := s.Profile(ctx, participantID)
	if err != nil {
		return StaffView{}, err
	}
	if !who.CanSee(p.ClientID) {
		return StaffView{}, ErrNotFound
	}
	return StaffView{ParticipantID: participantID, Version: p.Version, Complete: p.Data.Complete(),
		Missing: p.Data.Missing(), Masked: p.Data.Masked()}, nil
}

// StaffFullProfile returns participantID's full legal data to a tax
// officer of their client (or an operator) and records the read in the
// audit log in the same transaction: no read without its entry.
func (s *Store) StaffFullProfile(ctx context.Context, who access.Staff, actor audit.Actor, participantID int64, reason string) (StaffView, error) {
	var out StaffView
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		p, err := s.profile(ctx, tx, participantID)
		if err != nil {
			return err
		}
		if !who.CanSee(p.ClientID) {
			return ErrNotFound
		}
		if err := who.CheckClient(p.ClientID, access.TaxOfficer); err != nil {
			return err
		}
		if err := s.audit.Record(ctx, audit.Entry{ClientID: p.ClientID, Actor: actor, Action: "tax_profile.read",
			ObjectKind: "participant", ObjectID: strconv.FormatInt(participantID, 10),
			After: audit.State(map[string]any{"version": p.Version}), Reason: reason}); err != nil {
			return err
		}
		d := p.Data
		out = StaffView{ParticipantID: participantID, Version: p.Version, Complete: d.Complete(), Missing: d.Missing(),
			Masked: d.Masked(), Full: &d}
		return nil
	})
	return out, err
}

func (s *Store) openInto(sealed string, participantID int64, version int, d *tax.LegalData) error {
	plain, err := s.box.Open(sealed, profileAD(participantID, version))
	if err != nil {
		return fmt.Errorf("open tax profile of participant %d: %w", participantID, err)
	}
	if err := json.Unmarshal([]byte(plain), d); err != nil {
		return fmt.Errorf("decode tax profile of participant %d: %w", participantID, err)
	}
	return nil
}

// ImportProfiles saves the legal data of a registry file's rows for
// clientID's participants (found by phone), as actor's change, all or
// nothing: a row whose phone is no participant of the client is an error,
// and with any error nothing is saved. It returns how many were saved.
func (s *Store) ImportProfiles(ctx context.Context, clientID int64, rows []tax.ProfileRow, actor audit.Actor) (int, []tax.RowError, error) {
	phones := make([]string, len(rows))
	for i, r := range rows {
		phones[i] = r.Phone
	}
	var errs []tax.RowError
	saved := 0
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		errs, saved = nil, 0
		ids := map[string]int64{}
		rs, err := tx.Query(ctx, `SELECT phone, id FROM participants WHERE client_id = $1 AND phone = ANY($2)`, clientID, phones)
		if err != nil {
			return fmt.Errorf("find participants: %w", err)
		}
		for rs.Next() {
			var p string
			var id int64
			if err := rs.Scan(&p, &id); err != nil {
				rs.Close()
				return err
			}
			ids[p] = id
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		for _, r := range rows {
			if ids[r.Phone] == 0 {
				errs = append(errs, tax.RowError{Line: r.Line, Field: "phone", Message: "нет участника с таким телефоном"})
			}
		}
		if len(errs) > 0 {
			return nil
		}
		for _, r := range rows {
			if _, err := s.SaveProfile(ctx, clientID, ids[r.Phone], r.Data, actor); err != nil {
				return err
			}
			saved++
		}
		return nil
	})
	return saved, errs, err
}
