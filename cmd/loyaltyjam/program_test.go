package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
)

// TestProgramCommands: an operator creates a program, gives it rules and
// moves it to live from the command line; every change is in the audit log
// as a cli action; refusals change nothing.
func TestProgramCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, url := pgtest.New(t)
	if _, err := db.Exec(ctx, `INSERT INTO clients (code, name) VALUES ('vetluga', 'Ветлуга')`); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := programCmd(ctx, args, url, &out, &errOut)
		return out.String(), err
	}
	if _, err := run("create", "--client", "vetluga", "--code", "spring", "--name", "Весна", "--from", "2026-01-01", "--to", "2099-12-31"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("status", "--client", "vetluga", "--program", "spring", "--to", "test"); err == nil || !strings.Contains(err.Error(), "правила") {
		t.Fatalf("test without rules: %v", err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	good := filepath.Join(dir, "rules.json")
	if err := os.WriteFile(bad, []byte(`{"earn":[{"percent_bp":500,"fixed_per_unit_kopecks":100}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, []byte(`{"earn":[{"percent_bp":500}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := run("rules", "--client", "vetluga", "--program", "spring", "--from", "2026-01-01", bad); err == nil || !strings.Contains(err.Error(), "что-то одно") {
		t.Fatalf("invalid rules: %v", err)
	}
	if out, err := run("rules", "--client", "vetluga", "--program", "spring", "--from", "2026-01-01", good); err != nil || !strings.Contains(out, "version 1") {
		t.Fatalf("rules: %q %v", out, err)
	}
	for _, to := range []string{"test", "live"} {
		if out, err := run("status", "--client", "vetluga", "--program", "spring", "--to", to); err != nil || !strings.Contains(out, to) {
			t.Fatalf("to %s: %q %v", to, out, err)
		}
	}
	if out, err := run("list", "--client", "vetluga"); err != nil || !strings.Contains(out, "spring\tlive\treceipts") {
		t.Fatalf("list: %q %v", out, err)
	}
	if _, err := run("list", "--client", "nobody"); err == nil {
		t.Fatal("an unknown client listed")
	}
	if _, err := run("frobnicate", "--client", "vetluga"); !errors.Is(err, errUsage) {
		t.Fatalf("unknown command: %v", err)
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE actor_kind = 'cli' AND object_kind = 'program'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 4 { // create, rules, test, live
		t.Fatalf("%d cli audit entries, want 4", n)
	}
}
