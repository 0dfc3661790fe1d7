package workers_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/fiscal"
	"github.com/loyaltyjam/loyaltyjam/internal/ofd"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// Issue 13, end to end through the verify handler and the operator
// simulator: a participant of another client claims the receipt first by
// its printed fn/i/fp with a made-up sum; the operator does not confirm it,
// the claim is rejected and releases the identity, and the rightful seller
// then uploads the same receipt and is credited.
func TestSquattedReceiptReachesRightfulSeller(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var rival, squatter int64
	mustT(t, e.pool.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('rival', 'Rival') RETURNING id`).Scan(&rival))
	mustT(t, e.pool.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role) VALUES ($1, '+79990000777', 'seller')
		RETURNING id`, rival).Scan(&squatter))
	proc := &testProcessor{}
	_, h := e.service(t, svcOptions{processor: proc})

	n := seq.Add(1)
	real := fiscal.Payload{Time: time.Now().Add(-time.Hour).UTC().Truncate(time.Minute), SumKopecks: 250_000,
		FN: scenarioFN(0, 0), FD: uint32(n), FP: uint32(2_000_000 + n), Operation: 1}
	// The operator knows the receipt with its real sum.
	_, err := e.proverkacheka(t).Fetch(ctx, ofd.Query{FN: real.FN, FD: uint64(real.FD), FP: uint64(real.FP),
		Operation: 1, Time: real.Time, SumKopecks: real.SumKopecks, Raw: real.Canonical()})
	mustT(t, err)

	claim := func(client, participant int64, p fiscal.Payload) (*receipt.Receipt, error) {
		r := &receipt.Receipt{ClientID: client, ParticipantID: participant, Source: receipt.SourceQR, QRRaw: p.Canonical(),
			QRCanonical: p.Canonical(), FN: p.FN, FD: int64(p.FD), FP: int64(p.FP), Operation: p.Operation,
			PurchasedAt: p.Time, SumKopecks: p.SumKopecks}
		mustT(t, r.Transition(receipt.Decoded, "participant", "uploaded_qr", nil))
		mustT(t, r.Transition(receipt.Queued, "system", "enqueued", nil))
		_, err := e.store.Create(ctx, r)
		return r, err
	}
	fake := real
	fake.SumKopecks = 99_900
	squat, err := claim(rival, squatter, fake)
	mustT(t, err)
	if _, err := claim(1, 1, real); !errors.Is(err, receiptdb.ErrClaimedByOther) {
		t.Fatalf("seller's claim next to the live squat: %v", err)
	}
	mustT(t, h.Verify(ctx, verifyTask(t, squat.ID)))
	got := e.get(t, squat.ID)
	if got.Status != receipt.Rejected || !got.IdentityReleased {
		t.Fatalf("squat: %s (%s) released=%v", got.Status, got.StatusReason, got.IdentityReleased)
	}

	seller, err := claim(1, 1, real)
	if err != nil {
		t.Fatalf("the rightful seller's claim after the squat was rejected: %v", err)
	}
	mustT(t, h.Verify(ctx, verifyTask(t, seller.ID)))
	if got := e.get(t, seller.ID); got.Status != receipt.Credited || e.credits(t, seller.ID) != 1 {
		t.Fatalf("seller's receipt: %s (%s), %d credits", got.Status, got.StatusReason, e.credits(t, seller.ID))
	}
	if e.credits(t, squat.ID) != 0 {
		t.Fatal("the squat was credited")
	}
}
