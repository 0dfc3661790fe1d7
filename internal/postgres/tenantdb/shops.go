package tenantdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/tenant"
)

const shopCols = `id, client_id, code, name, COALESCE(inn, ''), kkt_reg_numbers, fn_numbers, address, chain, region, distributor, updated_at`

func scanShop(row pgx.Row) (tenant.Shop, error) {
	var s tenant.Shop
	err := row.Scan(&s.ID, &s.ClientID, &s.Code, &s.Name, &s.INN, &s.KKT, &s.FN, &s.Address, &s.Chain, &s.Region, &s.Distributor, &s.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, tenant.ErrShopNotFound
	}
	return s, err
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// ImportShops implements tenant.Store.
func (s *Store) ImportShops(ctx context.Context, clientID int64, shops []tenant.Shop, e audit.Entry) (tenant.ImportResult, error) {
	var res tenant.ImportResult
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		res = tenant.ImportResult{}
		b := &pgx.Batch{}
		for _, sh := range shops {
			b.Queue(`INSERT INTO shops (client_id, code, name, inn, kkt_reg_numbers, fn_numbers, address, chain, region, distributor)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
				ON CONFLICT (client_id, code) DO UPDATE SET name = EXCLUDED.name, inn = EXCLUDED.inn,
					kkt_reg_numbers = EXCLUDED.kkt_reg_numbers, fn_numbers = EXCLUDED.fn_numbers, address = EXCLUDED.address,
					chain = EXCLUDED.chain, region = EXCLUDED.region, distributor = EXCLUDED.distributor, updated_at = now()
				RETURNING xmax = 0`,
				clientID, sh.Code, sh.Name, nullText(sh.INN), nonNil(sh.KKT), nonNil(sh.FN), sh.Address, sh.Chain, sh.Region, sh.Distributor)
		}
		br := tx.SendBatch(ctx, b)
		for range shops {
			var inserted bool
			if err := br.QueryRow().Scan(&inserted); err != nil {
				_ = br.Close()
				return fmt.Errorf("import shop: %w", err)
			}
			if inserted {
				res.Created++
			} else {
				res.Updated++
			}
		}
		if err := br.Close(); err != nil {
			return fmt.Errorf("import shops: %w", err)
		}
		codes := make([]string, 0, min(len(shops), 1000))
		for _, sh := range shops[:min(len(shops), 1000)] {
			codes = append(codes, sh.Code)
		}
		return s.record(ctx, tx, e, clientID, clientID, nil, map[string]any{"created": res.Created, "updated": res.Updated, "codes": codes})
	})
	return res, err
}

// Shops implements tenant.Store.
func (s *Store) Shops(ctx context.Context, clientID int64) ([]tenant.Shop, error) {
	rows, err := s.db.Query(ctx, `SELECT `+shopCols+` FROM shops WHERE client_id = $1 ORDER BY code LIMIT 100000`, clientID)
	if err != nil {
		return nil, fmt.Errorf("list shops: %w", err)
	}
	defer rows.Close()
	out := []tenant.Shop{}
	for rows.Next() {
		sh, err := scanShop(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sh)
	}
	return out, rows.Err()
}

// Shop implements tenant.Store.
func (s *Store) Shop(ctx context.Context, id int64) (tenant.Shop, error) {
	return scanShop(s.db.QueryRow(ctx, `SELECT `+shopCols+` FROM shops WHERE id = $1`, id))
}

// UpdateShop implements tenant.Store.
func (s *Store) UpdateShop(ctx context.Context, id int64, fn func(*tenant.Shop) error, e audit.Entry) (tenant.Shop, error) {
	var out tenant.Shop
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		before, err := scanShop(tx.QueryRow(ctx, `SELECT `+shopCols+` FROM shops WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		sh := before
		if err := fn(&sh); err != nil {
			return err
		}
		out, err = scanShop(tx.QueryRow(ctx, `UPDATE shops SET name = $2, inn = $3, kkt_reg_numbers = $4, fn_numbers = $5, address = $6,
			chain = $7, region = $8, distributor = $9, updated_at = now() WHERE id = $1 RETURNING `+shopCols,
			id, sh.Name, nullText(sh.INN), nonNil(sh.KKT), nonNil(sh.FN), sh.Address, sh.Chain, sh.Region, sh.Distributor))
		if err != nil {
			return fmt.Errorf("update shop: %w", err)
		}
		return s.record(ctx, tx, e, out.ClientID, id, before, out)
	})
	return out, err
}
