package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
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

// TestClientCreateListInvite: an operator at the command line creates a
// client (the ИНН's check digits verified), lists it and invites its
// manager; each change is in the audit log as the CLI's.
func TestClientCreateListInvite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, url := pgtest.New(t)
	var out, errOut bytes.Buffer
	args := []string{"create", "--code", "romashka", "--name", "ООО «Ромашка»", "--inn", "7707083893",
		"--contact-email", "ivan@romashka.ru", "--contact-phone", "+7 999 123-45-67", "--timezone", "Asia/Yekaterinburg"}
	if err := clientCmd(ctx, args, url, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	bad := append([]string(nil), args...)
	bad[2], bad[6] = "other", "7707083894"
	if err := clientCmd(ctx, bad, url, &out, &errOut); err == nil || !strings.Contains(err.Error(), "ИНН") {
		t.Errorf("bad ИНН: %v", err)
	}
	if err := clientCmd(ctx, args, url, &out, &errOut); err == nil {
		t.Error("the same code twice")
	}
	out.Reset()
	if err := clientCmd(ctx, []string{"list"}, url, &out, &errOut); err != nil || !strings.Contains(out.String(), "romashka") ||
		!strings.Contains(out.String(), "Asia/Yekaterinburg") || strings.Contains(out.String(), "other") {
		t.Errorf("list: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := clientCmd(ctx, []string{"invite", "--client", "romashka", "--email", "boss@romashka.ru", "--role", "client_manager"}, url, &out, &errOut); err != nil ||
		!strings.Contains(out.String(), "was not sent") {
		t.Errorf("invite without SMTP: %v %s", err, out.String())
	}
	if err := clientCmd(ctx, []string{"invite", "--client", "nobody", "--email", "x@y.ru", "--role", "moderator"}, url, &out, &errOut); err == nil {
		t.Error("invite into an unknown client")
	}
	if err := clientCmd(ctx, []string{"create", "--code"}, url, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("usage: %v", err)
	}
	rows, err := db.Query(ctx, `SELECT action, actor_kind, actor_name <> '' FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var a, k string
		var named bool
		if err := rows.Scan(&a, &k, &named); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s/%s/%v", a, k, named))
	}
	if strings.Join(got, " ") != "client.create/cli/true staff.invite/cli/true" {
		t.Errorf("audit log: %v", got)
	}
}
