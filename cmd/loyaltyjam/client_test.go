package main

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/report"
)

// TestClientTimeZone: "client timezone" sets clients.timezone (Moscow by
// default), refuses what is no IANA zone with bad_time_zone and an unknown
// client with not_found, changing nothing.
func TestClientTimeZone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, url := pgtest.New(t)
	if _, err := db.Exec(ctx, `INSERT INTO clients (code, name) VALUES ('vetluga', 'Ветлуга')`); err != nil {
		t.Fatal(err)
	}
	zone := func() string {
		t.Helper()
		var z string
		if err := db.QueryRow(ctx, `SELECT timezone FROM clients WHERE code = 'vetluga'`).Scan(&z); err != nil {
			t.Fatal(err)
		}
		return z
	}
	if z := zone(); z != "Europe/Moscow" {
		t.Fatalf("default zone %q", z)
	}
	var out, errOut bytes.Buffer
	if err := clientCmd(ctx, []string{"timezone", "--client", "vetluga", "Asia/Novosibirsk"}, url, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if z := zone(); z != "Asia/Novosibirsk" {
		t.Fatalf("zone %q after setting Asia/Novosibirsk", z)
	}
	for _, bad := range []string{"MSK", "UTC+3", "Mars/Phobos", "Local", "europe/moscow"} {
		err := clientCmd(ctx, []string{"timezone", "--client", "vetluga", bad}, url, &out, &errOut)
		if !errors.Is(err, report.ErrBadTimeZone) {
			t.Errorf("zone %q: %v", bad, err)
		}
	}
	if err := clientCmd(ctx, []string{"timezone", "--client", "nobody", "Europe/Moscow"}, url, &out, &errOut); !errors.Is(err, report.ErrNotFound) {
		t.Errorf("unknown client: %v", err)
	}
	if err := clientCmd(ctx, []string{"timezone", "--client", "vetluga"}, url, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("no zone: %v", err)
	}
	if z := zone(); z != "Asia/Novosibirsk" {
		t.Errorf("zone %q after refused changes", z)
	}
}
