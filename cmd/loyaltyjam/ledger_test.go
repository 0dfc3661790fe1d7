package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
)

func TestLedgerCheckDetectsTamperedBalance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, url := pgtest.New(t)
	var client, program int64
	if err := db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Acme') RETURNING id`).Scan(&client); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, starts_on, ends_on, budget_kopecks)
		VALUES ($1, 'p1', 'P', '2025-01-01', '2025-12-31', 5000) RETURNING id`, client).Scan(&program); err != nil {
		t.Fatal(err)
	}
	if err := postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		_, err := ledgerdb.SyncBudget(ctx, tx, program)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := checkLedger(ctx, url, &out); err != nil {
		t.Fatalf("clean ledger: %v\n%s", err, &out)
	}
	if !strings.Contains(out.String(), "ok:") {
		t.Fatalf("output:\n%s", &out)
	}
	if _, err := db.Exec(ctx, `UPDATE ledger_accounts SET balance_kopecks = 4999 WHERE kind = $1`, string(ledger.ProgramBudget)); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := checkLedger(ctx, url, &out)
	if !errors.Is(err, errLedgerDiscrepancy) || !strings.Contains(out.String(), "DISCREPANCY balance_mismatch") {
		t.Fatalf("tampered ledger: err %v\n%s", err, &out)
	}
}

// The worker's ledger store tells participants of their released points:
// the composition root subscribes the notifier to it, one intent per
// release, none again when nothing new is released.
func TestWiredLedgerToldOfReleases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dbURL := pgtest.New(t)
	d := testDeps(t, dbURL)
	var client, program, participant int64
	if err := db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'Acme') RETURNING id`).Scan(&client); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, starts_on, ends_on, budget_kopecks, crediting)
		VALUES ($1, 'p1', 'P', '2025-01-01', '2025-12-31', 5000, 'period_close') RETURNING id`, client).Scan(&program); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role) VALUES ($1, '+79000000001', 'seller')
		RETURNING id`, client).Scan(&participant); err != nil {
		t.Fatal(err)
	}
	if err := postgres.WithTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := ledgerdb.SyncBudget(ctx, tx, program); err != nil {
			return err
		}
		_, err := ledgerdb.Post(ctx, tx, ledger.Transaction{IdempotencyKey: "r1", Kind: ledger.KindReceiptCredit,
			ClientID: client, ProgramID: program, ParticipantID: participant,
			OccurredOn: time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC),
			Postings:   ledger.Credit(client, program, participant, 700, true)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	feb := time.Date(2025, 2, 3, 0, 0, 0, 0, time.UTC)
	for range 2 {
		if _, _, err := d.ledger.ReleaseDue(ctx, feb); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM notification_intents WHERE participant_id = $1 AND event_type = 'points_released'`,
		participant).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d points_released intents, want 1", n)
	}
}
