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

// failingSubscriber writes a row through the change's transaction, records
// what it was published, then fails while fail is set.
type failingSubscriber struct {
	fail bool
	seen []receipt.Changed
}

func (s *failingSubscriber) ReceiptChanged(ctx context.Context, tx pgx.Tx, c receipt.Changed) error {
	s.seen = append(s.seen, c)
	if _, err := tx.Exec(ctx, `INSERT INTO clients (code, name) VALUES ($1, 'written by a subscriber')`,
		"sub-"+string(c.Receipt.Status)); err != nil {
		return err
	}
	if s.fail {
		return errSubscriber
	}
	return nil
}

var errSubscriber = errors.New("subscriber failed")

// A subscriber consumes the change inside the transaction that stores it:
// it sees the receipt as stored, and its failure rolls back the receipt's
// change together with whatever it wrote; changes that record no event
// publish nothing.
func TestSubscriberSharesTheChangesTransaction(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.New(t)
	ctx := context.Background()
	pool.Exec(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Acme')`)
	pool.Exec(ctx, `INSERT INTO participants (client_id, phone, role) VALUES (1, '+79990000001', 'seller')`)
	sub := &failingSubscriber{}
	store := receiptdb.New(pool, sub)
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	sub.fail = true
	if _, err := store.Create(ctx, newReceipt(1, 1, "k1")); !errors.Is(err, errSubscriber) {
		t.Fatalf("create with a failing subscriber: %v", err)
	}
	if n := count(`SELECT count(*) FROM receipts`); n != 0 {
		t.Fatalf("%d receipts stored although the subscriber failed", n)
	}

	sub.fail = false
	r := newReceipt(1, 1, "k1")
	if created, err := store.Create(ctx, r); err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	last := sub.seen[len(sub.seen)-1]
	if last.Receipt.ID != r.ID || last.Receipt.Status != receipt.Decoded || len(last.Events) != 1 ||
		last.Events[0].To != receipt.Decoded {
		t.Fatalf("published %+v, want the stored receipt %s and its decoded event", last, r.ID)
	}

	sub.fail = true
	err := store.Update(ctx, r.ID, func(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) error {
		return r.Transition(receipt.Queued, "system", "enqueued", nil)
	})
	if !errors.Is(err, errSubscriber) {
		t.Fatalf("update with a failing subscriber: %v", err)
	}
	got, err := store.Get(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != receipt.Decoded || len(got.Events) != 1 || count(`SELECT count(*) FROM clients WHERE code = 'sub-queued'`) != 0 {
		t.Fatalf("failed subscriber left status %s, %d events", got.Status, len(got.Events))
	}

	// No event, no publication.
	calls := len(sub.seen)
	if err := store.Update(ctx, r.ID, func(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) error {
		r.Attempts++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(sub.seen) != calls {
		t.Fatalf("an update without events was published: %+v", sub.seen[calls:])
	}
}
