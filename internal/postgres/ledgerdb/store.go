package ledgerdb

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
)

// Store reads the ledger and runs its jobs on a pool.
type Store struct {
	db       *pgxpool.Pool
	releases []ledger.ReleaseSubscriber[pgx.Tx]
}

// New returns a Store on db that publishes every release it posts
// (ledger.Released) to releases, in order, inside the release's
// transaction.
func New(db *pgxpool.Pool, releases ...ledger.ReleaseSubscriber[pgx.Tx]) *Store {
	return &Store{db: db, releases: releases}
}

// ErrBadCursor: the history cursor is not one History returned.
var ErrBadCursor = apperr.New(apperr.Invalid, "bad_cursor", "Некорректный курсор страницы.")

// Balance returns a participant's available and pending points over all
// programs.
func (s *Store) Balance(ctx context.Context, participantID int64) (ledger.Balance, error) {
	var b ledger.Balance
	err := s.db.QueryRow(ctx, `SELECT
		COALESCE(SUM(balance_kopecks) FILTER (WHERE kind = 'participant_available'), 0),
		COALESCE(SUM(balance_kopecks) FILTER (WHERE kind = 'participant_pending'), 0),
		COALESCE(SUM(balance_kopecks) FILTER (WHERE kind = 'participant_hold'), 0)
		FROM ledger_accounts WHERE participant_id = $1
		  AND kind IN ('participant_available', 'participant_pending', 'participant_hold')`, participantID).
		Scan(&b.AvailableKopecks, &b.PendingKopecks, &b.HeldKopecks)
	return b, err
}

// History returns the transactions that moved a participant's points, newest
// first, limit (1–100, default 20) at a time; cursor is the NextCursor of the
// previous page. Every entry carries a Russian reason.
func (s *Store) History(ctx context.Context, participantID int64, cursor string, limit int) (ledger.HistoryPage, error) {
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	var before int64
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil {
			return ledger.HistoryPage{}, ErrBadCursor
		}
		if before, err = strconv.ParseInt(string(raw), 10, 64); err != nil || before <= 0 {
			return ledger.HistoryPage{}, ErrBadCursor
		}
	}
	rows, err := s.db.Query(ctx, `WITH acc AS (
		    SELECT id, kind FROM ledger_accounts WHERE participant_id = $1
		       AND kind IN ('participant_available', 'participant_pending'))
		SELECT t.id, t.created_at, t.kind, COALESCE(t.program_id, 0), COALESCE(t.receipt_id::text, ''), t.memo,
		       COALESCE(SUM(p.amount_kopecks) FILTER (WHERE acc.kind = 'participant_available'), 0),
		       COALESCE(SUM(p.amount_kopecks) FILTER (WHERE acc.kind = 'participant_pending'), 0)
		  FROM acc JOIN ledger_postings p ON p.account_id = acc.id
		  JOIN ledger_transactions t ON t.id = p.transaction_id
		 WHERE ($2 = 0 OR t.id < $2)
		 GROUP BY t.id ORDER BY t.id DESC LIMIT $3`, participantID, before, limit+1)
	if err != nil {
		return ledger.HistoryPage{}, err
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.Entry, error) {
		var e ledger.Entry
		err := row.Scan(&e.TransactionID, &e.At, &e.Kind, &e.ProgramID, &e.ReceiptID, &e.Memo,
			&e.AvailableKopecks, &e.PendingKopecks)
		e.Reason = ledger.Reason(e.Kind, e.Memo)
		return e, err
	})
	if err != nil {
		return ledger.HistoryPage{}, err
	}
	var p ledger.HistoryPage
	if len(entries) > limit {
		entries = entries[:limit]
		p.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(entries[limit-1].TransactionID, 10)))
	}
	p.Entries = entries
	return p, nil
}

// Discrepancy is one inconsistency found by Check.
type Discrepancy struct {
	// What is "unbalanced_transaction", "empty_transaction",
	// "balance_mismatch" or "hold_mismatch" (a participant's hold account
	// against their open redemption orders; AccountID 0: orders without
	// any hold account).
	What          string
	TransactionID int64 // for transaction problems
	AccountID     int64 // for balance mismatches
	// Got is the stored value (cached balance, or the sum of postings for a
	// transaction); Want is what it should be.
	Got, Want int64
}

