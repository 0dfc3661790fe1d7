// Package auditdb is the PostgreSQL store of the audit log (audit_log,
// append-only: a trigger refuses UPDATE and DELETE).
package auditdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
)

// Store is the audit log store.
type Store struct {
	db *pgxpool.Pool
}

var _ audit.Recorder = (*Store)(nil)

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

// Record implements audit.Recorder: it inserts e in the transaction ctx
// carries (postgres.ContextWithTx), else in one of its own.
func (s *Store) Record(ctx context.Context, e audit.Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	return postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		var actorID *int64
		if e.Actor.ID > 0 {
			actorID = &e.Actor.ID
		}
		_, err := tx.Exec(ctx, `INSERT INTO audit_log
			(client_id, actor_kind, actor_id, actor_name, action, object_kind, object_id, before, after, reason, source_ip)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			nullID(e.ClientID), string(e.Actor.Kind), actorID, e.Actor.Name, e.Action, e.ObjectKind, e.ObjectID,
			nullJSON(e.Before), nullJSON(e.After), e.Reason, e.Actor.IP)
		if err != nil {
			return fmt.Errorf("record audit entry %s: %w", e.Action, err)
		}
		return nil
	})
}

// List returns entries matching f, newest first, at most f.Limit (1..1000,
// default 100). A filter without AllClients and with ClientID 0 lists the
// platform-level entries only, so a missing client never widens a view.
func (s *Store) List(ctx context.Context, f audit.Filter) ([]audit.Entry, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if !f.AllClients {
		if f.ClientID > 0 {
			where = append(where, "client_id = "+arg(f.ClientID))
		} else {
			where = append(where, "client_id IS NULL")
		}
	}
	if f.Action != "" {
		where = append(where, "starts_with(action, "+arg(f.Action)+")")
	}
	if f.ObjectKind != "" {
		where = append(where, "object_kind = "+arg(f.ObjectKind))
	}
	if f.ObjectID != "" {
		where = append(where, "object_id = "+arg(f.ObjectID))
	}
	if f.ActorID > 0 {
		where = append(where, "actor_id = "+arg(f.ActorID))
	}
	if !f.From.IsZero() {
		where = append(where, "at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "at < "+arg(f.To))
	}
	if f.BeforeID > 0 {
		where = append(where, "id < "+arg(f.BeforeID))
	}
	q := `SELECT id, at, COALESCE(client_id, 0), actor_kind, COALESCE(actor_id, 0), actor_name, source_ip,
		action, object_kind, object_id, before, after, reason FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT " + arg(limit)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		var e audit.Entry
		var kind string
		var before, after []byte
		if err := rows.Scan(&e.ID, &e.At, &e.ClientID, &kind, &e.Actor.ID, &e.Actor.Name, &e.Actor.IP,
			&e.Action, &e.ObjectKind, &e.ObjectID, &before, &after, &e.Reason); err != nil {
			return nil, fmt.Errorf("scan audit entry: %w", err)
		}
		e.Actor.Kind = audit.ActorKind(kind)
		e.Before, e.After = before, after
		out = append(out, e)
	}
	return out, rows.Err()
}

func nullID(id int64) *int64 {
	if id <= 0 {
		return nil
	}
	return &id
}

func nullJSON(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
