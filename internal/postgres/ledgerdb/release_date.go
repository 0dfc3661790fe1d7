package ledgerdb

import "context"

// PendingAtPeriodClose reports whether the participant has pending points
// in a program credited at period close (released by ReleaseDue; the date
// is ledger.NextRelease).
func (s *Store) PendingAtPeriodClose(ctx context.Context, participantID int64) (bool, error) {
	var yes bool
	err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ledger_accounts a JOIN programs pr ON pr.id = a.program_id
		WHERE a.kind = 'participant_pending' AND a.participant_id = $1 AND a.balance_kopecks > 0
		AND pr.crediting = 'period_close')`, participantID).Scan(&yes)
	return yes, err
}
