package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/loyaltyjam/loyaltyjam"

// forbidden are the drivers a domain package must not reach: PostgreSQL
// (pgx), HTTP (Fiber), the queue (Asynq), Redis (go-redis) and Firebase.
var forbidden = []string{
	"github.com/jackc/pgx",
	"github.com/gofiber/fiber",
	"github.com/hibiken/asynq",
	"github.com/redis/go-redis",
	"firebase.google.com/go",
}

// infrastructure are the packages (with everything under them) that exist
// to hold drivers or wire them: storage, transport, the queue contract,
// process plumbing and seed data.
var infrastructure = []string{
	"internal/postgres",
	"internal/httpapi",
	"internal/dashboard",
	"internal/adminapi",
	"internal/metrics",
	"internal/queue",
	"internal/config",
	"internal/logging",
	"internal/seed",
}

// adapters are the few packages outside the infrastructure that implement
// a domain port with a driver. Keep this list short: a new driver belongs
// in internal/postgres/<name>db or a package of its own named here.
var adapters = map[string]string{
	"internal/notify/push/fcm":      "the FCM sender: the only package that may import Firebase",
	"internal/ofd/ofdredis":         "the fiscal operators' rate limiter on Redis",
	"internal/ratelimit/redislimit": "the shared attempt counters on Redis (with ratelimit.Memory as fallback)",
}

// knownViolations are the domain packages that break the rule today, each
// with the reason and the issue that removes it. The list must be exact:
// the test fails on a violation not listed here and on a listed package
// that no longer violates, so the list only shrinks. Delete a line when
// its fix lands.
var knownViolations = map[string]string{}

// isDomain reports whether rel (a path relative to the module) is a domain
// package: every package under internal/ except the infrastructure, the
// simulators (*sim), the test helpers (*test) and the adapters.
func isDomain(rel string) bool {
	if !strings.HasPrefix(rel, "internal/") {
		return false
	}
	for _, p := range infrastructure {
		if rel == p || strings.HasPrefix(rel, p+"/") {
			return false
		}
	}
	if strings.HasPrefix(rel, "internal/redis") { // internal/redistest and any Redis adapter
		return false
	}
	last := rel[strings.LastIndex(rel, "/")+1:]
	if strings.HasSuffix(last, "sim") || strings.HasSuffix(last, "test") {
		return false
	}
	_, adapter := adapters[rel]
	return !adapter
}

func isForbidden(path string) bool {
	for _, f := range forbidden {
		if path == f || strings.HasPrefix(path, f+"/") {
			return true
		}
	}
	return false
}

type listed struct {
	ImportPath string
	Imports    []string
	Error      *struct{ Err string }
}

// loadGraph returns the import graph (non-test files) of every package
// under internal/ and of everything they import.
func loadGraph(t *testing.T) (map[string][]string, []string) {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-deps", "-json=ImportPath,Imports,Error", module+"/internal/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	graph := map[string][]string{}
	var internal []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		graph[p.ImportPath] = p.Imports
		if strings.HasPrefix(p.ImportPath, module+"/internal/") {
			internal = append(internal, p.ImportPath)
		}
	}
	if len(internal) < 20 {
		t.Fatalf("go list found %d packages under internal/; is the module path %s?", len(internal), module)
	}
	slices.Sort(internal)
	return graph, internal
}

// forbiddenPath returns the import chain from pkg to the first forbidden
// package it reaches, or nil.
func forbiddenPath(graph map[string][]string, pkg string) []string {
	prev := map[string]string{pkg: ""}
	queue := []string{pkg}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, imp := range graph[p] {
			if _, seen := prev[imp]; seen {
				continue
			}
			prev[imp] = p
			if isForbidden(imp) {
				var chain []string
				for q := imp; q != ""; q = prev[q] {
					chain = append(chain, strings.TrimPrefix(q, module+"/"))
				}
				slices.Reverse(chain)
				return chain
			}
			queue = append(queue, imp)
		}
	}
	return nil
}

// TestDomainImportsNoDriver keeps the import rule of docs/architecture.md.
func TestDomainImportsNoDriver(t *testing.T) {
	graph, internal := loadGraph(t)
	domains := map[string]bool{}
	for _, pkg := range internal {
		rel := strings.TrimPrefix(pkg, module+"/")
		if !isDomain(rel) {
			continue
		}
		domains[rel] = true
		chain := forbiddenPath(graph, pkg)
		reason, known := knownViolations[rel]
		switch {
		case chain != nil && !known:
			t.Errorf("domain package %s reaches a driver: %s\n"+
				"move the driver code into an adapter (internal/postgres/<name>db, or a package listed in adapters)",
				rel, strings.Join(chain, " → "))
		case chain == nil && known:
			t.Errorf("%s no longer reaches a driver (listed: %q): delete it from knownViolations", rel, reason)
		}
	}
	for rel := range knownViolations {
		if !domains[rel] {
			t.Errorf("knownViolations lists %s, which is not a domain package (gone, or now infrastructure): delete it", rel)
		}
	}
	for rel := range adapters {
		if !slices.Contains(internal, module+"/"+rel) {
			t.Errorf("adapters lists %s, which does not exist: delete it", rel)
		}
	}
}

// TestIsDomain pins the classification the rule rests on.
func TestIsDomain(t *testing.T) {
	t.Parallel()
	for rel, want := range map[string]bool{
		"internal/receipt":                 true,
		"internal/catalog":                 true,
		"internal/points":                  true,
		"internal/notify":                  true,
		"internal/notify/inboxapi":         true,
		"internal/reward":                  true, // a new domain is covered without editing the test
		"internal/postgres":                false,
		"internal/postgres/receiptdb":      false,
		"internal/postgres/pgtest":         false,
		"internal/redistest":               false,
		"internal/httpapi":                 false,
		"internal/dashboard":               false,
		"internal/queue":                   false,
		"internal/ratelimit":               true, // Decision, Memory, ExceededError: no driver
		"internal/ratelimit/redislimit":    false,
		"internal/seed/demo":               false,
		"internal/ofd/ofdsim":              false,
		"internal/notify/push/fcmsim":      false,
		"internal/heaptest":                false,
		"internal/sheet/sheettest":         false,
		"internal/notify/push":             true, // Firebase-free since the sender moved to push/fcm
		"internal/notify/push/fcm":         false,
		"internal/ofd/ofdredis":            false,
		"internal/adminapi":                false,
		"mobile-api":                       false,
		"internal/postgresish":             true,
		"internal/postgres/reportdb/extra": false,
	} {
		if got := isDomain(rel); got != want {
			t.Errorf("isDomain(%q) = %v, want %v", rel, got, want)
		}
	}
}
