package rewarddb

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/reward"
)

// ErrNoProgram: the program is not the client's (or does not exist); the
// staff routes answer 404.
var ErrNoProgram = errors.New("rewarddb: no such program for this client")

// ownProgram locks the client's program row, so a staff edit and the
// program's other changes serialise; ErrNoProgram when it is not theirs.
func ownProgram(ctx context.Context, tx pgx.Tx, clientID, programID int64) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM programs WHERE id = $1 AND client_id = $2 FOR SHARE`, programID, clientID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNoProgram
	}
	return err
}

// SetOffer is a staff member's edit of one offer (PutOffer) with its audit
// entry (reward_offer.put: the row before and after, the reason) in the
// same transaction. ErrNoProgram for another client's program,
// reward.ErrOfferNotFound for a reward not in the catalog.
func (s *Store) SetOffer(ctx context.Context, by audit.Actor, in OfferInput, reason string) (int64, error) {
	var id int64
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := ownProgram(ctx, tx, in.ClientID, in.ProgramID); err != nil {
			return err
		}
		var known bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rewards WHERE id = $1)`, in.RewardID).Scan(&known); err != nil {
			return err
		}
		if !known {
			return reward.ErrOfferNotFound
		}
		var before []byte
		err := tx.QueryRow(ctx, `SELECT to_jsonb(o) - 'client_id' FROM reward_offers o WHERE program_id = $1 AND reward_id = $2`,
			in.ProgramID, in.RewardID).Scan(&before)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if id, err = s.PutOffer(ctx, tx, in); err != nil {
			return err
		}
		var after []byte
		if err := tx.QueryRow(ctx, `SELECT to_jsonb(o) - 'client_id' FROM reward_offers o WHERE id = $1`, id).Scan(&after); err != nil {
			return err
		}
		return s.recordStaff(ctx, tx, audit.Entry{ClientID: in.ClientID, Actor: by,
			Action: "reward_offer.put", ObjectKind: "reward_offer", ObjectID: strconv.FormatInt(id, 10),
			Before: json.RawMessage(before), After: json.RawMessage(after), Reason: reason})
	})
	return id, err
}

// SetLimits is a staff member's edit of a program's redemption limits
// (PutLimits) with its audit entry (reward_limits.put) in the same
// transaction. ErrNoProgram for another client's program.
func (s *Store) SetLimits(ctx context.Context, by audit.Actor, clientID, programID int64, l reward.Limits, reason string) error {
	return postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := ownProgram(ctx, tx, clientID, programID); err != nil {
			return err
		}
		var before []byte
		err := tx.QueryRow(ctx, `SELECT to_jsonb(l) - 'client_id' FROM reward_limits l WHERE program_id = $1`, programID).Scan(&before)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err := s.PutLimits(ctx, tx, clientID, programID, l); err != nil {
			return err
		}
		var after []byte
		if err := tx.QueryRow(ctx, `SELECT to_jsonb(l) - 'client_id' FROM reward_limits l WHERE program_id = $1`, programID).Scan(&after); err != nil {
			return err
		}
		return s.recordStaff(ctx, tx, audit.Entry{ClientID: clientID, Actor: by,
			Action: "reward_limits.put", ObjectKind: "program", ObjectID: strconv.FormatInt(programID, 10),
			Before: json.RawMessage(before), After: json.RawMessage(after), Reason: reason})
	})
}

// recordStaff writes a staff change's audit entry in tx.
func (s *Store) recordStaff(ctx context.Context, tx pgx.Tx, e audit.Entry) error {
	return s.rec.Record(postgres.ContextWithTx(ctx, tx), e)
}

// ProgramOffers lists a client's program's offers (for staff: every
// offer, whatever its roles or availability). ErrNoProgram for another
// client's program.
func (s *Store) ProgramOffers(ctx context.Context, clientID, programID int64) ([]reward.Offer, error) {
	var out []reward.Offer
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := ownProgram(ctx, tx, clientID, programID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+offerCols+` FROM reward_offers o JOIN rewards r ON r.id = o.reward_id
			WHERE o.program_id = $1 AND o.client_id = $2 ORDER BY o.id`, programID, clientID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			o, err := scanOffer(rows, nil)
			if err != nil {
				return err
			}
			out = append(out, o)
		}
		return rows.Err()
	})
	return out, err
}

// Spending is a program's reward spending: its delivered orders.
type Spending struct {
	Orders int64
	// Price is the points the orders took (the redemption account), Face
	// the prizes' face values, Cost what the providers charged.
	Price, Face, Cost money.Kopecks
}

// Spending sums the delivered orders of clientID's program (another
// client's program sums to nothing).
func (s *Store) Spending(ctx context.Context, clientID, programID int64) (Spending, error) {
	var sp Spending
	var price, face, cost int64
	err := s.db.QueryRow(ctx, `SELECT count(*), COALESCE(sum(price_kopecks), 0), COALESCE(sum(face_kopecks), 0),
		COALESCE(sum(cost_kopecks), 0) FROM redemptions WHERE client_id = $1 AND program_id = $2 AND status = 'delivered'`,
		clientID, programID).Scan(&sp.Orders, &price, &face, &cost)
	sp.Price, sp.Face, sp.Cost = money.Kopecks(price), money.Kopecks(face), money.Kopecks(cost)
	return sp, err
}

// ProgramLimits returns a client's program's limits (zero: none set).
// ErrNoProgram for another client's program.
func (s *Store) ProgramLimits(ctx context.Context, clientID, programID int64) (reward.Limits, error) {
	var l reward.Limits
	var order, day, month, mod, cool int64
	var hours int
	err := s.db.QueryRow(ctx, `SELECT COALESCE(l.per_order_kopecks, 0), COALESCE(l.per_day_kopecks, 0),
		COALESCE(l.per_month_kopecks, 0), COALESCE(l.moderation_kopecks, 0), COALESCE(l.cooling_off_kopecks, 0),
		COALESCE(l.cooling_off_hours, 0)
		FROM programs p LEFT JOIN reward_limits l ON l.program_id = p.id WHERE p.id = $1 AND p.client_id = $2`,
		programID, clientID).Scan(&order, &day, &month, &mod, &cool, &hours)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, ErrNoProgram
	}
	l = reward.Limits{PerOrder: money.Kopecks(order), PerDay: money.Kopecks(day), PerMonth: money.Kopecks(month),
		Moderation: money.Kopecks(mod), CoolingOffCredit: money.Kopecks(cool), CoolingOffFor: time.Duration(hours) * time.Hour}
	return l, err
}

// CatalogItem is a reward of the global catalog a client may offer.
type CatalogItem struct {
	ID              int64
	Provider, Title string
}

// Catalog lists the enabled rewards of the global catalog.
func (s *Store) Catalog(ctx context.Context) ([]CatalogItem, error) {
	rows, err := s.db.Query(ctx, `SELECT id, provider, title FROM rewards WHERE enabled ORDER BY provider, title, id LIMIT 2000`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (CatalogItem, error) {
		var c CatalogItem
		return c, r.Scan(&c.ID, &c.Provider, &c.Title)
	})
}
