package registrydb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

// WithSecondApproval sets the maker-checker threshold ApplyPoints enforces
// (registry.Config.SecondApprovalKopecks; 0, the default, disables it).
func WithSecondApproval(kopecks int64) Option { return func(s *Store) { s.secondApproval = kopecks } }

// advisory lock class for the maker-checker check of one client's points
// registries: the participant totals span the client's programs, whose
// budget locks differ.
const lockClientCredits = 74210071

type queryer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Credited returns what the client's applied points registries credited:
// in total in the program's period, and per participant of participantIDs
// within registry.ApprovalWindow. Gross credits (posted_kopecks > 0): a
// correction that took points back does not make room for new ones.
func (s *Store) Credited(ctx context.Context, clientID, programID int64, period string, participantIDs []int64) (registry.Credited, error) {
	return credited(ctx, s.db, clientID, programID, period, participantIDs)
}

func credited(ctx context.Context, q queryer, clientID, programID int64, period string, participantIDs []int64) (registry.Credited, error) {
	c := registry.Credited{ParticipantKopecks: map[int64]int64{}}
	if err := q.QueryRow(ctx, `SELECT COALESCE(sum(l.posted_kopecks), 0)::bigint
		FROM registry_uploads u JOIN registry_point_lines l ON l.upload_id = u.id
		WHERE u.program_id = $1 AND u.period = $2 AND u.status = 'applied' AND l.posted_kopecks > 0`,
		programID, period).Scan(&c.PeriodKopecks); err != nil {
		return c, fmt.Errorf("registrydb: period credited: %w", err)
	}
	if len(participantIDs) == 0 {
		return c, nil
	}
	rows, err := q.Query(ctx, `SELECT l.participant_id, sum(l.posted_kopecks)::bigint
		FROM registry_uploads u JOIN registry_point_lines l ON l.upload_id = u.id
		WHERE u.client_id = $1 AND u.kind = 'points' AND u.status = 'applied'
		  AND u.finished_at > now() - make_interval(secs => $2)
		  AND l.posted_kopecks > 0 AND l.participant_id = ANY($3)
		GROUP BY l.participant_id`, clientID, registry.ApprovalWindow.Seconds(), participantIDs)
	if err != nil {
		return c, fmt.Errorf("registrydb: participant credited: %w", err)
	}
	var pid, k int64
	if _, err := pgx.ForEachRow(rows, []any{&pid, &k}, func() error { c.ParticipantKopecks[pid] = k; return nil }); err != nil {
		return c, fmt.Errorf("registrydb: participant credited: %w", err)
	}
	return c, nil
}

// needsSecondPerson decides maker-checker for upload u inside the applying
// transaction, under the client's credits lock (taken here, held to
// commit) and the program budget lock the caller holds: no other registry
// of the client can credit between this read and the posting, so two
// halves applied concurrently cannot both pass as small. credits are the
// differences about to be posted. An upload confirmed by someone other
// than its uploader has its second person already.
func (s *Store) needsSecondPerson(ctx context.Context, tx pgx.Tx, u registry.Upload, credits map[int64]int64) (bool, error) {
	if s.secondApproval <= 0 || u.ConfirmedBy != u.UploadedBy {
		return false, nil
	}
	ids := make([]int64, 0, len(credits))
	for id := range credits {
		ids = append(ids, id)
	}
	c, err := credited(ctx, tx, u.ClientID, u.ProgramID, u.Period, ids)
	if err != nil {
		return false, err
	}
	return registry.NeedsSecondApproval(s.secondApproval, credits, c), nil
}

// lockClientCreditsTx serialises the maker-checker checks and postings of
// one client's points registries.
func lockClientCreditsTx(ctx context.Context, tx pgx.Tx, clientID int64) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, ($2 % 2147483647)::int)`, lockClientCredits, clientID); err != nil {
		return fmt.Errorf("registrydb: lock client credits: %w", err)
	}
	return nil
}

// returnForApproval puts an upload its uploader confirmed back to
// validated, now needing a second person.
func returnForApproval(ctx context.Context, tx pgx.Tx, id int64) error {
	_, err := tx.Exec(ctx, `UPDATE registry_uploads SET status = 'validated', needs_second_approval = true,
		confirmed_by = NULL, confirmed_at = NULL, started_at = NULL, items_done = 0, updated_at = now()
		WHERE id = $1`, id)
	return err
}
