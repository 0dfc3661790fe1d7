package authdb

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// ProgramTerms is what a participant reads about one program: how it
// credits, its rules in force (raw JSON, nil when it has none yet).
type ProgramTerms struct {
	Program
	Crediting    string
	RulesVersion int
	RulesFrom    time.Time
	Rules        []byte
}

// SKU is a client's active SKU as the program screen lists it.
type SKU struct {
	Code, Brand, Name, Category string
	MarginBP                    int64
}

// Support is the client's contact for participants ("" fields: not given).
type Support struct{ Name, Email, Phone string }

// ProgramTerms returns the client's programs with the statuses, each with
// the rules version in force on day.
func (s *Store) ProgramTerms(ctx context.Context, clientID int64, day time.Time, statuses ...string) ([]ProgramTerms, error) {
	rows, err := s.db.Query(ctx, `SELECT p.id, p.code, p.name, p.status, p.starts_on, p.ends_on, p.crediting,
			COALESCE(r.version, 0), COALESCE(r.effective_from, p.starts_on), r.body
		FROM programs p
		LEFT JOIN LATERAL (SELECT version, effective_from, body FROM program_rules
			WHERE program_id = p.id AND effective_from <= $3::date
			ORDER BY effective_from DESC, version DESC LIMIT 1) r ON true
		WHERE p.client_id = $1 AND p.status = ANY($2) ORDER BY p.starts_on DESC, p.id DESC`, clientID, statuses, day)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (ProgramTerms, error) {
		var p ProgramTerms
		err := row.Scan(&p.ID, &p.Code, &p.Name, &p.Status, &p.StartsOn, &p.EndsOn, &p.Crediting, &p.RulesVersion,
			&p.RulesFrom, &p.Rules)
		return p, err
	})
}

// SKUs returns the client's active SKUs, by brand and name (at most 500).
func (s *Store) SKUs(ctx context.Context, clientID int64) ([]SKU, error) {
	rows, err := s.db.Query(ctx, `SELECT code, brand, name, category, margin_weight_bp FROM skus
		WHERE client_id = $1 AND active ORDER BY brand, name, code LIMIT 500`, clientID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (SKU, error) {
		var k SKU
		err := row.Scan(&k.Code, &k.Brand, &k.Name, &k.Category, &k.MarginBP)
		return k, err
	})
}

// SupportOf returns the client's contact (migration 00130).
func (s *Store) SupportOf(ctx context.Context, clientID int64) (Support, error) {
	var c Support
	err := s.db.QueryRow(ctx, `SELECT contact_name, contact_email, contact_phone FROM clients WHERE id = $1`, clientID).
		Scan(&c.Name, &c.Email, &c.Phone)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, nil
	}
	return c, err
}
