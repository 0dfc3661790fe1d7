package reportdb

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/registry"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

// Uploads lists the client's participant registries and the program's
// points registries, newest first (at most 100).
func (s *Store) Uploads(ctx context.Context, clientID, programID int64) ([]report.Upload, error) {
	rows, err := s.db.Query(ctx, `SELECT u.id, u.kind, COALESCE(u.period, ''), u.status, u.file_name,
		u.rows_total, u.error_count, u.needs_second_approval, COALESCE(d.name, d.email, ''), u.created_at
		FROM registry_uploads u LEFT JOIN dashboard_users d ON d.id = u.uploaded_by
		WHERE u.client_id = $1 AND (u.kind = 'participants' OR u.program_id = $2)
		ORDER BY u.created_at DESC, u.id DESC LIMIT 100`, clientID, programID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.Upload, error) {
		var u report.Upload
		var kind, status string
		err := r.Scan(&u.ID, &kind, &u.Period, &status, &u.FileName, &u.Rows, &u.Errors, &u.SecondOK, &u.UploadedBy, &u.CreatedAt)
		u.Kind, u.Status = registry.Kind(kind), registry.Status(status)
		return u, err
	})
}

// Shops lists the client's shops by name (at most 1000).
func (s *Store) Shops(ctx context.Context, clientID int64) ([]report.Shop, error) {
	rows, err := s.db.Query(ctx, `SELECT id, code, name, COALESCE(address, '') FROM shops
		WHERE client_id = $1 ORDER BY name, id LIMIT 1000`, clientID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.Shop, error) {
		var o report.Shop
		err := r.Scan(&o.ID, &o.Code, &o.Name, &o.Address)
		return o, err
	})
}

// Contacts returns the names and phones of the client's participants
// among ids, by id; ids of other clients are left out.
func (s *Store) Contacts(ctx context.Context, clientID int64, ids []int64) (map[int64]report.Contact, error) {
	rows, err := s.db.Query(ctx, `SELECT id, COALESCE(name, ''), phone FROM participants WHERE client_id = $1 AND id = ANY($2)`,
		clientID, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]report.Contact{}
	for rows.Next() {
		var id int64
		var x report.Contact
		if err := rows.Scan(&id, &x.Name, &x.Phone); err != nil {
			return nil, err
		}
		out[id] = x
	}
	return out, rows.Err()
}

// Places returns the names, addresses and positions of the client's shops
// among ids, by id; ids of other clients are left out.
func (s *Store) Places(ctx context.Context, clientID int64, ids []int64) (map[int64]report.Place, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, COALESCE(address, ''), lat, lon FROM shops WHERE client_id = $1 AND id = ANY($2)`,
		clientID, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]report.Place{}
	for rows.Next() {
		var id int64
		var x report.Place
		if err := rows.Scan(&id, &x.Name, &x.Address, &x.Lat, &x.Lon); err != nil {
			return nil, err
		}
		out[id] = x
	}
	return out, rows.Err()
}
