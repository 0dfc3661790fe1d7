package taxdb

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
)

// The redemption's delivery port (reward.DeliverySubscriber[pgx.Tx]) calls
// these in the transaction that settles the order; the lead's adapter in
// cmd/loyaltyjam passes reward.Delivery's fields (docs/tax.md). The
// redemption id is the reference, so a retried settlement changes nothing.

// RefForRedemption is the tax_income reference of a redemption.
func RefForRedemption(redemptionID string) string { return "redemption:" + redemptionID }

// Delivered records the income of a delivered reward of value (its face
// value: the income in kind is what the reward is worth) in tx.
func (s *Store) Delivered(ctx context.Context, tx pgx.Tx, redemptionID string, clientID, programID, participantID int64,
	value money.Kopecks, at time.Time) error {
	_, err := s.RecordIncome(postgres.ContextWithTx(ctx, tx), Income{ClientID: clientID, ProgramID: programID,
		ParticipantID: participantID, Ref: RefForRedemption(redemptionID), At: at, Value: value})
	return err
}

// Reversed records, in tx, that the reward of redemptionID was taken back
// now. A redemption whose delivery was never recorded (delivered before
// the tax module was on) has nothing to reverse.
func (s *Store) Reversed(ctx context.Context, tx pgx.Tx, redemptionID string) error {
	_, err := s.ReverseIncome(postgres.ContextWithTx(ctx, tx), RefForRedemption(redemptionID), s.now())
	if errors.Is(err, ErrNoIncome) {
		return nil
	}
	return err
}
