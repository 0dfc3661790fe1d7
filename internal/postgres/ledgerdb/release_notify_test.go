package ledgerdb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/notify"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
)

type releaseIntent struct {
	participant int64
	program     string
	points      int64
	key         string
}

func releaseIntents(t *testing.T, f fixture) []releaseIntent {
	t.Helper()
	rows, err := f.db.Query(context.Background(), `SELECT participant_id, event_type, data, dedup_key
		FROM notification_intents ORDER BY id`)
	must(t, err)
	var got []releaseIntent
	for rows.Next() {
		var in releaseIntent
		var typ string
		var raw []byte
		must(t, rows.Scan(&in.participant, &typ, &raw, &in.key))
		if typ != string(notify.PointsReleased) {
			t.Errorf("intent %s has type %s", in.key, typ)
		}
		var d notify.Data
		must(t, json.Unmarshal(raw, &d))
		// The stored snapshot renders: the dispatcher needs nothing else.
		c, err := notify.Render(notify.PointsReleased, d)
		if err != nil || c.Title == "" {
			t.Errorf("intent %s does not render: %v", in.key, err)
		}
		in.program, in.points = d.ProgramName, d.PointsKopecks
		got = append(got, in)
	}
	must(t, rows.Err())
	sortIntents(got)
	return got
}

func sortIntents(l []releaseIntent) {
	sort.Slice(l, func(i, j int) bool {
		if l[i].participant != l[j].participant {
			return l[i].participant < l[j].participant
		}
		if l[i].program != l[j].program {
			return l[i].program < l[j].program
		}
		return l[i].points < l[j].points
	})
}

// A release tells each participant once per program, in the release's
// transaction: again-runs and concurrent runs add nothing, a late receipt's
// release is a new event and is told.
func TestReleaseWritesOneIntentPerParticipantAndProgram(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, 3, "period_close", 100_000)
	s := ledgerdb.New(f.db, notifydb.Notifier{})
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	// A second program of the same client; participant 0 sells in both.
	var p2 int64
	must(t, f.db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, budget_kopecks, crediting)
		VALUES ($1, 'p2', 'Весна', 'live', '2025-01-01', '2025-12-31', 100000, 'period_close') RETURNING id`, f.client).Scan(&p2))
	must(t, postgres.WithTx(ctx, f.db, func(tx pgx.Tx) error { _, err := ledgerdb.SyncBudget(ctx, tx, p2); return err }))
	pend := func(program, participant, amount int64, on string) {
		t.Helper()
		_, err := post(ctx, f.db, ledger.Transaction{IdempotencyKey: fmt.Sprintf("r:%d:%d:%s:%d", program, participant, on, amount),
			Kind: ledger.KindReceiptCredit, ClientID: f.client, ProgramID: program, ParticipantID: participant,
			OccurredOn: day(on), Postings: ledger.Credit(f.client, program, participant, amount, true)})
		must(t, err)
	}
	pA, pB, pC := f.participants[0], f.participants[1], f.participants[2]
	pend(f.program, pA, 1_000, "2025-01-10")
	pend(f.program, pA, 500, "2025-01-20") // two receipts, one release
	pend(p2, pA, 2_000, "2025-01-15")
	pend(f.program, pB, 3_000, "2025-01-31")
	pend(f.program, pC, 700, "2025-02-02") // February: not yet released

	// Four workers run the hourly job at once, then it runs again.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := s.ReleaseDue(ctx, day("2025-02-03")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n, total, err := s.ReleaseDue(ctx, day("2025-02-03")); err != nil || n != 0 || total != 0 {
		t.Fatalf("second run released %d participants %d kopecks (%v), want nothing", n, total, err)
	}
	want := []releaseIntent{{pA, "P1", 1_500, ""}, {pA, "Весна", 2_000, ""}, {pB, "P1", 3_000, ""}}
	check := func(want []releaseIntent) {
		t.Helper()
		got := releaseIntents(t, f)
		want = append([]releaseIntent(nil), want...)
		sortIntents(want)
		if len(got) != len(want) {
			t.Fatalf("intents %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i].participant != want[i].participant || got[i].program != want[i].program || got[i].points != want[i].points {
				t.Fatalf("intent %d = %+v, want %+v", i, got[i], want[i])
			}
		}
	}
	check(want)

	// A late January receipt of B is released, and told, by the next run.
	pend(f.program, pB, 400, "2025-01-25")
	if n, total, err := s.ReleaseDue(ctx, day("2025-02-04")); err != nil || n != 1 || total != 400 {
		t.Fatalf("late release: %d %d %v", n, total, err)
	}
	check(append(want, releaseIntent{pB, "P1", 400, ""}))
	if n, _, err := s.ReleaseDue(ctx, day("2025-02-04")); err != nil || n != 0 {
		t.Fatalf("run after the late release: %d %v", n, err)
	}
	check(append(want, releaseIntent{pB, "P1", 400, ""}))

	// Every intent belongs to exactly one release transaction.
	var orphans int64
	must(t, f.db.QueryRow(ctx, `SELECT count(*) FROM notification_intents i
		WHERE NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.idempotency_key = i.dedup_key AND t.kind = $1)`,
		ledger.KindRelease).Scan(&orphans))
	if orphans != 0 {
		t.Errorf("%d intents without their release transaction", orphans)
	}
}
