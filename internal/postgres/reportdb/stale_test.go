package reportdb_test

import (
	"context"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
)

// TestStale: receipts stored through the hook leave nothing stale; a
// receipt the rollups miss makes them stale until a rebuild.
func TestStale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	reporttest.Load(t, db, now)
	check := func(want bool, when string) {
		t.Helper()
		got, err := reportdb.Stale(ctx, db)
		if err != nil || got != want {
			t.Fatalf("%s: Stale = %v, %v; want %v", when, got, err, want)
		}
	}
	check(false, "after storing through the hook")
	if _, err := db.Exec(ctx, `DELETE FROM rpt_receipt_state WHERE receipt_id = (SELECT id FROM receipts WHERE program_id IS NOT NULL LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	check(true, "with a receipt the rollups miss")
	if err := reportdb.Rebuild(ctx, db); err != nil {
		t.Fatal(err)
	}
	check(false, "after a rebuild")
}
