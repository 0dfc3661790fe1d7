// Package catalogdb stores clients' SKU catalogs (internal/catalog) in
// PostgreSQL: all-or-nothing imports, exports, loading a catalog for the
// matcher, and aliases confirmed by the client. Every change bumps the
// client's row in catalog_versions in the same transaction, so processes
// that cache a matcher see the change.
package catalogdb

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
)

// Store is the PostgreSQL catalog store.
type Store struct{ db *pgxpool.Pool }

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

// Errors of the store.
var (
	ErrClientNotFound = apperr.New(apperr.NotFound, "client_not_found", "Клиент не найден.")
	ErrSKUNotFound    = apperr.New(apperr.NotFound, "sku_not_found", "Товар не найден в каталоге.")
	ErrAliasTaken     = apperr.New(apperr.Conflict, "alias_taken", "Это написание уже закреплено за другим товаром.")
	ErrAliasEmpty     = apperr.New(apperr.Invalid, "alias_empty", "Написание товара пустое.")
	ErrOtherClient    = apperr.New(apperr.Invalid, "catalog_other_client", "В файле есть товары другого клиента.")
	ErrEmptyCatalog   = apperr.New(apperr.Invalid, "catalog_empty", "В файле нет ни одного товара.")
)

// Querier is a pool or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// ClientID returns the id of the client with code.
func ClientID(ctx context.Context, q Querier, code string) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM clients WHERE code = $1`, code).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrClientNotFound
	}
	return id, err
}

// ImportResult counts what an import changed.
type ImportResult struct {
	Inserted, Updated, Deactivated int
	// Version is the client's catalog version after the import.
	Version int64
}

// Import replaces the catalog of client code with skus, in one transaction:
// SKUs are inserted or updated by article code, SKUs missing from skus are
// deactivated (receipts may point at them, so they are never deleted),
// GTINs and catalog aliases are replaced, aliases the client confirmed are
// kept. If anything fails nothing changes. Every SKU's Client must be code
// (or empty).
func (s *Store) Import(ctx context.Context, code string, skus []catalog.SKU) (ImportResult, error) {
	if len(skus) == 0 {
		return ImportResult{}, ErrEmptyCatalog
	}
	for _, k := range skus {
		if k.Client != "" && k.Client != code {
			return ImportResult{}, apperr.Wrap(fmt.Errorf("sku %s belongs to %s", k.ID, k.Client),
				apperr.Invalid, ErrOtherClient.Code, ErrOtherClient.Message)
		}
	}
	var res ImportResult
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		res = ImportResult{}
		clientID, err := ClientID(ctx, tx, code)
		if err != nil {
			return err
		}
		codes := make([]string, len(skus))
		ids := make([]int64, len(skus))
		for i, k := range skus {
			codes[i] = k.ID
			var volume *int64
			if k.Volume > 0 {
				volume = &k.Volume
			}
			var inserted bool
			err := tx.QueryRow(ctx, `INSERT INTO skus (client_id, code, brand, name, category, volume_milli, unit, margin_weight_bp)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (client_id, code) DO UPDATE SET brand = EXCLUDED.brand, name = EXCLUDED.name,
				    category = EXCLUDED.category, volume_milli = EXCLUDED.volume_milli, unit = EXCLUDED.unit,
				    margin_weight_bp = EXCLUDED.margin_weight_bp, active = true
				RETURNING id, (xmax = 0)`,
				clientID, k.ID, k.Brand, k.Name, k.Category, volume, k.Unit, k.MarginWeight).Scan(&ids[i], &inserted)
			if err != nil {
				return fmt.Errorf("sku %s: %w", k.ID, err)
			}
			if inserted {
				res.Inserted++
			} else {
				res.Updated++
			}
		}
		tag, err := tx.Exec(ctx, `UPDATE skus SET active = false WHERE client_id = $1 AND active AND code <> ALL($2)`, clientID, codes)
		if err != nil {
			return err
		}
		res.Deactivated = int(tag.RowsAffected())
		if _, err := tx.Exec(ctx, `DELETE FROM sku_gtins WHERE client_id = $1`, clientID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sku_aliases WHERE client_id = $1 AND source = 'catalog'`, clientID); err != nil {
			return err
		}
		for i, k := range skus {
			for _, g := range k.GTINs {
				if _, err := tx.Exec(ctx, `INSERT INTO sku_gtins (client_id, gtin, sku_id) VALUES ($1, $2, $3)`,
					clientID, g, ids[i]); err != nil {
					return fmt.Errorf("sku %s gtin %s: %w", k.ID, g, err)
				}
			}
			for _, a := range k.Aliases {
				// The file is the client's word: it takes an alias over.
				if _, err := tx.Exec(ctx, `INSERT INTO sku_aliases (client_id, sku_id, alias, source) VALUES ($1, $2, $3, 'catalog')
					ON CONFLICT (client_id, alias) DO UPDATE SET sku_id = EXCLUDED.sku_id, source = 'catalog'`,
					clientID, ids[i], a); err != nil {
					return fmt.Errorf("sku %s alias %q: %w", k.ID, a, err)
				}
			}
		}
		res.Version, err = bumpVersion(ctx, tx, clientID)
		return err
	})
	if err != nil {
		if postgres.IsUniqueViolation(err, "sku_gtins_pkey") {
			return ImportResult{}, apperr.Wrap(err, apperr.Invalid, "catalog_duplicate_gtin", "Один штрихкод указан у нескольких товаров.")
		}
		if c := postgres.ConstraintViolated(err); c != "" {
			return ImportResult{}, apperr.Wrap(err, apperr.Invalid, "catalog_invalid", "Каталог не прошёл проверку: "+c+".")
		}
		return ImportResult{}, err
	}
	return res, nil
}

