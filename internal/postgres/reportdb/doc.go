// Package reportdb is the PostgreSQL side of the client dashboard:
//
//   - rollups (rollup.go): Rollups, a receipt.Subscriber, keeps daily and
//     monthly aggregates in step with the receipt pipeline inside the
//     transaction of each receipt change, and Rebuild recomputes them from
//     raw rows (bulk loads, repair, and the test that the subscriber and
//     the raw rows agree);
//   - reports (reports.go): overview, sales, receipts, participants and
//     budget queries, read from the rollups so each page reads a few
//     thousand rows whatever the number of receipts;
//   - dashboard users and sessions (sessions.go): lock-out counters and
//     server-side sessions with their CSRF tokens;
//   - program settings (settings.go): SKUs and margin weights, confirmed
//     aliases, rules. These write catalog tables; they move to catalogdb
//     when that store offers the same operations.
//
// Every query takes the client id and filters by it as well as by the
// program, so a caller that forgot the access check still reads nothing of
// another tenant.
package reportdb
