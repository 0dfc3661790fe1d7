// Package reporttest loads a small, fully known data set for dashboard and
// report tests: the demo clients, programs, shops, participants, users and
// catalogs, plus receipts of both clients driven through the real receipt
// store with the rollup hook, in every outcome the dashboard shows, with
// ledger credits for the credited ones.
package reporttest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
	"github.com/loyaltyjam/loyaltyjam/internal/seed"
)

// Tenant holds the ids of one demo client's data.
type Tenant struct {
	ClientID      int64
	ProgramID     int64
	ShopIDs       []int64
	Participants  []int64
	SKUIDs        []int64
	Credited      []string // receipt ids
	Review        []string // needs_review receipt ids
	Rejected      []string
	Unmatched     string // a line name no SKU matched
	ManagerEmail  string
	ModeratorMail string
}

// Data is the loaded data set.
type Data struct {
	Now       time.Time
	Vetluga   Tenant
	Krasnodol Tenant
	Receipts  *receiptdb.Store
}

// Load seeds db. now is the clock of the data: receipts are bought in the
// current and previous month of now.
func Load(tb testing.TB, db *pgxpool.Pool, now time.Time) Data {
	tb.Helper()
	ctx := context.Background()
	if err := seed.Demo(ctx, db, now.AddDate(0, -2, 0)); err != nil {
		tb.Fatalf("seed demo: %v", err)
	}
	d := Data{Now: now, Receipts: receiptdb.New(db, reportdb.Rollups{})}
	d.Vetluga = tenant(tb, db, "vetluga", "manager@vetluga.demo", "moderator@vetluga.demo")
	d.Krasnodol = tenant(tb, db, "krasnodol", "manager@krasnodol.demo", "")
	for _, t := range []*Tenant{&d.Vetluga, &d.Krasnodol} {
		if err := fund(ctx, db, t.ProgramID); err != nil {
			tb.Fatalf("fund: %v", err)
		}
		fill(tb, d.Receipts, now, t)
	}
	return d
}