func bumpVersion(ctx context.Context, tx pgx.Tx, clientID int64) (int64, error) {
	var v int64
	err := tx.QueryRow(ctx, `INSERT INTO catalog_versions (client_id) VALUES ($1)
		ON CONFLICT (client_id) DO UPDATE SET version = catalog_versions.version + 1, updated_at = now()
		RETURNING version`, clientID).Scan(&v)
	return v, err
}

// Version returns the client's catalog version (0: never imported).
func Version(ctx context.Context, q Querier, clientID int64) (int64, error) {
	var v int64
	err := q.QueryRow(ctx, `SELECT version FROM catalog_versions WHERE client_id = $1`, clientID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// Version implements points.Catalogs: Version in the transaction ctx
// carries (else in one of its own).
func (s *Store) Version(ctx context.Context, clientID int64) (int64, error) {
	var v int64
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		v, err = Version(ctx, tx, clientID)
		return err
	})
	return v, err
}

// Active implements points.Catalogs: Load in the transaction ctx carries
// (else in one of its own).
func (s *Store) Active(ctx context.Context, clientID int64) (catalog.Active, error) {
	var c catalog.Active
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		c, err = Load(ctx, tx, clientID)
		return err
	})
	return c, err
}

// Load reads the client's active SKUs with their GTINs and aliases (both
// sources), ordered by article code, and the catalog version, through q.
func Load(ctx context.Context, q Querier, clientID int64) (catalog.Active, error) {
	c := catalog.Active{ClientID: clientID, IDs: map[string]int64{}}
	var code string
	if err := q.QueryRow(ctx, `SELECT c.code, COALESCE(v.version, 0) FROM clients c
		LEFT JOIN catalog_versions v ON v.client_id = c.id WHERE c.id = $1`, clientID).Scan(&code, &c.Version); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return c, ErrClientNotFound
		}
		return c, err
	}
	rows, err := q.Query(ctx, `SELECT id, code, brand, name, category, COALESCE(volume_milli, 0), unit, margin_weight_bp
		FROM skus WHERE client_id = $1 AND active ORDER BY code COLLATE "C"`, clientID)
	if err != nil {
		return c, err
	}
	byID := map[int64]int{}
	for rows.Next() {
		var id int64
		k := catalog.SKU{Client: code}
		if err := rows.Scan(&id, &k.ID, &k.Brand, &k.Name, &k.Category, &k.Volume, &k.Unit, &k.MarginWeight); err != nil {
			rows.Close()
			return c, err
		}
		byID[id] = len(c.SKUs)
		c.IDs[k.ID] = id
		c.SKUs = append(c.SKUs, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return c, err
	}
	rows, err = q.Query(ctx, `SELECT sku_id, gtin, 'g' FROM sku_gtins WHERE client_id = $1
		UNION ALL SELECT sku_id, alias, 'a' FROM sku_aliases WHERE client_id = $1 ORDER BY 3, 2`, clientID)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var v, kind string
		if err := rows.Scan(&id, &v, &kind); err != nil {
			return c, err
		}
		i, ok := byID[id]
		if !ok {
			continue // an inactive SKU
		}
		if kind == "g" {
			c.SKUs[i].GTINs = append(c.SKUs[i].GTINs, v)
		} else {
			c.SKUs[i].Aliases = append(c.SKUs[i].Aliases, v)
		}
	}
	return c, rows.Err()
}

// Export returns the client's active catalog, ready for catalog.WriteCSV or
// WriteXLSX.
func (s *Store) Export(ctx context.Context, code string) ([]catalog.SKU, error) {
	id, err := ClientID(ctx, s.db, code)
	if err != nil {
		return nil, err
	}
	c, err := Load(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	sort.Slice(c.SKUs, func(i, j int) bool { return c.SKUs[i].ID < c.SKUs[j].ID })
	return c.SKUs, nil
}

// ConfirmAlias records that receipt lines printed as alias are the SKU with
// article code skuCode (source 'confirmed'), so the matcher maps them next
// time. Confirming the same alias for the same SKU again is a no-op; an
// alias held by another SKU is ErrAliasTaken.
func (s *Store) ConfirmAlias(ctx context.Context, clientID int64, skuCode, alias string) error {
	if err := catalog.CheckAliasLength(alias); err != nil {
		return err
	}
	if catalog.Normalize(alias) == "" {
		return ErrAliasEmpty
	}
	return postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		var skuID int64
		err := tx.QueryRow(ctx, `SELECT id FROM skus WHERE client_id = $1 AND code = $2 AND active`, clientID, skuCode).Scan(&skuID)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrSKUNotFound
		}
		if err != nil {
			return err
		}
		var holder int64
		err = tx.QueryRow(ctx, `INSERT INTO sku_aliases (client_id, sku_id, alias, source) VALUES ($1, $2, $3, 'confirmed')
			ON CONFLICT (client_id, alias) DO UPDATE SET alias = EXCLUDED.alias RETURNING sku_id`,
			clientID, skuID, alias).Scan(&holder)
		if err != nil {
			return err
		}
		if holder != skuID {
			return ErrAliasTaken
		}
		_, err = bumpVersion(ctx, tx, clientID)
		return err
	})
}
