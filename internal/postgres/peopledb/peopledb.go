// Package peopledb is the PostgreSQL store of what staff do to one
// participant (package people): block, unblock, move, tester flag and
// manual credits and debits under maker-checker. Every change locks the
// participant row, writes its effect and an audit entry with before and
// after in one transaction.
package peopledb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/budget"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/money"
	"github.com/loyaltyjam/loyaltyjam/internal/people"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
)

// Store is the people store.
type Store struct {
	db        *pgxpool.Pool
	ledger    ledger.Postings
	audit     audit.Recorder
	threshold int64
}

// New returns a Store on db posting manual adjustments through postings
// and recording audit entries with rec; threshold
// is the maker-checker threshold in kopecks (the registries' one; 0
// disables).
func New(db *pgxpool.Pool, postings ledger.Postings, rec audit.Recorder, threshold int64) *Store {
	return &Store{db: db, ledger: postings, audit: rec, threshold: threshold}
}

// Threshold is the maker-checker threshold in kopecks.
func (s *Store) Threshold() int64 { return s.threshold }

type row struct {
	clientID int64
	state    people.State
}

// lock locks participant id for st (another client's: not found) and
// returns its state. Changes need the client manager role.
func lock(ctx context.Context, tx pgx.Tx, st access.Staff, id int64) (row, error) {
	var r row
	err := tx.QueryRow(ctx, `SELECT client_id, status, blocked_reason, shop_id, is_tester FROM participants WHERE id = $1 FOR UPDATE`, id).
		Scan(&r.clientID, &r.state.Status, &r.state.BlockedReason, &r.state.ShopID, &r.state.IsTester)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && !st.CanSee(r.clientID) {
		return row{}, people.ErrParticipantNotFound
	}
	if err != nil {
		return row{}, err
	}
	return r, st.CheckClient(r.clientID, access.ClientManager)
}

func actor(ctx context.Context, tx pgx.Tx, st access.Staff, ip string) (audit.Actor, error) {
	var name string
	err := tx.QueryRow(ctx, `SELECT COALESCE(NULLIF(name, ''), email) FROM dashboard_users WHERE id = $1`, st.UserID).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.Actor{}, access.ErrForbidden
	}
	return audit.StaffActor(st.UserID, name, ip), err
}

// change runs fn on the locked participant and records action with the
// state before and after.
func (s *Store) change(ctx context.Context, st access.Staff, ip string, id int64, action, reason string,
	fn func(tx pgx.Tx, r row) (people.State, error)) (people.State, error) {
	var after people.State
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		r, err := lock(ctx, tx, st, id)
		if err != nil {
			return err
		}
		a, err := actor(ctx, tx, st, ip)
		if err != nil {
			return err
		}
		if after, err = fn(tx, r); err != nil {
			return err
		}
		return s.audit.Record(postgres.ContextWithTx(ctx, tx), audit.Entry{ClientID: r.clientID, Actor: a, Action: action,
			ObjectKind: "participant", ObjectID: strconv.FormatInt(id, 10), Before: audit.State(r.state), After: audit.State(after), Reason: reason})
	})
	return after, err
}

// Block blocks a participant with a reason the seller sees on every
// request of the app (403 participant_blocked).
func (s *Store) Block(ctx context.Context, st access.Staff, ip string, id int64, reason string) (people.State, error) {
	reason, err := people.CheckReason(reason)
	if err != nil {
		return people.State{}, err
	}
	return s.change(ctx, st, ip, id, "participant.block", reason, func(tx pgx.Tx, r row) (people.State, error) {
		if r.state.Status == "blocked" {
			return r.state, people.ErrAlreadyBlocked
		}
		after := r.state
		after.Status, after.BlockedReason = "blocked", reason
		_, err := tx.Exec(ctx, `UPDATE participants SET status = 'blocked', blocked_reason = $2, blocked_at = now() WHERE id = $1`, id, reason)
		return after, err
	})
}

