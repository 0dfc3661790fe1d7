package archtest

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/loyaltyjam/loyaltyjam/"

// drivers are the import path prefixes that only adapters (internal/postgres,
// cmd wiring, mobile-api, workers, the FCM and Redis adapter packages) may
// reach.
var drivers = []string{
	"github.com/jackc/",         // pgx
	"github.com/gofiber/",       // Fiber
	"github.com/hibiken/asynq",  // Asynq
	"github.com/redis/go-redis", // go-redis
	"firebase.google.com/",      // Firebase
}

// domain are the domain packages (issue 15 lists them; every new domain
// joins the list).
var domain = []string{
	"internal/receipt", "internal/fiscal", "internal/qrscan", "internal/catalog", "internal/rules",
	"internal/ledger", "internal/points", "internal/verify", "internal/notify", "internal/notify/push",
	"internal/task", "internal/registry", "internal/kpi", "internal/ofd", "internal/report",
	"internal/money", "internal/phone", "internal/sheet", "internal/imagehash", "internal/password",
	"internal/access", "internal/apperr", "internal/sealbox",
}

// pending are domain packages still known to reach a driver, being moved
// out on other branches. A package that is clean fails the test until it
// is taken off this list, so the list only shrinks.
var pending = map[string]bool{}

// transport packages may use Fiber (and Redis counters) but no database
// driver.
var transport = map[string][]string{
	"internal/dashboard": {"github.com/jackc/", "github.com/hibiken/asynq", "firebase.google.com/"},
	"internal/httpapi":   {"github.com/jackc/", "github.com/hibiken/asynq", "firebase.google.com/"},
}

// deps lists every package pkg depends on, directly or not (go list -deps).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	cmd := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}", module+pkg)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// forbidden returns the deps of pkg that start with one of prefixes,
// shortened to the module (github.com/jackc/pgx/v5/pgconn → github.com/jackc/pgx).
func forbidden(t *testing.T, pkg string, prefixes []string) []string {
	seen := map[string]bool{}
	for _, d := range deps(t, pkg) {
		for _, p := range prefixes {
			if strings.HasPrefix(d, p) {
				parts := strings.SplitN(d, "/", 4)
				seen[strings.Join(parts[:min(3, len(parts))], "/")] = true
			}
		}
	}
	var out []string
	for d := range seen {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func TestDomainImportsNoDriver(t *testing.T) {
	for _, pkg := range domain {
		t.Run(pkg, func(t *testing.T) {
			bad := forbidden(t, pkg, drivers)
			switch {
			case pending[pkg] && len(bad) == 0:
				t.Errorf("%s reaches no driver any more: take it off the pending list", pkg)
			case pending[pkg]:
				t.Logf("pending: %s still reaches %v", pkg, bad)
			case len(bad) > 0:
				t.Errorf("%s reaches %v: a domain package holds no driver code (move it into an adapter: internal/postgres/<name>db, a Redis or FCM adapter package, cmd wiring)", pkg, bad)
			}
		})
	}
}

func TestTransportImportsNoDatabase(t *testing.T) {
	for pkg, prefixes := range transport {
		t.Run(pkg, func(t *testing.T) {
			if bad := forbidden(t, pkg, prefixes); len(bad) > 0 {
				t.Errorf("%s reaches %v: transport takes its stores as interfaces from the wiring", pkg, bad)
			}
		})
	}
}
