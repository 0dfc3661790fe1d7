package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/loyaltyjam/loyaltyjam/internal/password"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/tenant"
)

// A fresh installation gets its first operator from the command line: the
// account signs in with the password printed once (or given on stdin), has
// no client, and its creation is in the audit log; a taken e-mail and bad
// input are refused without an account.
func TestOperatorCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, url := pgtest.New(t)
	var out, errOut bytes.Buffer
	if err := operatorCmd(ctx, []string{"create", "--email", "ops@loyaltyjam.test", "--name", "Ольга"}, url, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("%v (%s)", err, &errOut)
	}
	m := regexp.MustCompile(`password \(shown once, keep it safe\): (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no password printed: %s", &out)
	}
	check := func(email, pw string) {
		t.Helper()
		var hash, role string
		var client *int64
		if err := db.QueryRow(ctx, `SELECT password_hash, role, client_id FROM dashboard_users WHERE email = $1`, email).Scan(&hash, &role, &client); err != nil {
			t.Fatal(err)
		}
		if role != "operator" || client != nil {
			t.Errorf("%s: role %s, client %v", email, role, client)
		}
		if err := password.Verify(pw, hash); err != nil {
			t.Errorf("%s: the password does not sign in: %v", email, err)
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'staff.create_operator' AND actor_kind = 'cli'
			AND after->>'email' = $1`, email).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s: %d audit entries (%v)", email, n, err)
		}
	}
	check("ops@loyaltyjam.test", m[1])

	out.Reset()
	if err := operatorCmd(ctx, []string{"create", "--email", "second@loyaltyjam.test", "--password-stdin"}, url,
		strings.NewReader("correct horse battery staple\n"), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "password") {
		t.Errorf("a password given on stdin is printed: %s", &out)
	}
	check("second@loyaltyjam.test", "correct horse battery staple")

	if err := operatorCmd(ctx, []string{"create", "--email", "OPS@loyaltyjam.test"}, url, strings.NewReader(""), &out, &errOut); !errors.Is(err, tenant.ErrEmailTaken) {
		t.Errorf("a taken e-mail (other case): %v", err)
	}
	for _, c := range []struct {
		args  []string
		stdin string
	}{
		{[]string{"create"}, ""},
		{[]string{"create", "--email", "not an address"}, ""},
		{[]string{"create", "--email", "Ops <x@y.test>"}, ""},
		{[]string{"create", "--email", "short@loyaltyjam.test", "--password-stdin"}, "short\n"},
		{[]string{"delete", "--email", "x@y.test"}, ""},
	} {
		if err := operatorCmd(ctx, c.args, url, strings.NewReader(c.stdin), &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v, want a usage error", c.args, err)
		}
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM dashboard_users WHERE role = 'operator' AND email LIKE '%loyaltyjam.test'`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d operator accounts, want 2 (%v)", n, err)
	}
}