// Unblock makes a blocked participant active again.
func (s *Store) Unblock(ctx context.Context, st access.Staff, ip string, id int64, reason string) (people.State, error) {
	reason, err := people.CheckReason(reason)
	if err != nil {
		return people.State{}, err
	}
	return s.change(ctx, st, ip, id, "participant.unblock", reason, func(tx pgx.Tx, r row) (people.State, error) {
		if r.state.Status != "blocked" {
			return r.state, people.ErrNotBlocked
		}
		after := r.state
		after.Status, after.BlockedReason = "active", ""
		_, err := tx.Exec(ctx, `UPDATE participants SET status = 'active', blocked_reason = '', blocked_at = NULL WHERE id = $1`, id)
		return after, err
	})
}

// Move moves a participant to another shop of their client.
func (s *Store) Move(ctx context.Context, st access.Staff, ip string, id, shopID int64, reason string) (people.State, error) {
	reason, err := people.CheckReason(reason)
	if err != nil {
		return people.State{}, err
	}
	return s.change(ctx, st, ip, id, "participant.move", reason, func(tx pgx.Tx, r row) (people.State, error) {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM shops WHERE id = $1 AND client_id = $2)`, shopID, r.clientID).Scan(&ok); err != nil {
			return r.state, err
		}
		if !ok {
			return r.state, people.ErrShopNotFound
		}
		after := r.state
		after.ShopID = &shopID
		_, err := tx.Exec(ctx, `UPDATE participants SET shop_id = $2 WHERE id = $1`, id, shopID)
		return after, err
	})
}

// SetTester flags or unflags a participant as a tester.
func (s *Store) SetTester(ctx context.Context, st access.Staff, ip string, id int64, tester bool) (people.State, error) {
	return s.change(ctx, st, ip, id, "participant.tester", "", func(tx pgx.Tx, r row) (people.State, error) {
		after := r.state
		after.IsTester = tester
		_, err := tx.Exec(ctx, `UPDATE participants SET is_tester = $2 WHERE id = $1`, id, tester)
		return after, err
	})
}

// Get returns the participant page's data: the participant, their
// balances per program and their manual adjustments.
func (s *Store) Get(ctx context.Context, st access.Staff, id int64) (people.Participant, error) {
	var p people.Participant
	err := postgres.WithTxOptions(ctx, s.db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT p.id, p.client_id, p.name, p.phone, p.role, p.status, p.blocked_reason, p.blocked_at,
			p.shop_id, COALESCE(s.name, ''), p.is_tester
			FROM participants p LEFT JOIN shops s ON s.id = p.shop_id WHERE p.id = $1`, id).
			Scan(&p.ID, &p.ClientID, &p.Name, &p.Phone, &p.Role, &p.Status, &p.BlockedReason, &p.BlockedAt, &p.ShopID, &p.ShopName, &p.IsTester)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && !st.CanSee(p.ClientID) {
			return people.ErrParticipantNotFound
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT a.program_id, pr.name,
			COALESCE(SUM(a.balance_kopecks) FILTER (WHERE a.kind = 'participant_available'), 0)::bigint,
			COALESCE(SUM(a.balance_kopecks) FILTER (WHERE a.kind = 'participant_pending'), 0)::bigint
			FROM ledger_accounts a JOIN programs pr ON pr.id = a.program_id
			WHERE a.participant_id = $1 AND a.kind IN ('participant_available', 'participant_pending')
			GROUP BY a.program_id, pr.name ORDER BY a.program_id`, id)
		if err != nil {
			return err
		}
		p.Balances, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (people.Balance, error) {
			var b people.Balance
			return b, row.Scan(&b.ProgramID, &b.ProgramName, &b.AvailableKopecks, &b.PendingKopecks)
		})
		if err != nil {
			return err
		}
		if p.Balances == nil {
			p.Balances = []people.Balance{}
		}
		p.Adjustments, err = adjustments(ctx, tx, `a.participant_id = $1`, id)
		return err
	})
	return p, err
}

const adjCols = `a.id, a.participant_id, a.program_id, a.amount_kopecks, a.reason, a.document, a.status,
	COALESCE(a.maker_id, 0), COALESCE(a.checker_id, 0), a.decision_note, COALESCE(a.ledger_tx_id, 0), a.created_at, a.decided_at, a.request_hash`

type storedAdj struct {
	people.Adjustment
	hash     string
	clientID int64
}

func scanAdj(row pgx.Row) (storedAdj, error) {
	var a storedAdj
	var amount int64
	err := row.Scan(&a.ID, &a.ParticipantID, &a.ProgramID, &amount, &a.Reason, &a.Document, &a.Status,
		&a.MakerID, &a.CheckerID, &a.DecisionNote, &a.LedgerTxID, &a.CreatedAt, &a.DecidedAt, &a.hash)
	a.AmountKopecks = money.Kopecks(amount)
	a.Amount = a.AmountKopecks.String()
	a.NeedsSecondApproval = a.Status == people.Pending || a.CheckerID != 0
	return a, err
}

func adjustments(ctx context.Context, tx pgx.Tx, where string, args ...any) ([]people.Adjustment, error) {
	rows, err := tx.Query(ctx, `SELECT `+adjCols+` FROM manual_adjustments a WHERE `+where+` ORDER BY a.id DESC LIMIT 200`, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (people.Adjustment, error) {
		a, err := scanAdj(row)
		return a.Adjustment, err
	})
	if out == nil {
		out = []people.Adjustment{}
	}
	return out, err
}

// PendingAdjustments lists the adjustments of st's client (an operator:
// clientID's) waiting for a second approval.
func (s *Store) PendingAdjustments(ctx context.Context, st access.Staff, clientID int64) ([]people.Adjustment, error) {
	if clientID != 0 && !st.CanSee(clientID) {
		return nil, budget.ErrClientNotFound
	}
	if clientID == 0 {
		clientID = st.ClientID
	}
	if !st.CanSee(clientID) {
		return []people.Adjustment{}, nil
	}
	var out []people.Adjustment
	err := postgres.WithTxOptions(ctx, s.db, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		out, err = adjustments(ctx, tx, `a.client_id = $1 AND a.status = 'pending'`, clientID)
		return err
	})
	return out, err
}

// Adjust credits or debits one participant by hand. Below the threshold
// (the amount plus what the participant's manual adjustments moved within
// people.ApprovalWindow) it is applied at once; at or above it, it waits
// for a second staff member (Approve). The same Idempotency-Key with the
// same request returns the first adjustment; with another, ErrKeyReused.
func (s *Store) Adjust(ctx context.Context, st access.Staff, ip string, req people.AdjustRequest) (people.Adjustment, error) {
	if err := req.Validate(); err != nil {
		return people.Adjustment{}, err
	}
	hash := req.Hash()
	var out people.Adjustment
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		r, err := lock(ctx, tx, st, req.ParticipantID)
		if err != nil {
			return err
		}
		prev, err := scanAdj(tx.QueryRow(ctx, `SELECT `+adjCols+` FROM manual_adjustments a WHERE a.client_id = $1 AND a.idempotency_key = $2`,
			r.clientID, req.IdempotencyKey))
		if err == nil {
			out = prev.Adjustment
			out.Replayed = true
			if prev.hash != hash {
				return budget.ErrKeyReused
			}
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM programs WHERE id = $1 AND client_id = $2)`, req.ProgramID, r.clientID).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return people.ErrProgramNotFound
		}
		a, err := actor(ctx, tx, st, ip)
		if err != nil {
			return err
		}
		var recent int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(abs(amount_kopecks)), 0)::bigint FROM manual_adjustments
			WHERE participant_id = $1 AND status IN ('pending', 'applied') AND created_at > now() - $2::interval`,
			req.ParticipantID, fmt.Sprintf("%d seconds", int(people.ApprovalWindow.Seconds()))).Scan(&recent); err != nil {
			return err
		}
		second := people.NeedsSecondApproval(s.threshold, req.AmountKopecks, recent)
		var id int64
		var created time.Time
		if err := tx.QueryRow(ctx, `INSERT INTO manual_adjustments
			(client_id, program_id, participant_id, amount_kopecks, reason, document, status, idempotency_key, request_hash, maker_id)
			VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9) RETURNING id, created_at`,
			r.clientID, req.ProgramID, req.ParticipantID, int64(req.AmountKopecks), req.Reason, req.Document,
			req.IdempotencyKey, hash, st.UserID).Scan(&id, &created); err != nil {
			return fmt.Errorf("manual adjustment: %w", err)
		}
		out = people.Adjustment{ID: id, ParticipantID: req.ParticipantID, ProgramID: req.ProgramID, AmountKopecks: req.AmountKopecks,
			Amount: req.AmountKopecks.String(), Reason: req.Reason, Document: req.Document, Status: people.Pending,
			MakerID: st.UserID, CreatedAt: created, NeedsSecondApproval: second}
		ctx := postgres.ContextWithTx(ctx, tx)
		if err := s.audit.Record(ctx, audit.Entry{ClientID: r.clientID, Actor: a, Action: "participant.adjust_request",
			ObjectKind: "participant", ObjectID: strconv.FormatInt(req.ParticipantID, 10),
			After: audit.State(out), Reason: req.Reason}); err != nil {
			return err
		}
		if second {
			return nil
		}
		return s.apply(ctx, tx, r.clientID, a, &out)
	})
	return out, err
}

// apply posts adjustment adj (pending, locked by the caller) and records
// it: status applied, the ledger transaction, an audit entry with the
// balance before and after.
func (s *Store) apply(ctx context.Context, tx pgx.Tx, clientID int64, a audit.Actor, adj *people.Adjustment) error {
	acc := ledger.AvailableAccount(clientID, adj.ProgramID, adj.ParticipantID)
	before, err := s.ledger.Balance(postgres.ContextWithTx(ctx, tx), acc)
	if err != nil {
		return err
	}
	t := ledger.Transaction{IdempotencyKey: "manual:" + strconv.FormatInt(adj.ID, 10), ClientID: clientID,
		ProgramID: adj.ProgramID, ParticipantID: adj.ParticipantID, OccurredOn: time.Now().UTC(),
		Memo: adj.Reason + " (" + adj.Document + ")"}
	if adj.AmountKopecks > 0 {
		t.Kind = ledger.KindManualCredit
		t.Postings = ledger.Credit(clientID, adj.ProgramID, adj.ParticipantID, int64(adj.AmountKopecks), false)
	} else {
		t.Kind = ledger.KindManualDebit
		t.Postings = []ledger.Posting{
			{Account: acc, AmountKopecks: int64(adj.AmountKopecks)},
			{Account: ledger.BudgetAccount(clientID, adj.ProgramID), AmountKopecks: -int64(adj.AmountKopecks)},
		}
	}
	txID, err := s.ledger.Post(postgres.ContextWithTx(ctx, tx), t)
	if err != nil {
		return err
	}
	var decided time.Time
	if err := tx.QueryRow(ctx, `UPDATE manual_adjustments SET status = 'applied', ledger_tx_id = $2, decided_at = now(),
		checker_id = NULLIF($3, 0)::bigint WHERE id = $1 RETURNING decided_at`, adj.ID, txID, adj.CheckerID).Scan(&decided); err != nil {
		if postgres.ConstraintViolated(err) == "manual_adjustments_four_eyes" {
			return people.ErrMakerCannotApprove
		}
		return err
	}
	adj.Status, adj.LedgerTxID, adj.DecidedAt = people.Applied, txID, &decided
	action := "participant.credit"
	if adj.AmountKopecks < 0 {
		action = "participant.debit"
	}
	return s.audit.Record(postgres.ContextWithTx(ctx, tx), audit.Entry{ClientID: clientID, Actor: a, Action: action,
		ObjectKind: "participant", ObjectID: strconv.FormatInt(adj.ParticipantID, 10),
		Before: audit.State(map[string]any{"program_id": adj.ProgramID, "available_kopecks": before}),
		After: audit.State(map[string]any{"program_id": adj.ProgramID, "available_kopecks": before + int64(adj.AmountKopecks),
			"adjustment_id": adj.ID, "amount_kopecks": adj.AmountKopecks, "document": adj.Document,
			"ledger_transaction_id": txID, "maker_id": adj.MakerID, "checker_id": adj.CheckerID}),
		Reason: adj.Reason})
}

// Decide approves (posting it) or rejects a pending adjustment as a
// second staff member: the maker gets people.ErrMakerCannotApprove.
func (s *Store) Decide(ctx context.Context, st access.Staff, ip string, id int64, approve bool, note string) (people.Adjustment, error) {
	note = strings.TrimSpace(note)
	if !budget.CheckText(note, budget.MaxCommentRunes, false) {
		return people.Adjustment{}, budget.ErrComment
	}
	var out people.Adjustment
	err := postgres.WithTx(ctx, s.db, func(tx pgx.Tx) error {
		adj, err := scanAdjClient(tx.QueryRow(ctx, `SELECT `+adjCols+`, a.client_id FROM manual_adjustments a WHERE a.id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) || err == nil && !st.CanSee(adj.clientID) {
			return people.ErrAdjustmentNotFound
		}
		if err != nil {
			return err
		}
		if err := st.CheckClient(adj.clientID, access.ClientManager); err != nil {
			return err
		}
		if adj.Status != people.Pending {
			return people.ErrNotPending
		}
		if adj.MakerID == st.UserID {
			return people.ErrMakerCannotApprove
		}
		// The participant row too, in the order Adjust takes them.
		if _, err := lock(ctx, tx, st, adj.ParticipantID); err != nil {
			return err
		}
		a, err := actor(ctx, tx, st, ip)
		if err != nil {
			return err
		}
		out = adj.Adjustment
		out.CheckerID, out.DecisionNote = st.UserID, note
		if _, err := tx.Exec(ctx, `UPDATE manual_adjustments SET decision_note = $2 WHERE id = $1`, id, note); err != nil {
			return err
		}
		if approve {
			return s.apply(ctx, tx, adj.clientID, a, &out)
		}
		var decided time.Time
		if err := tx.QueryRow(ctx, `UPDATE manual_adjustments SET status = 'rejected', checker_id = $2, decided_at = now()
			WHERE id = $1 RETURNING decided_at`, id, st.UserID).Scan(&decided); err != nil {
			if postgres.ConstraintViolated(err) == "manual_adjustments_four_eyes" {
				return people.ErrMakerCannotApprove
			}
			return err
		}
		out.Status, out.DecidedAt = people.Rejected, &decided
		return s.audit.Record(postgres.ContextWithTx(ctx, tx), audit.Entry{ClientID: adj.clientID, Actor: a, Action: "participant.adjust_reject",
			ObjectKind: "participant", ObjectID: strconv.FormatInt(adj.ParticipantID, 10),
			Before: audit.State(adj.Adjustment), After: audit.State(out), Reason: note})
	})
	return out, err
}

func scanAdjClient(row pgx.Row) (storedAdj, error) {
	var a storedAdj
	var amount int64
	err := row.Scan(&a.ID, &a.ParticipantID, &a.ProgramID, &amount, &a.Reason, &a.Document, &a.Status,
		&a.MakerID, &a.CheckerID, &a.DecisionNote, &a.LedgerTxID, &a.CreatedAt, &a.DecidedAt, &a.hash, &a.clientID)
	a.AmountKopecks = money.Kopecks(amount)
	a.Amount = a.AmountKopecks.String()
	a.NeedsSecondApproval = true
	return a, err
}