func (d Discrepancy) String() string {
	if d.What == "hold_mismatch" {
		return fmt.Sprintf("%s: hold account %d holds %d, open redemption orders %d", d.What, d.AccountID, d.Got, d.Want)
	}
	if d.AccountID != 0 {
		return fmt.Sprintf("%s: account %d cached %d, postings sum to %d", d.What, d.AccountID, d.Got, d.Want)
	}
	return fmt.Sprintf("%s: transaction %d postings sum to %d, want %d", d.What, d.TransactionID, d.Got, d.Want)
}

// Report is the result of Check.
type Report struct {
	Transactions  int64
	Postings      int64
	Accounts      int64
	BalanceByKind map[ledger.AccountKind]int64
	Discrepancies []Discrepancy
}

// OK reports whether Check found nothing wrong.
func (r Report) OK() bool { return len(r.Discrepancies) == 0 }

// Check verifies, on one consistent snapshot, that every transaction's
// postings sum to zero (and that it has some) and that every account's
// cached balance equals the sum of its postings.
func (s *Store) Check(ctx context.Context) (Report, error) {
	r := Report{BalanceByKind: map[ledger.AccountKind]int64{}}
	err := postgres.WithTxOptions(ctx, s.db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			r.Discrepancies = nil
			clear(r.BalanceByKind)
			if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM ledger_transactions),
				(SELECT count(*) FROM ledger_postings), (SELECT count(*) FROM ledger_accounts)`).
				Scan(&r.Transactions, &r.Postings, &r.Accounts); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `SELECT t.id, COUNT(p.id), COALESCE(SUM(p.amount_kopecks), 0)
				FROM ledger_transactions t LEFT JOIN ledger_postings p ON p.transaction_id = t.id
				GROUP BY t.id HAVING COUNT(p.id) = 0 OR COALESCE(SUM(p.amount_kopecks), 0) <> 0 ORDER BY t.id`)
			if err != nil {
				return err
			}
			for rows.Next() {
				var d Discrepancy
				var n int64
				if err := rows.Scan(&d.TransactionID, &n, &d.Got); err != nil {
					rows.Close()
					return err
				}
				d.What = "unbalanced_transaction"
				if n == 0 {
					d.What = "empty_transaction"
				}
				r.Discrepancies = append(r.Discrepancies, d)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			rows, err = tx.Query(ctx, `SELECT a.id, a.kind, a.balance_kopecks, COALESCE(SUM(p.amount_kopecks), 0)
				FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id
				GROUP BY a.id ORDER BY a.id`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id, cached, sum int64
				var kind string
				if err := rows.Scan(&id, &kind, &cached, &sum); err != nil {
					return err
				}
				r.BalanceByKind[ledger.AccountKind(kind)] += cached
				if cached != sum {
					r.Discrepancies = append(r.Discrepancies, Discrepancy{What: "balance_mismatch", AccountID: id, Got: cached, Want: sum})
				}
			}
			if err := rows.Err(); err != nil {
				return err
			}
			rows.Close()
			return checkHolds(ctx, tx, &r)
		})
	return r, err
}

// checkHolds verifies that every participant's hold account holds exactly
// the prices of their open redemption orders (neither delivered nor
// failed): a hold without an order, or an order settled without its hold
// moving, is a "hold_mismatch".
func checkHolds(ctx context.Context, tx pgx.Tx, r *Report) error {
	rows, err := tx.Query(ctx, `WITH open AS (
		    SELECT participant_id, program_id, SUM(price_kopecks) AS held FROM redemptions
		     WHERE status NOT IN ('delivered', 'failed', 'refunded') GROUP BY participant_id, program_id)
		SELECT COALESCE(a.id, 0), COALESCE(a.balance_kopecks, 0), COALESCE(o.held, 0)
		  FROM (SELECT * FROM ledger_accounts WHERE kind = 'participant_hold') a
		  FULL JOIN open o ON o.participant_id = a.participant_id AND o.program_id = a.program_id
		 WHERE COALESCE(a.balance_kopecks, 0) <> COALESCE(o.held, 0) ORDER BY 1`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		d := Discrepancy{What: "hold_mismatch"}
		if err := rows.Scan(&d.AccountID, &d.Got, &d.Want); err != nil {
			return err
		}
		r.Discrepancies = append(r.Discrepancies, d)
	}
	return rows.Err()
}

// ReleasePending moves a program's pending points that belong to periods
// ending before periodEnd (transactions with occurred_on < periodEnd) to
// the participants' available accounts. It is cumulative and idempotent:
// per participant it releases what accrued before periodEnd minus what was
// released already, so running it again releases nothing new, and a late
// receipt of a closed period is released by the next run. Each participant
// is released in its own transaction, which also publishes the release
// (ledger.Released, keyed by the release's idempotency key) to the store's
// subscribers: nothing when a run releases nothing new, nothing that
// outlives a rolled-back release. It returns how many participants got
// points and the total released.
func (s *Store) ReleasePending(ctx context.Context, programID int64, periodEnd time.Time) (int, int64, error) {
	end := periodEnd.Format("2006-01-02")
	type due struct{ clientID, participantID, accrued, released, balance int64 }
	rows, err := s.db.Query(ctx, `SELECT a.client_id, a.participant_id,
		    COALESCE(SUM(p.amount_kopecks) FILTER (WHERE t.kind <> $3 AND t.occurred_on < $2::date), 0),
		    COALESCE(-SUM(p.amount_kopecks) FILTER (WHERE t.kind = $3), 0),
		    a.balance_kopecks
		  FROM ledger_accounts a
		  JOIN ledger_postings p ON p.account_id = a.id
		  JOIN ledger_transactions t ON t.id = p.transaction_id
		 WHERE a.kind = 'participant_pending' AND a.program_id = $1 AND a.balance_kopecks > 0
		 GROUP BY a.id ORDER BY a.id`, programID, end, ledger.KindRelease)
	if err != nil {
		return 0, 0, err
	}
	dues, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (due, error) {
		var d due
		err := row.Scan(&d.clientID, &d.participantID, &d.accrued, &d.released, &d.balance)
		return d, err
	})
	if err != nil {
		return 0, 0, err
	}
	var n int
	var total int64
	for _, d := range dues {
		amount := min(d.accrued-d.released, d.balance)
		if amount <= 0 {
			continue
		}
		t := ledger.Transaction{
			IdempotencyKey: fmt.Sprintf("release:%d:%d:%s:%d", programID, d.participantID, end, d.released+amount),
			Kind:           ledger.KindRelease, ClientID: d.clientID, ProgramID: programID, ParticipantID: d.participantID,
			Memo: "период до " + periodEnd.Format("02.01.2006"),
			Postings: []ledger.Posting{
				{Account: ledger.PendingAccount(d.clientID, programID, d.participantID), AmountKopecks: -amount},
				{Account: ledger.AvailableAccount(d.clientID, programID, d.participantID), AmountKopecks: amount},
			},
		}
		err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
			if _, err := Post(ctx, tx, t); err != nil {
				return err
			}
			rel := ledger.Released{ClientID: d.clientID, ProgramID: programID, ParticipantID: d.participantID,
				AmountKopecks: amount, Key: t.IdempotencyKey}
			for _, sub := range s.releases {
				if err := sub.PointsReleased(ctx, tx, rel); err != nil {
					return fmt.Errorf("release subscriber: %w", err)
				}
			}
			return nil
		})
		switch {
		case err == nil:
			n++
			total += amount
		case errors.Is(err, ledger.ErrAlreadyPosted), errors.Is(err, ledger.ErrInsufficientBalance):
			// Done by a concurrent run, or a reversal took the points
			// meanwhile: the next run recomputes.
		default:
			return n, total, fmt.Errorf("release pending of participant %d: %w", d.participantID, err)
		}
	}
	return n, total, nil
}

// ReleaseDue releases, for every program that credits at period close, the
// pending points of the calendar months before now's month. The worker runs
// it periodically (hourly is plenty); it is idempotent.
func (s *Store) ReleaseDue(ctx context.Context, now time.Time) (int, int64, error) {
	periodEnd := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	rows, err := s.db.Query(ctx, `SELECT id FROM programs WHERE crediting = 'period_close' ORDER BY id`)
	if err != nil {
		return 0, 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, 0, err
	}
	var n int
	var total int64
	for _, id := range ids {
		k, t, err := s.ReleasePending(ctx, id, periodEnd)
		n, total = n+k, total+t
		if err != nil {
			return n, total, err
		}
	}
	return n, total, nil
}
