package seed_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

func TestDemoIsIdempotent(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	counts := func() map[string]int {
		m := map[string]int{}
		for _, tbl := range []string{"clients", "programs", "shops", "participants", "dashboard_users", "skus", "sku_gtins", "program_rules", "ledger_transactions"} {
			var n int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+tbl).Scan(&n); err != nil {
				t.Fatal(err)
			}
			m[tbl] = n
		}
		return m
	}
	if err := seed.Demo(ctx, pool, now); err != nil {
		t.Fatal(err)
	}
	first := counts()
	if first["skus"] != 80 || first["participants"] != len(seed.Participants) || first["programs"] != 2 ||
		first["program_rules"] != 2 || first["ledger_transactions"] != 2 {
		t.Fatalf("unexpected demo sizes: %v", first)
	}
	if err := seed.Demo(ctx, pool, now); err != nil {
		t.Fatal(err)
	}
	if second := counts(); !maps.Equal(first, second) {
		t.Fatalf("second seed changed data: %v → %v", first, second)
	}
}
