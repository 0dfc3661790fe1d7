package points

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

type ruleKey struct {
	program int64
	version int
}

// loadRules returns the version of the program's rules in force on day,
// or, with first, the version that took effect first (for a day before
// any took effect). Versions never change once stored, so each is parsed
// once and kept.
func (s *Service) loadRules(ctx context.Context, tx Tx, programID int64, day time.Time, first bool) (rules.Rules, int, bool, error) {
	version, body, ok, err := tx.Rules(ctx, programID, day, first)
	if err != nil || !ok {
		return rules.Rules{}, 0, false, err
	}
	key := ruleKey{programID, version}
	s.mu.Lock()
	r, ok := s.rules[key]
	s.mu.Unlock()
	if ok {
		return r, version, true, nil
	}
	if r, err = rules.Parse(body); err != nil {
		return r, version, false, fmt.Errorf("program %d rules v%d: %w", programID, version, err)
	}
	s.mu.Lock()
	s.rules[key] = r
	s.mu.Unlock()
	return r, version, true, nil
}

// loadReturned fills what earlier returns took back from sale s: the points
// of its reversals (those posted before transaction beforeTx when it is not
// 0) and, replaying each return's lines in posting order the way
// returnAmount assigned them, the quantity of every sale line.
func loadReturned(ctx context.Context, tx Tx, participantID int64, s *Sale, beforeTx int64) error {
	s.ReturnedQty, s.ReturnedSum, s.Reversed = make([]int64, len(s.Items)), 0, 0
	prev, err := tx.Returns(ctx, participantID, s.ID, beforeTx)
	if err != nil {
		return err
	}
	left := make([]int64, len(s.Items))
	for i, it := range s.Items {
		left[i] = it.QuantityMilli
	}
	for _, e := range prev {
		s.Reversed += e.Amount
		s.ReturnedSum += e.SumKopecks
		for _, l := range e.Lines {
			if j := assignLine(s.Items, left, l.SKUID, l.GTIN, l.Name, l.QuantityMilli); j >= 0 {
				left[j] -= l.QuantityMilli
			}
		}
	}
	for i, it := range s.Items {
		s.ReturnedQty[i] = it.QuantityMilli - left[i]
	}
	return nil
}

// reversalRecord is a reversal a return receipt already posted.
type reversalRecord struct {
	ok     bool
	txID   int64
	saleID string
	amount int64
}

// priorReversal finds the reversal the return receipt returnID posted, if
// it did (a retried task sending the return through again), and the sale
// its key names.
func priorReversal(ctx context.Context, tx Tx, participantID int64, returnID string) (reversalRecord, error) {
	var rec reversalRecord
	rev, ok, err := tx.PriorReversal(ctx, participantID, returnID)
	if err != nil || !ok {
		return rec, err
	}
	rec.txID, rec.amount = rev.TxID, rev.Amount
	rest := strings.TrimPrefix(rev.Key, ledger.ReversalKey(""))
	rec.saleID, _, _ = strings.Cut(rest, ":return:")
	rec.ok = rec.saleID != ""
	return rec, nil
}
