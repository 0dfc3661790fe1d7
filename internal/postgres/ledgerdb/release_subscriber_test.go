package ledgerdb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
)

// releaseRecorder records the releases published to it and fails while
// fail is set.
type releaseRecorder struct {
	fail bool
	seen []ledger.Released
}

func (s *releaseRecorder) PointsReleased(_ context.Context, _ pgx.Tx, r ledger.Released) error {
	s.seen = append(s.seen, r)
	if s.fail {
		return errRelease
	}
	return nil
}

var errRelease = errors.New("release subscriber failed")

// A release is published to the store's subscribers in its own
// transaction: a failing subscriber rolls the release back (the next run
// releases it), and a working one hears it once.
func TestReleasePublishedInItsTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, 1, "period_close", 100_000)
	p := f.participants[0]
	jan := time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC)
	_, err := post(ctx, f.db, ledger.Transaction{IdempotencyKey: "r1", Kind: ledger.KindReceiptCredit, ClientID: f.client,
		ProgramID: f.program, ParticipantID: p, OccurredOn: jan, Postings: ledger.Credit(f.client, f.program, p, 1_200, true)})
	must(t, err)
	sub := &releaseRecorder{fail: true}
	s := ledgerdb.New(f.db, sub)
	feb := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)

	if _, _, err := s.ReleasePending(ctx, f.program, feb); !errors.Is(err, errRelease) {
		t.Fatalf("release with a failing subscriber: %v", err)
	}
	if b, err := s.Balance(ctx, p); err != nil || b.AvailableKopecks != 0 || b.PendingKopecks != 1_200 {
		t.Fatalf("balance after a failed subscriber %+v (%v), want all pending", b, err)
	}

	sub.fail, sub.seen = false, nil
	if n, total, err := s.ReleasePending(ctx, f.program, feb); err != nil || n != 1 || total != 1_200 {
		t.Fatalf("release: %d %d %v", n, total, err)
	}
	if n, _, err := s.ReleasePending(ctx, f.program, feb); err != nil || n != 0 {
		t.Fatalf("second release: %d %v", n, err)
	}
	want := []ledger.Released{{ClientID: f.client, ProgramID: f.program, ParticipantID: p, AmountKopecks: 1_200,
		Key: fmt.Sprintf("release:%d:%d:2025-02-01:1200", f.program, p)}}
	if d := cmp.Diff(want, sub.seen); d != "" {
		t.Fatalf("published releases (-want +got):\n%s", d)
	}
	var keyed int
	must(t, f.db.QueryRow(ctx, `SELECT count(*) FROM ledger_transactions WHERE idempotency_key = $1`, want[0].Key).Scan(&keyed))
	if keyed != 1 {
		t.Fatalf("%d release transactions under the published key, want 1", keyed)
	}
}
