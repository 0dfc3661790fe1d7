package receiptdb_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

func newReceipt(participant int64, fd int64, key string) *receipt.Receipt {
	r := &receipt.Receipt{ClientID: 1, ParticipantID: participant, Source: receipt.SourceQR, IdempotencyKey: key,
		QRRaw: "raw", FN: "9282440300688488", FD: fd, FP: 1460060363, Operation: 1,
		PurchasedAt: time.Date(2020, 7, 9, 20, 8, 0, 0, time.UTC), SumKopecks: 727300}
	_ = r.Transition(receipt.Decoded, fmt.Sprintf("participant:%d", participant), "uploaded_qr", nil)
	return r
}

func TestClaimOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.New(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Acme')`); err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := 1; i <= n; i++ {
		if _, err := pool.Exec(ctx, `INSERT INTO participants (client_id, phone, role) VALUES (1, $1, 'seller')`, fmt.Sprintf("+7999000%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	store := receiptdb.New(pool)
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners, conflicts := 0, 0
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func(p int64) {
			defer wg.Done()
			created, err := store.Create(ctx, newReceipt(p, 14186, ""))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && created:
				winners++
			case errors.Is(err, receiptdb.ErrClaimedByOther):
				conflicts++
			default:
				t.Errorf("participant %d: created=%v err=%v", p, created, err)
			}
		}(int64(i))
	}
	wg.Wait()
	if winners != 1 || conflicts != n-1 {
		t.Fatalf("winners=%d conflicts=%d, want 1 and %d", winners, conflicts, n-1)
	}
	var owner int64
	if err := pool.QueryRow(ctx, `SELECT participant_id FROM receipts`).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	// The owner sending it again gets the same receipt back, not a conflict.
	again := newReceipt(owner, 14186, "")
	created, err := store.Create(ctx, again)
	if err != nil || created || again.Status != receipt.Decoded {
		t.Fatalf("owner resend: created=%v err=%v status=%s", created, err, again.Status)
	}
}

// statusRecorder is a receipt.Subscriber that records the status every
// published event moved to.
type statusRecorder struct{ statuses []receipt.Status }

func (s *statusRecorder) ReceiptChanged(_ context.Context, _ pgx.Tx, c receipt.Changed) error {
	for _, e := range c.Events {
		s.statuses = append(s.statuses, e.To)
	}
	return nil
}

func TestIdempotencyKeyAndUpdate(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.New(t)
	ctx := context.Background()
	pool.Exec(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Acme')`)
	pool.Exec(ctx, `INSERT INTO participants (client_id, phone, role) VALUES (1, '+79990000001', 'seller')`)
	var sub statusRecorder
	store := receiptdb.New(pool, &sub)
	r1 := newReceipt(1, 1, "key-1")
	if created, err := store.Create(ctx, r1); err != nil || !created {
		t.Fatalf("first: %v %v", created, err)
	}
	r2 := newReceipt(1, 2, "key-1") // a retry of the same upload
	if created, err := store.Create(ctx, r2); err != nil || created || r2.ID != r1.ID {
		t.Fatalf("retry with same key: created=%v err=%v id=%s want %s", created, err, r2.ID, r1.ID)
	}
	err := store.Update(ctx, r1.ID, func(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) error {
		if err := r.Transition(receipt.Queued, "system", "enqueued", nil); err != nil {
			return err
		}
		r.Items = []receipt.Item{{LineNo: 1, Name: "Кетчуп", PriceKopecks: 100, QuantityMilli: 1000, SumKopecks: 100}}
		r.ItemsChanged = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A failing update writes nothing.
	boom := errors.New("boom")
	err = store.Update(ctx, r1.ID, func(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) error {
		_ = r.Transition(receipt.Verifying, "worker", "verifying", nil)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("want boom, got %v", err)
	}
	got, err := store.GetForParticipant(ctx, 1, r1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != receipt.Queued || len(got.Items) != 1 || len(got.Events) != 2 {
		t.Fatalf("status=%s items=%d events=%d", got.Status, len(got.Items), len(got.Events))
	}
	if got.Events[1].Message == "" || got.Events[1].From != receipt.Decoded {
		t.Fatalf("event not recorded right: %+v", got.Events[1])
	}
	if _, err := store.GetForParticipant(ctx, 2, r1.ID); !errors.Is(err, receipt.ErrNotFound) {
		t.Fatalf("another participant sees the receipt: %v", err)
	}
	if err := store.Update(ctx, r1.ID, func(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) error {
		return r.Transition(receipt.Credited, "worker", "points_credited", nil)
	}); err == nil {
		t.Fatal("queued → credited allowed")
	}
	// The subscriber saw every stored event and nothing of the failed update.
	if hooked := sub.statuses; len(hooked) != 2 || hooked[0] != receipt.Decoded || hooked[1] != receipt.Queued {
		t.Fatalf("subscriber saw %v", hooked)
	}
	page, err := store.List(ctx, 1, "", "", 1)
	if err != nil || len(page.Receipts) != 1 {
		t.Fatalf("list: %v %d", err, len(page.Receipts))
	}
}
