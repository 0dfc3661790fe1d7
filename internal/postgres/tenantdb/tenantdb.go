// Package tenantdb is the PostgreSQL store of clients, their staff
// accounts (dashboard_users) and staff invitations (tenant.Store). Every
// change records its audit entry in the same transaction.
package tenantdb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/tenant"
)

// Store implements tenant.Store.
type Store struct {
	db  *pgxpool.Pool
	rec audit.Recorder
}

var _ tenant.Store = (*Store)(nil)

// New returns a Store on db recording audit entries with rec
// (*auditdb.Store, which joins the store's transaction).
func New(db *pgxpool.Pool, rec audit.Recorder) *Store { return &Store{db: db, rec: rec} }

// record fills e from the change and records it in ctx's transaction. A
// staff actor without a name is named by their account (name or e-mail).
func (s *Store) record(ctx context.Context, tx pgx.Tx, e audit.Entry, clientID int64, objectID int64, before, after any) error {
	e.ClientID = clientID
	e.ObjectID = strconv.FormatInt(objectID, 10)
	e.Before, e.After = audit.State(before), audit.State(after)
	if e.Actor.Kind == audit.Staff && e.Actor.Name == "" && e.Actor.ID > 0 {
		if err := tx.QueryRow(ctx, `SELECT CASE WHEN name <> '' AND name <> email THEN name || ' <' || email || '>' ELSE email END
			FROM dashboard_users WHERE id = $1`, e.Actor.ID).Scan(&e.Actor.Name); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("audit actor name: %w", err)
		}
	}
	return s.rec.Record(ctx, e)
}

// ---- clients

const clientCols = `id, code, name, COALESCE(inn, ''), contact_name, contact_email, contact_phone, timezone, created_at, updated_at`

func scanClient(row pgx.Row) (tenant.Client, error) {
	var c tenant.Client
	err := row.Scan(&c.ID, &c.Code, &c.Name, &c.INN, &c.ContactName, &c.ContactEmail, &c.ContactPhone, &c.TimeZone, &c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, tenant.ErrClientNotFound
	}
	return c, err
}

