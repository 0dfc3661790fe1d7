package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ofd"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

// missingDatabaseURL returns the URL of a database that does not exist yet
// on the test server, named so that it needs quoting (upper case, a dash),
// and drops it when t ends.
func missingDatabaseURL(t *testing.T) string {
	t.Helper()
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	name := "lj_Run-" + hex.EncodeToString(b)
	u, err := url.Parse(pgtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, pgtest.ServerURL())
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	return u.String()
}

// TestMigrateUpCreatesDatabase: `loyaltyjam migrate up` against a server
// that lacks the database creates it (a quoted identifier) and migrates it;
// a second run changes nothing.
func TestMigrateUpCreatesDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("applies every migration: skipped with -short")
	}
	ctx := context.Background()
	dbURL := missingDatabaseURL(t)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("LOG_LEVEL", "error")
	var out bytes.Buffer
	for i := range 2 {
		if err := run(ctx, []string{"migrate", "up"}, &out, &out); err != nil {
			t.Fatalf("migrate up (run %d): %v\n%s", i+1, err, &out)
		}
	}
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM programs`).Scan(&n); err != nil {
		t.Fatalf("migrated schema: %v", err)
	}
}

// TestSeedCommandProgramsAreLive: `loyaltyjam seed` (the production path,
// not dev) leaves every demo program live today, so a receipt bought now is
// inside the program's dates, and with a month of activity on its
// dashboard.
func TestSeedCommandProgramsAreLive(t *testing.T) {
	ctx := context.Background()
	db, dbURL := pgtest.New(t)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("LOG_LEVEL", "error")
	t.Setenv("PHOTO_DIR", t.TempDir())
	var out bytes.Buffer
	if err := run(ctx, []string{"seed"}, &out, &out); err != nil {
		t.Fatalf("seed: %v\n%s", err, &out)
	}
	rows, err := db.Query(ctx, `SELECT code, starts_on::text, ends_on::text,
		status = 'live' AND current_date BETWEEN starts_on AND ends_on AND ends_on >= current_date + 180 FROM programs ORDER BY code`)
	if err != nil {
		t.Fatal(err)
	}
	type prog struct {
		Code, Start, End string
		Live             bool
	}
	progs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[prog])
	if err != nil {
		t.Fatal(err)
	}
	if len(progs) == 0 {
		t.Fatal("seed made no programs")
	}
	for _, p := range progs {
		if !p.Live {
			t.Errorf("program %s runs %s…%s: not live today for the months ahead", p.Code, p.Start, p.End)
		}
	}
	// Not an empty demo: every program's dashboard has credited sales.
	var empty int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM programs p WHERE NOT EXISTS
		(SELECT 1 FROM rpt_day d WHERE d.program_id = p.id AND d.status = 'credited' AND d.points_kopecks > 0 AND d.sku_sum_kopecks > 0)`).Scan(&empty); err != nil {
		t.Fatal(err)
	}
	if empty > 0 {
		t.Errorf("%d demo programs have no credited sales on the dashboard after seed", empty)
	}
}

// TestOFDSimCommandKnowsSeededShops: a standalone `loyaltyjam ofdsim` (the
// production-shaped start, not dev) answers for a seeded shop's fiscal drive
// with that shop's INN and KKT, so the pipeline's shop check passes.
func TestOFDSimCommandKnowsSeededShops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"ofdsim", "-addr", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ofdsim: %v", err)
		}
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("ofdsim printed no address: %v", err)
	}
	go io.Copy(io.Discard, pr)
	base := strings.TrimSpace(strings.TrimPrefix(line, "ofdsim listening on "))
	client, err := ofd.NewProverkacheka(ofd.ProverkachekaConfig{BaseURL: base, Token: "any"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range seed.Shops {
		r, err := client.Fetch(ctx, ofd.Query{FN: s.FN, FD: 77, FP: 1234567890, Operation: 1})
		if err != nil {
			t.Fatalf("shop %s: %v", s.Code, err)
		}
		if r.SellerINN != s.INN || r.KKTRegID != s.KKT {
			t.Errorf("shop %s: simulator says INN %s, KKT %s; the seed has INN %s, KKT %s", s.Code, r.SellerINN, r.KKTRegID, s.INN, s.KKT)
		}
	}
}

// TestDevBannerSaysReadyAndHowToStop: the last thing `make run` prints
// starts with "ready:", lists the fresh QRs it was given and says how to
// stop the local PostgreSQL and Redis.
func TestDevBannerSaysReadyAndHowToStop(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	qrs := []seed.QR{{Shop: seed.Shops[0], Text: "t=20261207T0412&s=500.00&fn=" + seed.Shops[0].FN + "&i=100001&fp=3000100001&n=1"}}
	printDevBanner(&out, devConfig(t, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/x", "REDIS_URL": "redis://127.0.0.1:6379/0"}),
		devOFDSimAddr, simURLs{}, qrs)
	for _, want := range []string{"ready:", qrs[0].Text, "make stop", "/app/"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, &out)
		}
	}
}
