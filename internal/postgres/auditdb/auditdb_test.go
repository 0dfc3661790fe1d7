package auditdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
)

func TestRecordListAndAppendOnly(t *testing.T) {
	ctx := context.Background()
	db, _ := pgtest.New(t)
	var a, b int64
	if err := db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('a-co', 'A') RETURNING id`).Scan(&a); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('b-co', 'B') RETURNING id`).Scan(&b); err != nil {
		t.Fatal(err)
	}
	s := auditdb.New(db)
	actor := audit.Actor{Kind: audit.CLI, Name: "ops"}
	for i, c := range []int64{a, a, b, 0} {
		e := audit.Entry{ClientID: c, Actor: actor, Action: "program.create", ObjectKind: "program",
			ObjectID: strings.Repeat("1", i+1), After: audit.State(map[string]int{"n": i})}
		if err := s.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List(ctx, audit.Filter{ClientID: a})
	if err != nil || len(got) != 2 || got[0].ObjectID != "11" || string(got[0].After) != `{"n": 1}` {
		t.Fatalf("client a's entries = %+v, %v", got, err)
	}
	if got, _ := s.List(ctx, audit.Filter{}); len(got) != 1 || got[0].ClientID != 0 {
		t.Fatalf("an empty filter must list platform entries only, got %+v", got)
	}
	if got, _ := s.List(ctx, audit.Filter{AllClients: true, Limit: 2}); len(got) != 2 {
		t.Fatalf("limit 2 gave %d", len(got))
	} else if next, _ := s.List(ctx, audit.Filter{AllClients: true, BeforeID: got[1].ID}); len(next) != 2 {
		t.Fatalf("second page has %d entries, want 2", len(next))
	}
	if _, err := db.Exec(ctx, `UPDATE audit_log SET reason = 'x'`); err == nil {
		t.Fatal("audit_log accepted an UPDATE")
	}
	if _, err := db.Exec(ctx, `DELETE FROM audit_log`); err == nil {
		t.Fatal("audit_log accepted a DELETE")
	}
}

// An entry recorded in a transaction that rolls back leaves no trace: the
// log and the change commit together.
func TestRecordJoinsTheContextTransaction(t *testing.T) {
	ctx := context.Background()
	db, _ := pgtest.New(t)
	s := auditdb.New(db)
	boom := errors.New("boom")
	err := postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		e := audit.Entry{Actor: audit.Actor{Kind: audit.System}, Action: "budget.top_up", ObjectKind: "program"}
		if err := s.Record(postgres.ContextWithTx(ctx, tx), e); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if got, _ := s.List(ctx, audit.Filter{AllClients: true}); len(got) != 0 {
		t.Fatalf("rolled-back entry was kept: %+v", got)
	}
	if err := s.Record(ctx, audit.Entry{Actor: audit.Actor{Kind: audit.Staff}, Action: "x.y", ObjectKind: "x"}); err == nil {
		t.Fatal("staff entry without an id was recorded")
	}
}
