package mobileapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/catalog"
	"github.com/loyaltyjam/loyaltyjam/internal/fiscal"
	"github.com/loyaltyjam/loyaltyjam/internal/points"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/receipt"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

// A seller sees, for every receipt, the specific reason of its status, and
// for every line why it got N points or none, with the rate that applied;
// the codes are the document's enums.
func TestReceiptReasonsAndLineExplanations(t *testing.T) {
	t.Parallel()
	e := newEnv(t, defaultAuth())
	ctx := context.Background()
	c := e.client(t, "live")
	p := e.participant(t, c, "", "active")
	tok := e.login(t, p).AccessToken
	store := receiptdb.New(e.db)

	// newReceipt stores a verified QR receipt and lets fn take it further,
	// as the worker does.
	newReceipt := func(fn func(r *receipt.Receipt) error) string {
		t.Helper()
		pl, err := fiscal.Parse(qrText())
		if err != nil {
			t.Fatal(err)
		}
		r := &receipt.Receipt{ClientID: c.ID, ParticipantID: p.ID, Source: receipt.SourceQR, QRRaw: pl.Raw,
			QRCanonical: pl.Canonical(), FN: pl.FN, FD: int64(pl.FD), FP: int64(pl.FP), Operation: pl.Operation,
			PurchasedAt: pl.Time, SumKopecks: pl.SumKopecks}
		must(t, r.Transition(receipt.Decoded, "participant", "uploaded_qr", nil))
		must(t, r.Transition(receipt.Queued, "api", "enqueued", nil))
		if _, err := store.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		must(t, store.Update(ctx, r.ID, func(_ context.Context, _ pgx.Tx, r *receipt.Receipt) error {
			if err := r.Transition(receipt.Verifying, "worker", "verifying", nil); err != nil {
				return err
			}
			if err := r.Transition(receipt.Verified, "worker", "ofd_verified", nil); err != nil {
				return err
			}
			return fn(r)
		}))
		return r.ID
	}

	res := rules.Result{Eligible: true, TotalKopecks: 3250, Lines: []rules.LineResult{
		{LineNo: 1, SKU: "VZ-1", RawKopecks: 3250, PointsKopecks: 3250, Reason: rules.ReasonEarned, PercentBP: 500, FactorBP: 13_000},
		{LineNo: 2, Reason: rules.ReasonNotMatched},
		{LineNo: 3, SKU: "VZ-2", RawKopecks: 2000, PointsKopecks: 0, Reason: rules.CapParticipantDay, PercentBP: 500, FactorBP: 10_000},
	}}
	credited := newReceipt(func(r *receipt.Receipt) error {
		r.Items = []receipt.Item{
			{LineNo: 1, Name: "Антифриз", PriceKopecks: 50_000, QuantityMilli: 1000, SumKopecks: 50_000, MatchHow: "name", PointsKopecks: 3250, PointsReason: "earned"},
			{LineNo: 2, Name: "Хлеб", PriceKopecks: 4000, QuantityMilli: 1000, SumKopecks: 4000, MatchHow: "none", MatchReason: "no_brand", PointsReason: "not_matched"},
			{LineNo: 3, Name: "Омыватель", PriceKopecks: 40_000, QuantityMilli: 1000, SumKopecks: 40_000, MatchHow: "name", PointsReason: "cap_participant_day"},
		}
		r.PointsKopecks, r.ItemsChanged = 3250, true
		if err := r.Transition(receipt.Matched, "worker", "items_matched", nil); err != nil {
			return err
		}
		return r.Transition(receipt.Credited, "worker", "points_credited", map[string]any{"evaluation": res, "rule_version": 1})
	})
	outside := newReceipt(func(r *receipt.Receipt) error {
		return r.Transition(receipt.Rejected, "worker", rules.ReasonOutsideProgram, nil)
	})
	capped := newReceipt(func(r *receipt.Receipt) error {
		return r.Transition(receipt.NoEligibleItems, "worker", "points_capped", nil)
	})

	// The list says the specific reason of each status.
	r := e.do(t, jsonReq("GET", "/v1/receipts", tok, nil))
	var l struct {
		Items []struct {
			ID            string `json:"id"`
			StatusMessage string `json:"status_message"`
		} `json:"items"`
	}
	r.json(t, &l)
	want := map[string]string{credited: "Баллы начислены.", outside: "Покупка совершена вне сроков программы.",
		capped: "Лимит баллов достигнут: за этот чек баллы не начислены."}
	for _, it := range l.Items {
		if w, ok := want[it.ID]; ok && it.StatusMessage != w {
			t.Errorf("receipt %s: status_message %q, want %q", it.ID, it.StatusMessage, w)
		}
		delete(want, it.ID)
	}
	if len(want) != 0 {
		t.Errorf("receipts missing from the list: %v", want)
	}

	// Each line says why, with the rate.
	r = e.do(t, jsonReq("GET", "/v1/receipts/"+credited, tok, nil))
	var d struct {
		Items []struct {
			PointsReason      string `json:"points_reason"`
			PointsExplanation string `json:"points_explanation"`
		} `json:"items"`
	}
	r.json(t, &d)
	wantLines := []string{
		"5 % от 500,00 ₽ × 1,3 = 32,50.",
		"Товар не распознан: ни брендов, ни артикулов программы в названии.",
		"5 % от 400,00 ₽ = 20,00, начислено 0,00: достигнут дневной лимит баллов.",
	}
	if len(d.Items) != len(wantLines) {
		t.Fatalf("%d lines: %s", len(d.Items), r.Body)
	}
	for i, w := range wantLines {
		if d.Items[i].PointsExplanation != w {
			t.Errorf("line %d: %q, want %q", i+1, d.Items[i].PointsExplanation, w)
		}
	}

	// The enums are enforced: a code outside them is drift.
	for _, bad := range []string{`"points_reason":"earned"`, `"match_reason":""`} {
		body := strings.Replace(string(r.Body), bad, strings.Replace(bad, `:"`, `:"not_a_code`, 1), 1)
		if body == string(r.Body) {
			t.Fatalf("%s not in %s", bad, r.Body)
		}
		if err := e.validate(jsonReq("GET", "/v1/receipts/"+credited, tok, nil),
			resp{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}); err == nil {
			t.Errorf("%s replaced by an unknown code validates", bad)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The document's enums list every code a line can carry: a new reason in
// the rules engine, the points service or the matcher must be documented.
func TestOpenAPILineReasonEnums(t *testing.T) {
	t.Parallel()
	var item *openapi3.Schema
	detail := openapiDoc.Components.Schemas["ReceiptDetail"].Value
	for _, s := range append([]*openapi3.SchemaRef{{Value: detail}}, detail.AllOf...) {
		if p := s.Value.Properties["items"]; p != nil {
			item = p.Value.Items.Value
		}
	}
	if item == nil {
		t.Fatal("ReceiptDetail has no items")
	}
	enum := func(prop string) map[string]bool {
		m := map[string]bool{}
		for _, v := range item.Properties[prop].Value.Enum {
			m[v.(string)] = true
		}
		return m
	}
	pointsEnum, match := enum("points_reason"), enum("match_reason")
	for _, c := range []string{rules.ReasonNotASale, rules.ReasonProgramNotActive, rules.ReasonParticipantBlock,
		rules.ReasonRoleNotEligible, rules.ReasonOutsideProgram, rules.ReasonTooOld, rules.ReasonInFuture, rules.ReasonNoShop,
		rules.ReasonShopMismatch, rules.ReasonEarned, rules.ReasonEarnedPromo, rules.ReasonNotMatched, rules.ReasonNotInProgram,
		rules.ReasonZeroQuantity, rules.ReasonRoundedToZero, rules.CapPerReceipt, rules.CapParticipantDay,
		rules.CapParticipantWeek, rules.CapParticipantPeriod, rules.CapShopDay, rules.CapBudget,
		points.ReasonReturnNoSale, "return_reversed", ""} {
		if !pointsEnum[c] {
			t.Errorf("points_reason enum lacks %q", c)
		}
		if c != "" && !receipt.HasMessage(c) {
			t.Errorf("points_reason %q has no Russian text", c)
		}
	}
	for _, c := range []string{catalog.ReasonEmpty, catalog.ReasonGTINNotOurs, catalog.ReasonNoBrand, catalog.ReasonCodeNotOurs,
		catalog.ReasonExcludedOffer, catalog.ReasonNotAnItem, catalog.ReasonSizeMismatch, catalog.ReasonVariant,
		catalog.ReasonUnknownProduct, catalog.ReasonUnknownWord, catalog.ReasonNoCandidate, catalog.ReasonAmbiguous, "sku_unknown", ""} {
		if !match[c] {
			t.Errorf("match_reason enum lacks %q", c)
		}
	}
}
