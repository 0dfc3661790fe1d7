package reportdb

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

// SKUs returns the client's catalog, by article code.
func (s *Store) SKUs(ctx context.Context, clientID int64) ([]report.SKU, error) {
	rows, err := s.db.Query(ctx, `SELECT k.id, k.active, c.code, k.code, k.brand, k.name, k.category, COALESCE(k.volume_milli, 0), k.unit,
		k.margin_weight_bp,
		COALESCE((SELECT array_agg(g.gtin ORDER BY g.gtin) FROM sku_gtins g WHERE g.client_id = k.client_id AND g.sku_id = k.id), '{}'),
		COALESCE((SELECT array_agg(a.alias ORDER BY a.alias) FROM sku_aliases a WHERE a.client_id = k.client_id AND a.sku_id = k.id), '{}')
		FROM skus k JOIN clients c ON c.id = k.client_id WHERE k.client_id = $1 ORDER BY k.code`, clientID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.SKU, error) {
		var k report.SKU
		err := r.Scan(&k.DBID, &k.Active, &k.Client, &k.ID, &k.Brand, &k.Name, &k.Category, &k.Volume, &k.Unit,
			&k.MarginWeight, &k.GTINs, &k.Aliases)
		return k, err
	})
}

// SetMarginWeight changes a SKU's margin weight (basis points) and bumps the
// client's catalog version so matchers and rules see it.
func (s *Store) SetMarginWeight(ctx context.Context, clientID, skuID, bp int64) error {
	if bp <= 0 || bp > 100000 {
		return report.ErrBadWeight
	}
	return postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE skus SET margin_weight_bp = $3 WHERE client_id = $1 AND id = $2`, clientID, skuID, bp)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return report.ErrNotFound
		}
		return bumpCatalog(ctx, tx, clientID)
	})
}

func bumpCatalog(ctx context.Context, tx pgx.Tx, clientID int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO catalog_versions (client_id) VALUES ($1)
		ON CONFLICT (client_id) DO UPDATE SET version = catalog_versions.version + 1, updated_at = now()`, clientID)
	return err
}

// ImportSKUs upserts skus into the client's catalog by article code (name,
// brand, category, pack, weight, GTINs added, aliases added as catalog
// aliases) in one transaction. SKUs not in the file are left as they are.
func (s *Store) ImportSKUs(ctx context.Context, clientID int64, skus []catalog.SKU) (int, error) {
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		for _, k := range skus {
			var vol *int64
			if k.Volume > 0 {
				vol = &k.Volume
			}
			var id int64
			err := tx.QueryRow(ctx, `INSERT INTO skus (client_id, code, brand, name, category, volume_milli, unit, margin_weight_bp)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
				ON CONFLICT (client_id, code) DO UPDATE SET brand = EXCLUDED.brand, name = EXCLUDED.name,
				category = EXCLUDED.category, volume_milli = EXCLUDED.volume_milli, unit = EXCLUDED.unit,
				margin_weight_bp = EXCLUDED.margin_weight_bp, active = true RETURNING id`,
				clientID, k.ID, k.Brand, k.Name, k.Category, vol, k.Unit, k.MarginWeight).Scan(&id)
			if err != nil {
				return fmt.Errorf("sku %s: %w", k.ID, err)
			}
			for _, g := range k.GTINs {
				if _, err := tx.Exec(ctx, `INSERT INTO sku_gtins (client_id, gtin, sku_id) VALUES ($1,$2,$3)
					ON CONFLICT (client_id, gtin) DO UPDATE SET sku_id = EXCLUDED.sku_id`, clientID, g, id); err != nil {
					return fmt.Errorf("sku %s gtin: %w", k.ID, err)
				}
			}
			for _, a := range k.Aliases {
				if _, err := tx.Exec(ctx, `INSERT INTO sku_aliases (client_id, sku_id, alias) VALUES ($1,$2,$3)
					ON CONFLICT (client_id, alias) DO NOTHING`, clientID, id, a); err != nil {
					return fmt.Errorf("sku %s alias: %w", k.ID, err)
				}
			}
		}
		return bumpCatalog(ctx, tx, clientID)
	})
	if err != nil {
		return 0, err
	}
	return len(skus), nil
}

// ConfirmAlias records that receipt lines named alias are SKU skuID of the
// client (source 'confirmed'); a confirmed alias replaces an older mapping.
func (s *Store) ConfirmAlias(ctx context.Context, clientID, skuID int64, alias string) error {
	if alias == "" {
		return apperr.New(apperr.Invalid, "alias_empty", "Пустое название строки.")
	}
	if err := catalog.CheckAliasLength(alias); err != nil {
		return err
	}
	return postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM skus WHERE client_id = $1 AND id = $2)`, clientID, skuID).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return report.ErrNotFound
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sku_aliases (client_id, sku_id, alias, source) VALUES ($1,$2,$3,'confirmed')
			ON CONFLICT (client_id, alias) DO UPDATE SET sku_id = EXCLUDED.sku_id, source = 'confirmed'`,
			clientID, skuID, alias); err != nil {
			return err
		}
		return bumpCatalog(ctx, tx, clientID)
	})
}

// Rules returns p's rule versions, newest first.
func (s *Store) Rules(ctx context.Context, p report.Program) ([]report.RuleVersion, error) {
	rows, err := s.db.Query(ctx, `SELECT version, effective_from, body::text, created_at FROM program_rules r
		WHERE program_id = $1 AND EXISTS (SELECT 1 FROM programs WHERE id = $1 AND client_id = $2)
		ORDER BY version DESC`, p.ID, p.ClientID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.RuleVersion, error) {
		var v report.RuleVersion
		var body string
		err := r.Scan(&v.Version, &v.EffectiveFrom, &body, &v.CreatedAt)
		v.Body = []byte(body)
		return v, err
	})
}

// SetClientTimeZone sets the zone the dashboard shows client code's times
// in (clients.timezone). Returns ErrBadTimeZone for a zone the column's
// check refuses (and Go could not load), ErrNotFound for an unknown client.
func (s *Store) SetClientTimeZone(ctx context.Context, code, zone string) error {
	if _, err := time.LoadLocation(zone); err != nil || zone == "" || zone == "Local" {
		return report.ErrBadTimeZone
	}
	tag, err := s.db.Exec(ctx, `UPDATE clients SET timezone = $2 WHERE code = $1`, code, zone)
	if postgres.ConstraintViolated(err) == "clients_timezone_iana" {
		return report.ErrBadTimeZone
	}
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return report.ErrNotFound
	}
	return nil
}
