package rewarddb_test

import (
	"context"
	"testing"
)

// The demo's catalog: a live program without offers gets every available
// reward; a program whose staff chose offers, a draft and a second run
// get nothing new.
func TestOfferAllInLivePrograms(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, 0, 0) // program p1 offers every synced reward already
	var empty, draft int64
	must(t, f.db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on)
		VALUES ($1, 'p2', 'P2', 'live', '2025-01-01', '2027-12-31') RETURNING id`, f.client).Scan(&empty))
	must(t, f.db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on)
		VALUES ($1, 'p3', 'P3', 'draft', '2025-01-01', '2027-12-31') RETURNING id`, f.client).Scan(&draft))
	must(t, f.db.QueryRow(ctx, `UPDATE rewards SET available = false WHERE id = (SELECT min(id) FROM rewards) RETURNING 0`).Scan(new(int)))
	var rewards, p1Before int
	must(t, f.db.QueryRow(ctx, `SELECT count(*) FROM rewards WHERE available AND enabled`).Scan(&rewards))
	must(t, f.db.QueryRow(ctx, `SELECT count(*) FROM reward_offers WHERE program_id = $1`, f.program).Scan(&p1Before))

	n, err := f.store.OfferAllInLivePrograms(ctx)
	must(t, err)
	if n != rewards || rewards == 0 {
		t.Fatalf("created %d offers, want %d (the available rewards, in the one live program without offers)", n, rewards)
	}
	count := func(program int64) (c int) {
		must(t, f.db.QueryRow(ctx, `SELECT count(*) FROM reward_offers WHERE program_id = $1`, program).Scan(&c))
		return c
	}
	if got := count(empty); got != rewards {
		t.Errorf("live program without offers: %d offers, want %d", got, rewards)
	}
	if got := count(draft); got != 0 {
		t.Errorf("draft program: %d offers", got)
	}
	if got := count(f.program); got != p1Before {
		t.Errorf("program with its own offers: %d → %d", p1Before, got)
	}
	if n, err := f.store.OfferAllInLivePrograms(ctx); err != nil || n != 0 {
		t.Errorf("second run: %d offers, %v", n, err)
	}
}
