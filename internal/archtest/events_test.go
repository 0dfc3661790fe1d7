package archtest

import (
	"strings"
	"testing"
)

// publishers are the stores that publish domain events to subscribers
// composed in cmd/loyaltyjam (receipt.Subscriber, ledger.ReleaseSubscriber,
// task.ReviewSubscriber, registry.CreditSubscriber) instead of writing
// notifications themselves.
var publishers = []string{
	"internal/postgres/receiptdb",
	"internal/postgres/ledgerdb",
	"internal/postgres/taskdb",
	"internal/postgres/registrydb",
}

// TestPublishersDoNotReachNotifydb keeps adapters depending on the domain,
// not sideways on each other (issue 15): a store that tells participants of
// its events does so through a subscriber the wiring passes in.
func TestPublishersDoNotReachNotifydb(t *testing.T) {
	graph, _ := loadGraph(t)
	target := module + "/internal/postgres/notifydb"
	for _, rel := range publishers {
		pkg := module + "/" + rel
		if _, ok := graph[pkg]; !ok {
			t.Fatalf("%s is not in the import graph: gone? update publishers", rel)
		}
		prev := map[string]string{pkg: ""}
		queue := []string{pkg}
		for len(queue) > 0 && prev[target] == "" {
			p := queue[0]
			queue = queue[1:]
			for _, imp := range graph[p] {
				if _, seen := prev[imp]; !seen {
					prev[imp] = p
					queue = append(queue, imp)
				}
			}
		}
		if _, reached := prev[target]; reached {
			var chain []string
			for q := target; q != ""; q = prev[q] {
				chain = append([]string{strings.TrimPrefix(q, module+"/")}, chain...)
			}
			t.Errorf("%s reaches notifydb: %s\npublish a domain event to a subscriber passed in by cmd/loyaltyjam instead",
				rel, strings.Join(chain, " → "))
		}
	}
}