func clientErr(err error) error {
	switch postgres.ConstraintViolated(err) {
	case "":
		return err
	case "clients_code_key":
		return tenant.ErrClientExists
	case "clients_timezone_iana":
		return tenant.TimeZone("")
	}
	return fmt.Errorf("store client: %w", err)
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CreateClient implements tenant.Store.
func (s *Store) CreateClient(ctx context.Context, c tenant.Client, e audit.Entry) (tenant.Client, error) {
	var out tenant.Client
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = scanClient(tx.QueryRow(ctx, `INSERT INTO clients (code, name, inn, contact_name, contact_email, contact_phone, timezone)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+clientCols,
			c.Code, c.Name, nullText(c.INN), c.ContactName, c.ContactEmail, c.ContactPhone, c.TimeZone))
		if err != nil {
			return clientErr(err)
		}
		return s.record(ctx, tx, e, out.ID, out.ID, nil, out)
	})
	return out, err
}

// Client implements tenant.Store.
func (s *Store) Client(ctx context.Context, id int64) (tenant.Client, error) {
	return scanClient(s.db.QueryRow(ctx, `SELECT `+clientCols+` FROM clients WHERE id = $1`, id))
}

// ClientByCode implements tenant.Store.
func (s *Store) ClientByCode(ctx context.Context, code string) (tenant.Client, error) {
	return scanClient(s.db.QueryRow(ctx, `SELECT `+clientCols+` FROM clients WHERE code = $1`, code))
}

// Clients implements tenant.Store.
func (s *Store) Clients(ctx context.Context) ([]tenant.Client, error) {
	rows, err := s.db.Query(ctx, `SELECT `+clientCols+` FROM clients ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	defer rows.Close()
	var out []tenant.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpdateClient implements tenant.Store.
func (s *Store) UpdateClient(ctx context.Context, id int64, fn func(*tenant.Client) error, e audit.Entry) (tenant.Client, error) {
	var out tenant.Client
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		before, err := scanClient(tx.QueryRow(ctx, `SELECT `+clientCols+` FROM clients WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		c := before
		if err := fn(&c); err != nil {
			return err
		}
		out, err = scanClient(tx.QueryRow(ctx, `UPDATE clients SET name = $2, inn = $3, contact_name = $4, contact_email = $5,
			contact_phone = $6, timezone = $7, updated_at = now() WHERE id = $1 RETURNING `+clientCols,
			id, c.Name, nullText(c.INN), c.ContactName, c.ContactEmail, c.ContactPhone, c.TimeZone))
		if err != nil {
			return clientErr(err)
		}
		return s.record(ctx, tx, e, id, id, before, out)
	})
	return out, err
}

// ---- invitations

const invCols = `id, client_id, email, name, role, COALESCE(invited_by, 0), created_at, expires_at, email_sent_at, email_error,
	accepted_at, COALESCE(user_id, 0), revoked_at, token_hash`

func scanInv(row pgx.Row) (tenant.Invitation, error) {
	var i tenant.Invitation
	var role string
	err := row.Scan(&i.ID, &i.ClientID, &i.Email, &i.Name, &role, &i.InvitedBy, &i.CreatedAt, &i.ExpiresAt, &i.EmailSentAt,
		&i.EmailError, &i.AcceptedAt, &i.UserID, &i.RevokedAt, &i.TokenHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return i, tenant.ErrInvitationNotFound
	}
	i.Role = access.Role(role)
	return i, err
}

func nullID(id int64) *int64 {
	if id <= 0 {
		return nil
	}
	return &id
}

// CreateInvitation implements tenant.Store.
func (s *Store) CreateInvitation(ctx context.Context, inv tenant.Invitation, e audit.Entry) (tenant.Invitation, error) {
	var out tenant.Invitation
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		// An active account has the address: taken. A deactivated one of
		// the same client may be invited back (accepting reactivates it).
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM dashboard_users WHERE lower(email) = lower($1)
			AND (deactivated_at IS NULL OR client_id IS DISTINCT FROM $2))`, inv.Email, inv.ClientID).Scan(&taken); err != nil {
			return fmt.Errorf("check staff e-mail: %w", err)
		}
		if taken {
			return tenant.ErrEmailTaken
		}
		// A newer invitation of the same address in the same client
		// replaces the pending one (its link stops working).
		prev, err := scanInv(tx.QueryRow(ctx, `SELECT `+invCols+` FROM staff_invitations
			WHERE lower(email) = lower($1) AND accepted_at IS NULL AND revoked_at IS NULL FOR UPDATE`, inv.Email))
		switch {
		case errors.Is(err, tenant.ErrInvitationNotFound):
		case err != nil:
			return err
		case prev.ClientID != inv.ClientID:
			return tenant.ErrEmailTaken
		default:
			if _, err := tx.Exec(ctx, `UPDATE staff_invitations SET revoked_at = $2 WHERE id = $1`, prev.ID, inv.CreatedAt); err != nil {
				return fmt.Errorf("revoke previous invitation: %w", err)
			}
		}
		out, err = scanInv(tx.QueryRow(ctx, `INSERT INTO staff_invitations (client_id, email, name, role, token_hash, invited_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+invCols,
			inv.ClientID, inv.Email, inv.Name, string(inv.Role), inv.TokenHash, nullID(inv.InvitedBy), inv.CreatedAt, inv.ExpiresAt))
		if postgres.IsUniqueViolation(err, "staff_invitations_pending_email") {
			return tenant.ErrEmailTaken
		}
		if err != nil {
			return fmt.Errorf("insert invitation: %w", err)
		}
		var before any
		if prev.ID != 0 {
			before = prev
		}
		return s.record(ctx, tx, e, out.ClientID, out.ID, before, out)
	})
	return out, err
}

// InvitationSent implements tenant.Store.
func (s *Store) InvitationSent(ctx context.Context, id int64, at time.Time, sendErr string) error {
	var sent *time.Time
	if sendErr == "" {
		sent = &at
	}
	if len(sendErr) > 500 {
		sendErr = sendErr[:500]
	}
	_, err := s.db.Exec(ctx, `UPDATE staff_invitations SET email_sent_at = $2, email_error = $3 WHERE id = $1`, id, sent, sendErr)
	if err != nil {
		return fmt.Errorf("record invitation delivery: %w", err)
	}
	return nil
}

// Invitation implements tenant.Store.
func (s *Store) Invitation(ctx context.Context, id int64) (tenant.Invitation, error) {
	return scanInv(s.db.QueryRow(ctx, `SELECT `+invCols+` FROM staff_invitations WHERE id = $1`, id))
}

// InvitationByToken implements tenant.Store.
func (s *Store) InvitationByToken(ctx context.Context, hash []byte) (tenant.Invitation, error) {
	i, err := scanInv(s.db.QueryRow(ctx, `SELECT `+invCols+` FROM staff_invitations WHERE token_hash = $1`, hash))
	if errors.Is(err, tenant.ErrInvitationNotFound) {
		return i, tenant.ErrInvitationInvalid
	}
	return i, err
}

// Invitations implements tenant.Store.
func (s *Store) Invitations(ctx context.Context, clientID int64) ([]tenant.Invitation, error) {
	rows, err := s.db.Query(ctx, `SELECT `+invCols+` FROM staff_invitations WHERE client_id = $1 ORDER BY id DESC LIMIT 500`, clientID)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	defer rows.Close()
	var out []tenant.Invitation
	for rows.Next() {
		i, err := scanInv(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// RevokeInvitation implements tenant.Store.
func (s *Store) RevokeInvitation(ctx context.Context, id int64, now time.Time, e audit.Entry) (tenant.Invitation, error) {
	var out tenant.Invitation
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		before, err := scanInv(tx.QueryRow(ctx, `SELECT `+invCols+` FROM staff_invitations WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		out = before
		switch {
		case before.AcceptedAt != nil:
			return tenant.ErrInvitationUsed
		case before.RevokedAt != nil:
			return nil
		}
		if out, err = scanInv(tx.QueryRow(ctx, `UPDATE staff_invitations SET revoked_at = $2 WHERE id = $1 RETURNING `+invCols, id, now)); err != nil {
			return err
		}
		return s.record(ctx, tx, e, out.ClientID, out.ID, before, out)
	})
	return out, err
}

// AcceptInvitation implements tenant.Store.
func (s *Store) AcceptInvitation(ctx context.Context, hash []byte, now time.Time, name, passwordHash string, e audit.Entry) (tenant.Member, error) {
	var m tenant.Member
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		inv, err := scanInv(tx.QueryRow(ctx, `SELECT `+invCols+` FROM staff_invitations WHERE token_hash = $1 FOR UPDATE`, hash))
		if errors.Is(err, tenant.ErrInvitationNotFound) {
			return tenant.ErrInvitationInvalid
		}
		if err != nil {
			return err
		}
		switch inv.State(now) {
		case "accepted":
			return tenant.ErrInvitationUsed
		case "revoked":
			return tenant.ErrInvitationRevoked
		case "expired":
			return tenant.ErrInvitationExpired
		}
		// A deactivated account of the same client comes back with the new
		// password and role; otherwise a new account.
		prev, err := scanMember(tx.QueryRow(ctx, `SELECT `+memberCols+` FROM dashboard_users
			WHERE lower(email) = lower($1) AND client_id = $2 AND deactivated_at IS NOT NULL FOR UPDATE`, inv.Email, inv.ClientID))
		var before any
		switch {
		case err == nil:
			before = prev
			m, err = scanMember(tx.QueryRow(ctx, `UPDATE dashboard_users SET name = $2, role = $3, password_hash = $4, invited_by = $5,
				deactivated_at = NULL, failed_logins = 0, locked_until = NULL WHERE id = $1 RETURNING `+memberCols,
				prev.ID, name, string(inv.Role), passwordHash, nullID(inv.InvitedBy)))
		case errors.Is(err, tenant.ErrMemberNotFound):
			m, err = scanMember(tx.QueryRow(ctx, `INSERT INTO dashboard_users (client_id, email, name, role, password_hash, invited_by)
				VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+memberCols,
				inv.ClientID, inv.Email, name, string(inv.Role), passwordHash, nullID(inv.InvitedBy)))
		}
		if postgres.IsUniqueViolation(err, "dashboard_users_email_key") {
			return tenant.ErrEmailTaken
		}
		if err != nil {
			return fmt.Errorf("create staff user: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE staff_invitations SET accepted_at = $2, user_id = $3 WHERE id = $1`, inv.ID, now, m.ID); err != nil {
			return fmt.Errorf("mark invitation accepted: %w", err)
		}
		e.Actor.ID = m.ID
		e.Reason = "приглашение №" + strconv.FormatInt(inv.ID, 10)
		return s.record(ctx, tx, e, m.ClientID, m.ID, before, m)
	})
	return m, err
}

// ---- staff

const memberCols = `id, COALESCE(client_id, 0), email, name, role, created_at, deactivated_at`

func scanMember(row pgx.Row) (tenant.Member, error) {
	var m tenant.Member
	var role string
	err := row.Scan(&m.ID, &m.ClientID, &m.Email, &m.Name, &role, &m.CreatedAt, &m.DeactivatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, tenant.ErrMemberNotFound
	}
	m.Role = access.Role(role)
	return m, err
}

// Member implements tenant.Store.
func (s *Store) Member(ctx context.Context, id int64) (tenant.Member, error) {
	return scanMember(s.db.QueryRow(ctx, `SELECT `+memberCols+` FROM dashboard_users WHERE id = $1`, id))
}

// Members implements tenant.Store.
func (s *Store) Members(ctx context.Context, clientID int64) ([]tenant.Member, error) {
	rows, err := s.db.Query(ctx, `SELECT `+memberCols+` FROM dashboard_users
		WHERE client_id IS NOT DISTINCT FROM $1 ORDER BY deactivated_at IS NOT NULL, lower(email)`, nullID(clientID))
	if err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	defer rows.Close()
	var out []tenant.Member
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Deactivate implements tenant.Store.
func (s *Store) Deactivate(ctx context.Context, id int64, now time.Time, e audit.Entry) (tenant.Member, error) {
	var out tenant.Member
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		before, err := scanMember(tx.QueryRow(ctx, `SELECT `+memberCols+` FROM dashboard_users WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		out = before
		if before.DeactivatedAt != nil {
			return nil
		}
		if out, err = scanMember(tx.QueryRow(ctx, `UPDATE dashboard_users SET deactivated_at = $2 WHERE id = $1 RETURNING `+memberCols, id, now)); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM dashboard_sessions WHERE user_id = $1`, id)
		if err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		type state struct {
			tenant.Member
			Sessions int64 `json:"sessions_ended,omitempty"`
		}
		return s.record(ctx, tx, e, out.ClientID, id, before, state{out, tag.RowsAffected()})
	})
	return out, err
}

// CreateOperator creates a platform operator's account (no client) with
// passwordHash, audit-logged as by's "staff.create_operator" in the same
// transaction. tenant.ErrEmailTaken if any dashboard account has the
// e-mail.
func (s *Store) CreateOperator(ctx context.Context, by audit.Actor, email, name, passwordHash string) (tenant.Member, error) {
	var m tenant.Member
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		m, err = scanMember(tx.QueryRow(ctx, `INSERT INTO dashboard_users (client_id, email, name, role, password_hash)
			VALUES (NULL, $1, $2, 'operator', $3) RETURNING `+memberCols, email, name, passwordHash))
		if postgres.IsUniqueViolation(err, "dashboard_users_email_key") {
			return tenant.ErrEmailTaken
		}
		if err != nil {
			return fmt.Errorf("create operator: %w", err)
		}
		e := audit.Entry{Actor: by, Action: "staff.create_operator", ObjectKind: "staff"}
		return s.record(ctx, tx, e, 0, m.ID, nil, m)
	})
	return m, err
}
