package workers_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/fiscal"
	"github.com/loyaltyjam/loyaltyjam/internal/ofd/ofdsim"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

// pointsWorld is the demo data set (internal/seed: two clients with a live
// program, rules, catalog and budget, four shops) plus many sellers per
// shop, with the shops registered in the test's simulator: a receipt of a
// shop's fn comes from that shop, so it matches program SKUs, passes the
// seller check and credits through the real points.Service.
type pointsWorld struct {
	sellers []benchSeller
	fd      uint32
}

// benchSeller is a participant of a demo shop; fn is the shop's fiscal drive.
type benchSeller struct {
	id, clientID int64
	fn           string
	kind         string
}

// seedPoints loads the demo data set and perShop active sellers in each
// demo shop. Throughput rows spread their receipts over the sellers so the
// anomaly thresholds (a dozen uploads an hour per seller) and the demo caps
// (2 000 points a seller a day) do not decide the outcome.
func (e *env) seedPoints(t testing.TB, perShop int) *pointsWorld {
	t.Helper()
	ctx := context.Background()
	// The programs start on the first of this seed time's month: two days
	// back covers receipts bought an hour ago on the first of a month.
	mustT(t, seed.Demo(ctx, e.pool, time.Now().Add(-48*time.Hour)))
	for _, s := range seed.Shops {
		e.sim.RegisterShop(s.FN, ofdsim.Shop{Name: s.Chain + " (" + s.Name + ")", INN: s.INN, Address: s.Address,
			KKTRegID: s.KKT, Kind: s.Kind})
	}
	fnOf := map[string]seed.Shop{}
	for _, s := range seed.Shops {
		fnOf[s.Code] = s
	}
	var codes []string
	for _, s := range seed.Shops {
		codes = append(codes, s.Code)
	}
	_, err := e.pool.Exec(ctx, `INSERT INTO participants (client_id, phone, name, role, shop_id, status)
		SELECT s.client_id, '+7981' || lpad((s.id * 100000 + g)::text, 7, '0'), 'Продавец ' || g, 'seller', s.id, 'active'
		FROM shops s CROSS JOIN generate_series(1, $2::int) g WHERE s.code = ANY($1)`, codes, perShop)
	mustT(t, err)
	rows, err := e.pool.Query(ctx, `SELECT p.id, p.client_id, s.code FROM participants p JOIN shops s ON s.id = p.shop_id
		WHERE p.phone LIKE '+7981%' ORDER BY p.id`)
	mustT(t, err)
	defer rows.Close()
	w := &pointsWorld{fd: 1000}
	for rows.Next() {
		var b benchSeller
		var code string
		mustT(t, rows.Scan(&b.id, &b.clientID, &code))
		b.fn, b.kind = fnOf[code].FN, fnOf[code].Kind
		w.sellers = append(w.sellers, b)
	}
	mustT(t, rows.Err())
	// Interleave the shops, so consecutive receipts belong to different
	// sellers, shops and programs.
	byShop := map[string][]benchSeller{}
	for _, b := range w.sellers {
		byShop[b.fn] = append(byShop[b.fn], b)
	}
	w.sellers = w.sellers[:0]
	for i := range perShop {
		for _, s := range seed.Shops {
			if l := byShop[s.FN]; i < len(l) {
				w.sellers = append(w.sellers, l[i])
			}
		}
	}
	if len(w.sellers) != perShop*len(seed.Shops) {
		t.Fatalf("%d sellers, want %d", len(w.sellers), perShop*len(seed.Shops))
	}
	return w
}

