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

// ParticipantClient implements tenant.Store.
func (s *Store) ParticipantClient(ctx context.Context, id int64) (int64, error) {
	var c int64
	err := s.db.QueryRow(ctx, `SELECT client_id FROM participants WHERE id = $1`, id).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, tenant.ErrParticipantNotFound
	}
	return c, err
}

const memberSQL = `SELECT id, name, role, status, COALESCE(supervisor_id, 0), COALESCE(shop_id, 0) FROM participants WHERE id = $1`

func scanTeamMember(row pgx.Row) (tenant.TeamMember, error) {
	var m tenant.TeamMember
	err := row.Scan(&m.ID, &m.Name, &m.Role, &m.Status, &m.SupervisorID, &m.ShopID)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, tenant.ErrParticipantNotFound
	}
	return m, err
}

// SetSupervisor implements tenant.Store.
func (s *Store) SetSupervisor(ctx context.Context, clientID, id int64, supervisorID *int64, e audit.Entry) (tenant.TeamMember, error) {
	var out tenant.TeamMember
	err := postgres.InTx(ctx, s.db, func(ctx context.Context, tx pgx.Tx) error {
		// One client's hierarchy changes one at a time, so two concurrent
		// links cannot close a cycle between them.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('participant_hierarchy', $1))`, clientID); err != nil {
			return fmt.Errorf("lock hierarchy: %w", err)
		}
		before, err := scanTeamMember(tx.QueryRow(ctx, memberSQL+` AND client_id = $2 FOR UPDATE`, id, clientID))
		if err != nil {
			return err
		}
		if supervisorID != nil {
			var role string
			err := tx.QueryRow(ctx, `SELECT role FROM participants WHERE id = $1 AND client_id = $2`, *supervisorID, clientID).Scan(&role)
			if errors.Is(err, pgx.ErrNoRows) {
				return tenant.ErrParticipantNotFound
			}
			if err != nil {
				return err
			}
			if role != "sales_rep" && role != "manager" {
				return tenant.ErrSupervisorRole
			}
			// A cycle: the new supervisor is the participant or below them.
			var cycle bool
			if err := tx.QueryRow(ctx, `WITH RECURSIVE up(id, supervisor_id, depth) AS (
					SELECT id, supervisor_id, 0 FROM participants WHERE id = $1
					UNION ALL
					SELECT p.id, p.supervisor_id, up.depth + 1 FROM participants p JOIN up ON p.id = up.supervisor_id WHERE up.depth < 1000)
				SELECT EXISTS (SELECT 1 FROM up WHERE id = $2)`, *supervisorID, id).Scan(&cycle); err != nil {
				return fmt.Errorf("check hierarchy: %w", err)
			}
			if cycle {
				return tenant.ErrSupervisorCycle
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE participants SET supervisor_id = $2 WHERE id = $1`, id, supervisorID); err != nil {
			return fmt.Errorf("set supervisor: %w", err)
		}
		if out, err = scanTeamMember(tx.QueryRow(ctx, memberSQL, id)); err != nil {
			return err
		}
		type state struct {
			SupervisorID int64 `json:"supervisor_id"`
		}
		return s.record(ctx, tx, e, clientID, id, state{before.SupervisorID}, state{out.SupervisorID})
	})
	return out, err
}

// Team returns the participants below participantID (down to
// tenant.MaxTeamDepth levels) and the shops they work in.
func (s *Store) Team(ctx context.Context, participantID int64) (tenant.Team, error) {
	t := tenant.Team{Members: []tenant.TeamMember{}, Shops: []tenant.TeamShop{}}
	rows, err := s.db.Query(ctx, `WITH RECURSIVE down(id, depth) AS (
			SELECT id, 1 FROM participants WHERE supervisor_id = $1
			UNION ALL
			SELECT p.id, down.depth + 1 FROM participants p JOIN down ON p.supervisor_id = down.id WHERE down.depth < $2)
		SELECT p.id, p.name, p.role, p.status, COALESCE(p.supervisor_id, 0), COALESCE(p.shop_id, 0), min(d.depth)
		FROM down d JOIN participants p ON p.id = d.id
		GROUP BY p.id ORDER BY min(d.depth), p.name, p.id LIMIT 10000`, participantID, tenant.MaxTeamDepth)
	if err != nil {
		return t, fmt.Errorf("team: %w", err)
	}
	shopIDs := []int64{}
	for rows.Next() {
		var m tenant.TeamMember
		if err := rows.Scan(&m.ID, &m.Name, &m.Role, &m.Status, &m.SupervisorID, &m.ShopID, &m.Depth); err != nil {
			rows.Close()
			return t, err
		}
		t.Members = append(t.Members, m)
		if m.ShopID != 0 {
			shopIDs = append(shopIDs, m.ShopID)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return t, err
	}
	rows, err = s.db.Query(ctx, `SELECT id, code, name, chain, address, region, COALESCE(inn, '') FROM shops WHERE id = ANY($1) ORDER BY name, id`, shopIDs)
	if err != nil {
		return t, fmt.Errorf("team shops: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sh tenant.TeamShop
		if err := rows.Scan(&sh.ID, &sh.Code, &sh.Name, &sh.Chain, &sh.Address, &sh.Region, &sh.INN); err != nil {
			return t, err
		}
		t.Shops = append(t.Shops, sh)
	}
	return t, rows.Err()
}