func fund(ctx context.Context, db *pgxpool.Pool, programID int64) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := ledgerdb.SyncBudget(ctx, tx, programID); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func tenant(tb testing.TB, db *pgxpool.Pool, code, manager, moderator string) Tenant {
	tb.Helper()
	ctx := context.Background()
	t := Tenant{ManagerEmail: manager, ModeratorMail: moderator}
	if err := db.QueryRow(ctx, `SELECT c.id, p.id FROM clients c JOIN programs p ON p.client_id = c.id WHERE c.code = $1`, code).
		Scan(&t.ClientID, &t.ProgramID); err != nil {
		tb.Fatalf("tenant %s: %v", code, err)
	}
	ids := func(q string) []int64 {
		rows, err := db.Query(ctx, q, t.ClientID)
		if err != nil {
			tb.Fatal(err)
		}
		v, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
	t.ShopIDs = ids(`SELECT id FROM shops WHERE client_id = $1 ORDER BY code`)
	t.Participants = ids(`SELECT id FROM participants WHERE client_id = $1 ORDER BY phone`)
	t.SKUIDs = ids(`SELECT id FROM skus WHERE client_id = $1 ORDER BY code LIMIT 3`)
	return t
}

// fdSeq numbers the receipts of every Load, which parallel tests call at once.
var fdSeq atomic.Int64

// fill creates, for each participant, receipts of several outcomes.
func fill(tb testing.TB, store *receiptdb.Store, now time.Time, t *Tenant) {
	tb.Helper()
	t.Unmatched = fmt.Sprintf("Ароматизатор Ёлочка %d", t.ClientID)
	thisMonth := time.Date(now.Year(), now.Month(), 1, 10, 0, 0, 0, time.UTC)
	lastMonth := thisMonth.AddDate(0, -1, 0)
	type spec struct {
		final   receipt.Status
		at      time.Time
		partIdx int
	}
	specs := []spec{
		{receipt.Credited, lastMonth.AddDate(0, 0, 2), 0},
		{receipt.Credited, lastMonth.AddDate(0, 0, 5), 1},
		{receipt.Credited, thisMonth.AddDate(0, 0, 1), 0},
		{receipt.Credited, thisMonth, 0},
		{receipt.NoEligibleItems, thisMonth, 1},
		{receipt.Rejected, thisMonth, 2},
		{receipt.NeedsReview, thisMonth, 1},
		{receipt.NeedsReview, thisMonth, 2},
	}
	for i, sp := range specs {
		shop := t.ShopIDs[sp.partIdx%len(t.ShopIDs)]
		r := addReceipt(tb, store, t, fmt.Sprintf("k-%d-%d", t.ClientID, i), &shop, sp.partIdx, sp.at, sp.final, i%2 == 0)
		switch sp.final {
		case receipt.Credited:
			t.Credited = append(t.Credited, r.ID)
		case receipt.NeedsReview:
			t.Review = append(t.Review, r.ID)
		case receipt.Rejected:
			t.Rejected = append(t.Rejected, r.ID)
		}
	}
}

// AddReceipt stores one more receipt of t bought at at in shop (nil: no
// shop) by participant t.Participants[partIdx], driven like Load's to
// final (Credited, NoEligibleItems, Rejected, NeedsReview or Duplicate),
// and returns its id. It does not add to t's id lists.
func AddReceipt(tb testing.TB, store *receiptdb.Store, t *Tenant, shop *int64, partIdx int, at time.Time, final receipt.Status) string {
	tb.Helper()
	return addReceipt(tb, store, t, fmt.Sprintf("x-%d-%d", t.ClientID, fdSeq.Add(1)), shop, partIdx, at, final, false).ID
}

// AddUnreadable stores a photo receipt of t whose QR code was never read
// (no fiscal identity, no purchase time), uploaded by
// t.Participants[partIdx], in final Unreadable or Duplicate, and returns
// its id. Its upload time is the database's clock.
func AddUnreadable(tb testing.TB, store *receiptdb.Store, t *Tenant, partIdx int, final receipt.Status) string {
	tb.Helper()
	pid := t.Participants[partIdx%len(t.Participants)]
	prog := t.ProgramID
	r := &receipt.Receipt{ClientID: t.ClientID, ParticipantID: pid, ProgramID: &prog, Source: receipt.SourcePhoto,
		IdempotencyKey: fmt.Sprintf("u-%d-%d", t.ClientID, fdSeq.Add(1))}
	must(tb, r.Transition(receipt.Received, fmt.Sprintf("participant:%d", pid), "uploaded_photo", nil))
	must(tb, r.Transition(final, "worker", "qr_not_found", nil))
	if _, err := store.Create(context.Background(), r); err != nil {
		tb.Fatalf("create receipt: %v", err)
	}
	return r.ID
}

func addReceipt(tb testing.TB, store *receiptdb.Store, t *Tenant, key string, shop *int64, partIdx int, at time.Time,
	final receipt.Status, standalone bool) *receipt.Receipt {
	tb.Helper()
	ctx := context.Background()
	sp := struct {
		final receipt.Status
		at    time.Time
	}{final, at}
	fd := fdSeq.Add(1)
	pid := t.Participants[partIdx%len(t.Participants)]
	prog := t.ProgramID
	r := &receipt.Receipt{ClientID: t.ClientID, ParticipantID: pid, ProgramID: &prog, ShopID: shop,
		Source: receipt.SourceQR, IdempotencyKey: key,
		FN: fmt.Sprintf("99990000%08d", t.ClientID), FD: fd, FP: 1000 + fd, Operation: 1,
		PurchasedAt: sp.at, SumKopecks: 250000}
	must(tb, r.Transition(receipt.Received, fmt.Sprintf("participant:%d", pid), "uploaded_qr", nil))
	must(tb, r.Transition(receipt.Decoded, "worker", "qr_decoded", nil))
	if sp.final == receipt.Duplicate {
		must(tb, r.Transition(receipt.Duplicate, "worker", "duplicate", nil))
		if _, err := store.Create(ctx, r); err != nil {
			tb.Fatalf("create receipt: %v", err)
		}
		return r
	}
	must(tb, r.Transition(receipt.Queued, "worker", "enqueued", nil))
	if _, err := store.Create(ctx, r); err != nil {
		tb.Fatalf("create receipt: %v", err)
	}
	err := store.Update(ctx, r.ID, func(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) error {
		if err := r.Transition(receipt.Verifying, "worker", "verifying", nil); err != nil {
			return err
		}
		if sp.final == receipt.NeedsReview && standalone {
			return r.Transition(receipt.NeedsReview, "worker", "ofd_standalone_kkt", nil)
		}
		if err := r.Transition(receipt.Verified, "worker", "ofd_verified", nil); err != nil {
			return err
		}
		r.SellerName, r.RetailAddress, r.KKTRegNumber = "ООО Тест", "Тестовый адрес", "0000000000000001"
		sku := t.SKUIDs[0]
		sku2 := t.SKUIDs[1]
		r.Items = []receipt.Item{
			{LineNo: 1, Name: "Товар программы", PriceKopecks: 100000, QuantityMilli: 2000, SumKopecks: 200000,
				SKUID: &sku, MatchHow: catalog.HowGTIN},
			{LineNo: 2, Name: "Товар программы 2", PriceKopecks: 30000, QuantityMilli: 1000, SumKopecks: 30000,
				SKUID: &sku2, MatchHow: catalog.HowAlias},
			{LineNo: 3, Name: t.Unmatched, PriceKopecks: 20000, QuantityMilli: 1000, SumKopecks: 20000,
				MatchHow: catalog.HowNone, MatchReason: catalog.ReasonNoBrand},
		}
		r.ItemsChanged = true
		switch sp.final {
		case receipt.NoEligibleItems:
			for i := range r.Items {
				r.Items[i].PointsReason = rules.ReasonNotInProgram
			}
			r.Items[2].PointsReason = rules.ReasonNotMatched
			return r.Transition(receipt.NoEligibleItems, "worker", "no_eligible_items", nil)
		case receipt.Rejected:
			for i := range r.Items {
				r.Items[i].PointsReason = rules.ReasonShopMismatch
			}
			return r.Transition(receipt.Rejected, "worker", rules.ReasonShopMismatch, map[string]any{
				"program_id": prog, "rule_version": 1, "evaluation": rules.Result{Reason: rules.ReasonShopMismatch,
					Lines: []rules.LineResult{{LineNo: 1, Reason: rules.ReasonShopMismatch},
						{LineNo: 2, Reason: rules.ReasonShopMismatch}, {LineNo: 3, Reason: rules.ReasonShopMismatch}}}})
		case receipt.NeedsReview:
			return r.Transition(receipt.NeedsReview, "worker", "anomaly_velocity", nil)
		}
		if err := r.Transition(receipt.Matched, "worker", "items_matched", nil); err != nil {
			return err
		}
		// What points.Service stores: line reason codes and the
		// evaluation, here with the per-receipt cap cutting line 2 and
		// the bonus (raw 10 000 + 8 000 + 2 000, cap 15 000).
		r.Items[0].PointsKopecks, r.Items[0].PointsReason = 10000, rules.ReasonEarned
		r.Items[1].PointsKopecks, r.Items[1].PointsReason = 5000, rules.CapPerReceipt
		r.Items[2].PointsReason = rules.ReasonNotMatched
		r.PointsKopecks = 15000
		eval := rules.Result{Eligible: true, TotalKopecks: 15000,
			Lines: []rules.LineResult{
				{LineNo: 1, SKU: "a", RawKopecks: 10000, PointsKopecks: 10000, Reason: rules.ReasonEarned},
				{LineNo: 2, SKU: "b", RawKopecks: 8000, PointsKopecks: 5000, Reason: rules.CapPerReceipt},
				{LineNo: 3, Reason: rules.ReasonNotMatched}},
			Bonus: &rules.BonusResult{Name: "Два SKU в чеке", RawKopecks: 2000, Reason: rules.CapPerReceipt},
			Caps:  []rules.CapHit{{Cap: rules.CapPerReceipt, LimitKopecks: 15000, CutKopecks: 5000}}}
		if _, err := ledgerdb.Post(ctx, tx, ledger.Transaction{
			IdempotencyKey: ledger.ReceiptKey(r.ID, 1), Kind: ledger.KindReceiptCredit, ClientID: r.ClientID,
			ProgramID: *r.ProgramID, ParticipantID: r.ParticipantID, ReceiptID: r.ID, OccurredOn: r.PurchasedAt,
			Postings: ledger.Credit(r.ClientID, *r.ProgramID, r.ParticipantID, r.PointsKopecks, false),
		}); err != nil {
			return err
		}
		return r.Transition(receipt.Credited, "worker", "points_credited", map[string]any{
			"program_id": prog, "rule_version": 1, "evaluation": eval, "points_kopecks": r.PointsKopecks})
	})
	if err != nil {
		tb.Fatalf("update receipt: %v", err)
	}
	return r
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// AddReturn stores a return receipt (operation 2) of the whole sale saleID,
// bought at at, the way points.Service leaves one that reversed its sale:
// the sale's lines, credited with their points negative, and the reversal
// posted back into the program's budget dated by the sale's purchase day.
// It returns the return receipt's id.
func AddReturn(tb testing.TB, store *receiptdb.Store, t *Tenant, saleID string, at time.Time) string {
	tb.Helper()
	ctx := context.Background()
	sale, err := store.Get(ctx, saleID)
	if err != nil {
		tb.Fatalf("get sale: %v", err)
	}
	fd := fdSeq.Add(1)
	prog := t.ProgramID
	r := &receipt.Receipt{ClientID: t.ClientID, ParticipantID: sale.ParticipantID, ProgramID: &prog, ShopID: sale.ShopID,
		Source: receipt.SourceQR, IdempotencyKey: fmt.Sprintf("ret-%d-%d", t.ClientID, fd),
		FN: sale.FN, FD: fd, FP: 1000 + fd, Operation: 2, PurchasedAt: at, SumKopecks: sale.SumKopecks}
	must(tb, r.Transition(receipt.Received, fmt.Sprintf("participant:%d", sale.ParticipantID), "uploaded_qr", nil))
	must(tb, r.Transition(receipt.Decoded, "worker", "qr_decoded", nil))
	must(tb, r.Transition(receipt.Queued, "worker", "enqueued", nil))
	if _, err := store.Create(ctx, r); err != nil {
		tb.Fatalf("create return: %v", err)
	}
	err = store.Update(ctx, r.ID, func(ctx context.Context, tx pgx.Tx, r *receipt.Receipt) error {
		for _, to := range []receipt.Status{receipt.Verifying, receipt.Verified, receipt.Matched} {
			if err := r.Transition(to, "worker", "test", nil); err != nil {
				return err
			}
		}
		r.SellerName, r.RetailAddress, r.KKTRegNumber = sale.SellerName, sale.RetailAddress, sale.KKTRegNumber
		r.Items = append([]receipt.Item(nil), sale.Items...)
		for i := range r.Items {
			r.Items[i].PointsKopecks, r.Items[i].PointsReason = -r.Items[i].PointsKopecks, "return_reversed"
		}
		r.ItemsChanged = true
		r.PointsKopecks = -sale.PointsKopecks
		if _, err := ledgerdb.Post(ctx, tx, ledger.Transaction{
			IdempotencyKey: ledger.ReversalKey(sale.ID) + ":return:" + r.ID, Kind: ledger.KindReversal,
			ClientID: r.ClientID, ProgramID: prog, ParticipantID: r.ParticipantID, ReceiptID: r.ID,
			OccurredOn: sale.PurchasedAt, Memo: "возврат",
			Postings: []ledger.Posting{
				{Account: ledger.AvailableAccount(r.ClientID, prog, r.ParticipantID), AmountKopecks: -sale.PointsKopecks},
				{Account: ledger.BudgetAccount(r.ClientID, prog), AmountKopecks: sale.PointsKopecks},
			},
		}); err != nil {
			return err
		}
		return r.Transition(receipt.Credited, "worker", "return_reversed",
			map[string]any{"sale_receipt_id": sale.ID, "reversed_kopecks": sale.PointsKopecks})
	})
	if err != nil {
		tb.Fatalf("update return: %v", err)
	}
	return r.ID
}