// newQueued stores the k-th receipt of a batch as the API leaves a QR
// upload (queued), for seller k mod len(sellers): the shop's fn, a fresh
// fiscal document number (i=1000, 1001, …; fp=3000000000+i), bought an hour
// ago; 1 500 roubles and up at the auto shops, 500 and up at the grocery
// ones, so the simulator's invented lines usually include program SKUs.
func (w *pointsWorld) newQueued(t testing.TB, e *env, k int) receipt.Receipt {
	t.Helper()
	b := w.sellers[k%len(w.sellers)]
	fd := w.fd
	w.fd++
	sum := int64(50_000)
	if b.kind == "auto" {
		sum = 150_000
	}
	sum += int64(fd%10) * 1_000
	p := fiscal.Payload{Time: time.Now().Add(-time.Hour).UTC().Truncate(time.Minute), SumKopecks: sum, FN: b.fn,
		FD: fd, FP: 3_000_000_000 + fd, Operation: 1}
	r := &receipt.Receipt{ClientID: b.clientID, ParticipantID: b.id, Source: receipt.SourceQR, QRRaw: p.Canonical(),
		QRCanonical: p.Canonical(), FN: p.FN, FD: int64(p.FD), FP: int64(p.FP), Operation: p.Operation,
		PurchasedAt: p.Time, SumKopecks: p.SumKopecks}
	mustT(t, r.Transition(receipt.Decoded, fmt.Sprintf("participant:%d", b.id), "uploaded_qr", nil))
	mustT(t, r.Transition(receipt.Queued, "system", "enqueued", nil))
	if created, err := e.store.Create(context.Background(), r); err != nil || !created {
		t.Fatalf("create receipt: created=%v err=%v", created, err)
	}
	return *r
}

// checkPoints asserts what the points rows must leave behind, whatever the
// speed: every receipt of ids terminal, exactly one receipt credit in the
// ledger for each credited receipt (of its points) and none for the rest,
// and a ledger that balances (ledgerdb Store.Check). It returns the
// receipts per status and per "status/reason" of those not credited.
func (e *env) checkPoints(t *testing.T, ids []string) (byStatus, byReason map[string]int) {
	t.Helper()
	ctx := context.Background()
	byStatus, byReason = map[string]int{}, map[string]int{}
	rows, err := e.pool.Query(ctx, `SELECT status, status_reason, count(*) FROM receipts WHERE id = ANY($1::uuid[])
		GROUP BY status, status_reason`, ids)
	mustT(t, err)
	for rows.Next() {
		var st receipt.Status
		var reason string
		var n int
		mustT(t, rows.Scan(&st, &reason, &n))
		byStatus[string(st)] += n
		if st != receipt.Credited {
			byReason[string(st)+"/"+reason] += n
		}
		if !st.Terminal() {
			t.Errorf("%d receipts left %s", n, st)
		}
	}
	mustT(t, rows.Err())
	rows.Close()

	// One credit per credited receipt, of the receipt's points, to its
	// participant; no credit for a receipt that did not end credited.
	var bad []string
	rows, err = e.pool.Query(ctx, `SELECT r.id::text, r.status, r.points_kopecks, count(t.id),
			COALESCE(sum((SELECT sum(p.amount_kopecks) FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
				WHERE p.transaction_id = t.id AND a.participant_id = r.participant_id)), 0)
		FROM receipts r LEFT JOIN ledger_transactions t ON t.receipt_id = r.id AND t.kind = 'receipt_credit'
		WHERE r.id = ANY($1::uuid[]) GROUP BY r.id`, ids)
	mustT(t, err)
	for rows.Next() {
		var id string
		var st receipt.Status
		var pts, credited int64
		var n int
		mustT(t, rows.Scan(&id, &st, &pts, &n, &credited))
		switch {
		case st == receipt.Credited && (n != 1 || credited != pts || pts <= 0):
			bad = append(bad, fmt.Sprintf("%s credited %d points with %d ledger credits of %d", id, pts, n, credited))
		case st != receipt.Credited && n != 0:
			bad = append(bad, fmt.Sprintf("%s %s with %d ledger credits", id, st, n))
		}
	}
	mustT(t, rows.Err())
	rows.Close()
	if len(bad) > 0 {
		t.Errorf("%d receipts with wrong credits, e.g. %s", len(bad), strings.Join(bad[:min(5, len(bad))], "; "))
	}
	rep, err := ledgerdb.New(e.pool).Check(ctx)
	mustT(t, err)
	if !rep.OK() {
		t.Errorf("ledger check: %d discrepancies, e.g. %+v", len(rep.Discrepancies), rep.Discrepancies[0])
	}
	return byStatus, byReason
}

// loadavg is /proc/loadavg without its newline ("" where there is none).
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
