package receiptdb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// reject moves a stored claim through verification to rejected for reason.
func reject(t *testing.T, store *receiptdb.Store, id, reason string) {
	t.Helper()
	err := store.Update(context.Background(), id, func(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) error {
		for _, to := range []receipt.Status{receipt.Queued, receipt.Verifying} {
			if err := r.Transition(to, "worker", "step", nil); err != nil {
				return err
			}
		}
		return r.Transition(receipt.Rejected, "worker", reason, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Issue 13: a participant of client B who read fn/i/fp off client A's
// receipt claims it first. A rejection for not belonging gives the
// identity back in the same transaction, so A's seller can claim it; a
// moderator's rejection keeps it; the squatter re-sending it gets their
// own rejected claim back instead of a new live one.
func TestRejectedSquatReleasesFiscalIdentity(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.New(t)
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO clients (id, code, name) OVERRIDING SYSTEM VALUE VALUES (1, 'acme', 'A'), (2, 'rival', 'B')`,
		`INSERT INTO participants (id, client_id, phone, role) OVERRIDING SYSTEM VALUE VALUES
			(1, 1, '+79990000001', 'seller'), (2, 2, '+79990000002', 'seller'), (3, 2, '+79990000003', 'seller')`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	store := receiptdb.New(pool)
	claim := func(participant, client int64, fd int64) (*receipt.Receipt, bool, error) {
		r := newReceipt(participant, fd, "")
		r.ClientID = client
		created, err := store.Create(ctx, r)
		return r, created, err
	}

	for i, reason := range []string{"shop_mismatch", "sum_mismatch", "ofd_not_found"} {
		t.Run(reason, func(t *testing.T) {
			fd := int64(i+1) * 1000
			squat, created, err := claim(2, 2, fd)
			if err != nil || !created {
				t.Fatalf("squat: %v %v", created, err)
			}
			// While the squat is live the receipt is claimed.
			if _, _, err := claim(1, 1, fd); !errors.Is(err, receiptdb.ErrClaimedByOther) {
				t.Fatalf("claim next to a live squat: %v", err)
			}
			reject(t, store, squat.ID, reason)
			seller, created, err := claim(1, 1, fd)
			if err != nil || !created {
				t.Fatalf("the rightful seller after the squat was rejected (%s): created=%v err=%v", reason, created, err)
			}
			// The squatter sending it again gets their rejected claim back.
			again, created, err := claim(2, 2, fd)
			if err != nil || created || again.ID != squat.ID || again.Status != receipt.Rejected {
				t.Fatalf("squatter re-send: created=%v err=%v id=%s status=%s", created, err, again.ID, again.Status)
			}
			// Another participant still cannot take it from the seller.
			if _, _, err := claim(3, 2, fd); !errors.Is(err, receiptdb.ErrClaimedByOther) {
				t.Fatalf("claim of the seller's receipt: %v", err)
			}
			_ = seller
		})
	}

	t.Run("moderator_rejected keeps it", func(t *testing.T) {
		const fd = 777
		r, _, err := claim(2, 2, fd)
		if err != nil {
			t.Fatal(err)
		}
		reject(t, store, r.ID, "moderator_rejected")
		if _, _, err := claim(1, 1, fd); !errors.Is(err, receiptdb.ErrClaimedByOther) {
			t.Fatalf("claim after a moderator's rejection: %v", err)
		}
	})

	// The database enforces it: two unreleased claims of one identity
	// cannot exist.
	if _, err := pool.Exec(ctx, `UPDATE receipts SET identity_released = false`); err == nil {
		t.Fatal("two live claims of one fiscal identity allowed")
	}
}
