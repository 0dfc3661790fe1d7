package reportdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb/reporttest"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
)

// TestForeignLinesLeaveUnmatched: a line marked «не наш товар» leaves the
// unmatched list of its client (not the other client's), later receipts'
// lines that normalise the same stay out of it, the mark records who and
// when, and taking it back lists the lines again.
func TestForeignLinesLeaveUnmatched(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.New(t)
	d := reporttest.Load(t, db, now)
	ctx := context.Background()
	s, cat := reportdb.New(db), catalogdb.New(db)
	v := &d.Vetluga
	p, err := s.Program(ctx, access.Staff{Role: access.Operator}, v.ProgramID)
	if err != nil {
		t.Fatal(err)
	}
	// A second unmatched name, so the list does not simply empty.
	other := *v
	other.Unmatched = "Хлеб белый нарезной"
	reporttest.AddReceipt(t, d.Receipts, &other, &v.ShopIDs[0], 0, time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC), receipt.Credited)
	names := func() ([]string, int64) {
		t.Helper()
		rows, total, err := s.Unmatched(ctx, p, 50)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rows {
			out = append(out, r.Name)
		}
		return out, total
	}
	before, total := names()
	if len(before) != 2 || total != 2 {
		t.Fatalf("unmatched before: %q (%d)", before, total)
	}
	var manager int64
	if err := db.QueryRow(ctx, `SELECT id FROM dashboard_users WHERE email = $1`, v.ManagerEmail).Scan(&manager); err != nil {
		t.Fatal(err)
	}
	mark, err := cat.MarkForeign(ctx, v.ClientID, manager, "  "+v.Unmatched+" ")
	if err != nil {
		t.Fatal(err)
	}
	after, total := names()
	if len(after) != 1 || total != 1 || after[0] != "Хлеб белый нарезной" {
		t.Errorf("unmatched after marking %q: %q (%d)", v.Unmatched, after, total)
	}
	// A later receipt spelling the same goods differently (upper case,
	// Е for Ё, doubled spaces) is not listed either.
	variant := *v
	variant.Unmatched = strings.ToUpper(strings.ReplaceAll(strings.ReplaceAll(v.Unmatched, "Ё", "Е"), " ", "  "))
	reporttest.AddReceipt(t, d.Receipts, &variant, &v.ShopIDs[0], 1, time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC), receipt.Credited)
	if got, total := names(); len(got) != 1 || total != 1 {
		t.Errorf("a later receipt's %q is listed: %q (%d)", variant.Unmatched, got, total)
	}
	// The other client still sees its own line of the same kind.
	kp, err := s.Program(ctx, access.Staff{Role: access.Operator}, d.Krasnodol.ProgramID)
	if err != nil {
		t.Fatal(err)
	}
	if rows, _, err := s.Unmatched(ctx, kp, 50); err != nil || len(rows) != 1 {
		t.Errorf("krasnodol's unmatched: %v %v", rows, err)
	}
	// Who and when.
	list, err := cat.ForeignLines(ctx, v.ClientID, 10)
	if err != nil || len(list) != 1 || list[0].Name != v.Unmatched || list[0].NameNorm != mark.NameNorm ||
		list[0].DismissedBy == "" || list[0].DismissedAt.IsZero() {
		t.Fatalf("foreign lines: %+v %v", list, err)
	}
	if l, _ := cat.ForeignLines(ctx, d.Krasnodol.ClientID, 10); len(l) != 0 {
		t.Errorf("krasnodol sees vetluga's marks: %+v", l)
	}
	// Reversible.
	if err := cat.UnmarkForeign(ctx, d.Krasnodol.ClientID, mark.NameNorm); !errors.Is(err, catalogdb.ErrForeignNotFound) {
		t.Errorf("another client unmarks: %v", err)
	}
	if err := cat.UnmarkForeign(ctx, v.ClientID, mark.NameNorm); err != nil {
		t.Fatal(err)
	}
	if got, total := names(); len(got) != 3 || total != 3 {
		t.Errorf("after taking the mark back: %q (%d), want both spellings and the bread", got, total)
	}
	if _, err := cat.MarkForeign(ctx, v.ClientID, manager, " , "); !errors.Is(err, catalogdb.ErrLineNameEmpty) {
		t.Errorf("empty name: %v", err)
	}
	// A rebuild computes the normalised names again.
	if err := reportdb.Rebuild(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.MarkForeign(ctx, v.ClientID, manager, v.Unmatched); err != nil {
		t.Fatal(err)
	}
	if got, _ := names(); len(got) != 1 {
		t.Errorf("after a rebuild, marked lines are listed: %q", got)
	}
}
