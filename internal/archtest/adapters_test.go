package archtest

import (
	"strings"
	"testing"
)

// storePrefix is where the PostgreSQL adapters live: one package
// internal/postgres/<name>db per domain.
const storePrefix = "internal/postgres/"

// sidewaysAllowed are the store packages (non-test files) that may import
// another store, each with the reason. Keep it to test helpers: a store
// that needs another domain's writes in its transaction takes that
// domain's port (ledger.Postings, points.Catalogs) from the wiring instead.
var sidewaysAllowed = map[string]string{
	"internal/postgres/reportdb/reporttest": "a test helper that builds report fixtures through the real catalog, receipt and ledger stores; only tests import it",
}

// storeOf returns the store package rel belongs to ("internal/postgres/<x>db"
// for <x>db and everything under it), or "".
func storeOf(rel string) string {
	rest, ok := strings.CutPrefix(rel, storePrefix)
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	if !strings.HasSuffix(name, "db") {
		return "" // pgtest and the shared internal/postgres helpers
	}
	return storePrefix + name
}

// TestStoresDoNotImportEachOther keeps adapters depending on the domain,
// not sideways on each other (issue 15): no internal/postgres/<x>db imports
// another <y>db. Shared plumbing lives in internal/postgres (transactions,
// outage errors) and internal/postgres/pgtest; another domain's writes come
// through a port the domain owns, implemented by its store and passed in
// by cmd/loyaltyjam, and joined to the caller's transaction through the
// context (postgres.InTx).
func TestStoresDoNotImportEachOther(t *testing.T) {
	graph, internal := loadGraph(t)
	stores := 0
	for _, pkg := range internal {
		rel := strings.TrimPrefix(pkg, module+"/")
		own := storeOf(rel)
		if own == "" {
			continue
		}
		stores++
		_, allowed := sidewaysAllowed[rel]
		var sideways []string
		for _, imp := range graph[pkg] {
			irel := strings.TrimPrefix(imp, module+"/")
			if other := storeOf(irel); other != "" && other != own {
				sideways = append(sideways, irel)
			}
		}
		switch {
		case len(sideways) > 0 && !allowed:
			t.Errorf("%s imports %s: take the other domain's port (an interface the user owns, implemented by that store) from cmd/loyaltyjam instead",
				rel, strings.Join(sideways, ", "))
		case len(sideways) == 0 && allowed:
			t.Errorf("%s no longer imports another store: delete it from sidewaysAllowed", rel)
		}
	}
	if stores < 8 {
		t.Fatalf("found %d store packages under %s; moved?", stores, storePrefix)
	}
	for rel := range sidewaysAllowed {
		if _, ok := graph[module+"/"+rel]; !ok {
			t.Errorf("sidewaysAllowed names %s, which is not in the import graph: delete it", rel)
		}
	}
}

func TestStoreOf(t *testing.T) {
	for rel, want := range map[string]string{
		"internal/postgres/ledgerdb":            "internal/postgres/ledgerdb",
		"internal/postgres/reportdb/reporttest": "internal/postgres/reportdb",
		"internal/postgres/pgtest":              "",
		"internal/postgres":                     "",
		"internal/ledger":                       "",
	} {
		if got := storeOf(rel); got != want {
			t.Errorf("storeOf(%q) = %q, want %q", rel, got, want)
		}
	}
}
