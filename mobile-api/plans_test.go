package mobileapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/auth"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/plan"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/plandb"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
)

// GET /v1/plans/current: the caller's plan, actual from credited receipts,
// % done and the next threshold with its payout; another client's
// participant sees none of it; every response matches openapi.yaml.
func TestCurrentPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	var client, program, alice, bob, sku, staff int64
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.QueryRow(ctx, `INSERT INTO clients (code, name) VALUES ('acme', 'A') RETURNING id`).Scan(&client))
	must(db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, starts_on, ends_on) VALUES ($1, 'p1', 'Продажи', '2026-01-01', '2026-12-31') RETURNING id`, client).Scan(&program))
	must(db.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role) VALUES ($1, '+79000000001', 'seller') RETURNING id`, client).Scan(&alice))
	must(db.QueryRow(ctx, `INSERT INTO participants (client_id, phone, role) VALUES ($1, '+79000000002', 'seller') RETURNING id`, client).Scan(&bob))
	must(db.QueryRow(ctx, `INSERT INTO skus (client_id, code, brand, name) VALUES ($1, 'k', 'b', 'n') RETURNING id`, client).Scan(&sku))
	must(db.QueryRow(ctx, `INSERT INTO dashboard_users (client_id, email, role, password_hash) VALUES ($1, 'm@a.ru', 'client_manager', 'x') RETURNING id`, client).Scan(&staff))
	store := plandb.New(db, ledgerdb.Postings{}, auditdb.New(db))
	by := plandb.Actor{UserID: staff, Audit: audit.StaffActor(staff, "m", "")}
	nov := plan.Period{Kind: plan.Month, Year: 2026, N: 11}
	_, err := store.SetTable(ctx, by, client, program, nov, plan.Table{Measure: plan.Roubles, Rounding: plan.HalfUp, Tiers: []plan.Tier{
		{ThresholdBP: 7000, Kind: plan.Fixed, FixedKopecks: 100000, Name: "Минимальный"},
		{ThresholdBP: 10000, Kind: plan.PercentOfSales, RateBP: 250, Name: "План"}}}, "")
	must(err)
	_, err = store.SetTargets(ctx, by, client, program, nov, []plandb.Target{{ParticipantID: alice, Value: 10_000_000}}, "")
	must(err)
	_, err = db.Exec(ctx, `WITH r AS (INSERT INTO receipts (client_id, participant_id, program_id, status, source, fn, fd, fp, operation, purchased_at, sum_kopecks)
		VALUES ($1, $2, $3, 'credited', 'qr', '9999000000000004', 1, 1, 1, '2026-11-20 10:00', 7500000) RETURNING id)
		INSERT INTO receipt_items (receipt_id, line_no, name, price_kopecks, quantity_milli, sum_kopecks, sku_id) SELECT id, 1, 'n', 7500000, 1000, 7500000, $4 FROM r`,
		client, alice, program, sku)
	must(err)

	app := httpapi.New(httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
	mobileapi.RegisterFeatures(app, mobileapi.Deps{Plans: store, Now: func() time.Time { return time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC) }},
		func(c *fiber.Ctx) (auth.Participant, error) {
			switch c.Get("X-Test-Participant") {
			case "alice":
				return auth.Participant{ID: alice, ClientID: client}, nil
			case "bob":
				return auth.Participant{ID: bob, ClientID: client}, nil
			case "alice-other-client": // a forged client: sees nothing
				return auth.Participant{ID: alice, ClientID: client + 1}, nil
			}
			return auth.Participant{}, apperr.New(apperr.Unauthorized, "unauthorized", "Нужно войти.")
		})
	router, err := legacy.NewRouter(openapiDoc)
	must(err)
	get := func(who string) (int, map[string]any) {
		req := httptest.NewRequest("GET", "/v1/plans/current", nil)
		if who != "" {
			req.Header.Set("X-Test-Participant", who)
		}
		res, err := app.Test(req, -1)
		must(err)
		body, _ := io.ReadAll(res.Body)
		vreq, _ := http.NewRequest("GET", "http://localhost/v1/plans/current", nil)
		route, params, err := router.FindRoute(vreq)
		must(err)
		in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if err := openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{RequestValidationInput: in,
			Status: res.StatusCode, Header: res.Header, Body: io.NopCloser(bytes.NewReader(body)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true}}); err != nil {
			t.Errorf("%s: response does not match openapi.yaml: %v", body, err)
		}
		var out map[string]any
		_ = json.Unmarshal(body, &out)
		return res.StatusCode, out
	}
	code, body := get("alice")
	ps, _ := body["plans"].([]any)
	if code != 200 || len(ps) != 1 {
		t.Fatalf("alice: %d %v", code, body)
	}
	p := ps[0].(map[string]any)
	next, _ := p["next"].(map[string]any)
	if p["percent_done"] != "75.00" || p["tier"] != float64(0) || p["tier_name"] != "Минимальный" || p["payout_kopecks"] != float64(100000) ||
		next == nil || next["remaining"] != float64(2_500_000) || next["payout_kopecks"] != float64(250000) {
		t.Fatalf("alice's plan: %v", p)
	}
	for _, who := range []string{"bob", "alice-other-client"} {
		if code, body := get(who); code != 200 || len(body["plans"].([]any)) != 0 {
			t.Fatalf("%s: %d %v", who, code, body)
		}
	}
	if code, _ := get(""); code != 401 {
		t.Fatalf("no caller: %d", code)
	}
}
