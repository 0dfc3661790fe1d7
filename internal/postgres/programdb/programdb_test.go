package programdb_test

import (
	"context"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/programdb"
)

// Which program an upload is filed under, and when it is refused.
func TestReceiptProgramFor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	s := programdb.New(db)
	var client int64
	if err := db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('c1', 'К') RETURNING id`).Scan(&client); err != nil {
		t.Fatal(err)
	}
	add := func(code, status, mech string) int64 {
		var id int64
		if err := db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, mechanics)
			VALUES ($1, $2, $2, $3, '2026-01-01', '2099-12-31', $4) RETURNING id`, client, code, status, "{"+mech+"}").Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	check := func(name string, tester bool, want int64, wantCode string) {
		t.Helper()
		id, err := s.ReceiptProgramFor(ctx, client, tester)
		code := ""
		if e, ok := apperr.As(err); ok {
			code = e.Code
		} else if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := int64(0)
		if id != nil {
			got = *id
		}
		if got != want || code != wantCode {
			t.Errorf("%s: %d %q, want %d %q", name, got, code, want, wantCode)
		}
	}
	check("no programs", false, 0, "")
	add("draft", "draft", "receipts")
	check("a draft only", false, 0, "")
	add("old", "closed", "receipts")
	check("closed only", false, 0, "program_closed")
	add("reg", "live", "registries")
	check("closed and a live registry program", false, 0, "program_closed")
	pilot := add("pilot", "test", "receipts")
	check("a test program, seller", false, 0, "")
	check("a test program, tester", true, pilot, "")
	live := add("live", "live", "receipts")
	check("one live", false, live, "")
	check("live and test, tester", true, 0, "")
	add("live2", "live", "receipts")
	check("two live", false, 0, "")
}
