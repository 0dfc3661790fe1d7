package workers_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
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

// A provider that finds a receipt by its requisites without the sum
// returns the operator's data; a claim whose sum disagrees is rejected as
// sum_mismatch (not a generic mismatch) and releases the identity, and the
// seller with the real sum is credited.
func TestWrongSumClaimIsSumMismatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	// The simulator behind a front that drops "s" from the query.
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v, _ := url.ParseQuery(string(body))
		v.Del("s")
		enc := v.Encode()
		r.Body, r.ContentLength = io.NopCloser(strings.NewReader(enc)), int64(len(enc))
		e.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	f, err := ofd.NewProverkacheka(ofd.ProverkachekaConfig{BaseURL: front.URL, Token: "test-token", UseFields: true})
	mustT(t, err)
	_, h := e.service(t, svcOptions{processor: &testProcessor{}, fetcher: f})

	n := seq.Add(1)
	real := fiscal.Payload{Time: time.Now().Add(-time.Hour).UTC().Truncate(time.Minute), SumKopecks: 180_000,
		FN: scenarioFN(0, 0), FD: uint32(n), FP: uint32(3_000_000 + n), Operation: 1}
	_, err = e.proverkacheka(t).Fetch(ctx, ofd.Query{FN: real.FN, FD: uint64(real.FD), FP: uint64(real.FP),
		Operation: 1, Time: real.Time, SumKopecks: real.SumKopecks, Raw: real.Canonical()})
	mustT(t, err)
	var rival, squatter int64
	mustT(t, e.pool.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('rival', 'Rival') RETURNING id`).Scan(&rival))
	mustT(t, e.pool.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role) VALUES ($1, '+79990000778', 'seller')
		RETURNING id`, rival).Scan(&squatter))
	claim := func(client, participant int64, p fiscal.Payload) string {
		r := &receipt.Receipt{ClientID: client, ParticipantID: participant, Source: receipt.SourceQR, QRRaw: p.Canonical(),
			QRCanonical: p.Canonical(), FN: p.FN, FD: int64(p.FD), FP: int64(p.FP), Operation: p.Operation,
			PurchasedAt: p.Time, SumKopecks: p.SumKopecks}
		mustT(t, r.Transition(receipt.Decoded, "participant", "uploaded_qr", nil))
		mustT(t, r.Transition(receipt.Queued, "system", "enqueued", nil))
		created, err := e.store.Create(ctx, r)
		if err != nil || !created {
			t.Fatalf("claim by %d: created=%v err=%v", participant, created, err)
		}
		mustT(t, h.Verify(ctx, verifyTask(t, r.ID)))
		return r.ID
	}
	wrong := real
	wrong.SumKopecks = 1_800_000
	squat := e.get(t, claim(rival, squatter, wrong))
	if squat.Status != receipt.Rejected || squat.StatusReason != "sum_mismatch" || !squat.IdentityReleased {
		t.Fatalf("wrong-sum claim: %s (%s) released=%v", squat.Status, squat.StatusReason, squat.IdentityReleased)
	}
	if got := e.get(t, claim(1, 1, real)); got.Status != receipt.Credited {
		t.Fatalf("seller's claim: %s (%s)", got.Status, got.StatusReason)
	}
}
