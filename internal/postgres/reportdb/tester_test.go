package reportdb_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// A tester's receipts (a program in test) never count in the client's
// figures: neither the hook nor a rebuild adds them.
func TestTesterReceiptsLeaveFigures(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.New(t)
	d := reporttest.Load(t, db, now)
	ctx := context.Background()
	// The figures: every rollup but rpt_receipt_sku, the index the receipt
	// search uses (a tester's receipt stays findable in the receipt list).
	figures := func() []string {
		var out []string
		for _, l := range dump(t, db) {
			if !strings.HasPrefix(l, "rsku ") {
				out = append(out, l)
			}
		}
		return out
	}
	before := figures()
	v := d.Vetluga
	if _, err := db.Exec(ctx, `UPDATE participants SET is_tester = true WHERE id = $1`, v.Participants[0]); err != nil {
		t.Fatal(err)
	}
	reporttest.AddReceipt(t, d.Receipts, &v, &v.ShopIDs[0], 0, time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC), receipt.Credited)
	if after := figures(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a tester's receipt changed the rollups:\nbefore: %v\nafter:  %v", before, after)
	}
	// A rebuild leaves out every receipt of the tester, the earlier ones too.
	if err := reportdb.Rebuild(ctx, db); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM rpt_receipt_state WHERE participant_id = $1`, v.Participants[0]).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("rebuilt rollups hold %d receipts of a tester", n)
	}
}
