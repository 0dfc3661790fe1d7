package mobileapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/rewarddb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taxdb"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/providertest"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
	"github.com/loyaltyjam/loyaltyjam/internal/tax"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
)

// TestRedemptionRequiresConsents: a program that requires consents before
// redeeming refuses the order of a participant lacking them (403
// consent_required naming them, validated against openapi.yaml), takes it
// once they are given, refuses the next after a withdrawal through the API,
// and another program of the same client without the requirement is not
// affected at any point.
func TestRedemptionRequiresConsents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var store *rewarddb.Store
	var taxes *taxdb.Store
	e := newEnvWith(t, defaultAuth(), func(d *mobileapi.Deps) {
		taxes = taxdb.New(d.DB, ledgerdb.Postings{}, auditdb.New(d.DB), sealbox.Random(), nil)
		store = rewarddb.New(d.DB, ledgerdb.Postings{}, auditdb.New(d.DB), sealbox.Random(), rewarddb.WithNotifier(notifydb.Notifier{}), rewarddb.WithConsentGate(taxes))
		d.Rewards = store
		d.Ledger = ledgerdb.New(d.DB)
		d.Tax = taxes
	})
	c := e.client(t, "live")
	var free int64 // the client's second program: requirements saved but not enforced before redeeming
	if err := e.db.QueryRow(ctx, `INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, budget_kopecks)
		VALUES ($1, 'free', 'Без согласий', 'live', current_date - 30, current_date + 60, 100000000) RETURNING id`, c.ID).Scan(&free); err != nil {
		t.Fatal(err)
	}
	sys := audit.Actor{Kind: audit.System, Name: "test"}
	if err := taxes.SaveSettings(ctx, taxdb.Settings{ClientID: c.ID, ProgramID: c.Program, Agent: "client", Mode: tax.Notify, Kind: tax.Standard,
		Requirements: tax.Requirements{PersonalData: true, Offer: true, BeforeRedeeming: true}}, sys); err != nil {
		t.Fatal(err)
	}
	if err := taxes.SaveSettings(ctx, taxdb.Settings{ClientID: c.ID, ProgramID: free, Agent: "client", Mode: tax.Notify, Kind: tax.Standard,
		Requirements: tax.Requirements{PersonalData: true, Offer: true, Employer: true, BeforeCrediting: true}}, sys); err != nil {
		t.Fatal(err)
	}
	alice := e.participant(t, c, "", "active")
	// The catalog comes from the real Giftery client and its simulator.
	prov := providertest.Giftery(t)
	products, err := prov.Provider().Products(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SyncProducts(ctx, prov.Name(), products); err != nil {
		t.Fatal(err)
	}
	offers := map[int64]int64{}
	if err := postgres.WithTx(ctx, e.db, func(tx pgx.Tx) error {
		var rewardID int64
		if err := tx.QueryRow(ctx, `SELECT id FROM rewards WHERE provider = 'giftery' AND external_id = '13103'`).Scan(&rewardID); err != nil {
			return err
		}
		for _, prog := range []int64{c.Program, free} {
			o, err := store.PutOffer(ctx, tx, rewarddb.OfferInput{ClientID: c.ID, ProgramID: prog, RewardID: rewardID, Available: true})
			if err != nil {
				return err
			}
			offers[prog] = o
			if _, err := ledgerdb.SyncBudget(ctx, tx, prog); err != nil {
				return err
			}
			if _, err := ledgerdb.Post(ctx, tx, ledger.Transaction{IdempotencyKey: fmt.Sprintf("seed-%d", prog), Kind: ledger.KindReceiptCredit,
				ClientID: c.ID, ProgramID: prog, ParticipantID: alice.ID,
				Postings: ledger.Credit(c.ID, prog, alice.ID, 1000000, false)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tok := e.login(t, alice).AccessToken
	order := func(prog int64, key string) *http.Request {
		req := jsonReq("POST", "/v1/redemptions", tok, map[string]any{"offer_id": offers[prog], "face_kopecks": 100000})
		req.Header.Set("Idempotency-Key", key)
		return req
	}
	refused := func(key, want string) {
		t.Helper()
		r := e.do(t, order(c.Program, key))
		var body struct {
			Code  string `json:"code"`
			Field string `json:"field"`
		}
		r.json(t, &body)
		if r.Status != 403 || body.Code != "consent_required" || body.Field != want {
			t.Fatalf("%s: want 403 consent_required %q, got %d %s", key, want, r.Status, r.Body)
		}
	}
	created := func(prog int64, key string, status int) {
		t.Helper()
		if r := e.do(t, order(prog, key)); r.Status != status {
			t.Fatalf("%s: want %d, got %d %s", key, status, r.Status, r.Body)
		}
	}

	refused("a1", "personal_data,offer")
	created(free, "f1", 201) // the other program enforces its requirements before crediting only

	// The personal-data consent through the app; the offer still lacks.
	r := e.do(t, jsonReq("POST", "/v1/me/consents", tok, map[string]any{"kind": "personal_data", "text_version": "pd-1"}))
	var pd struct {
		ID int64 `json:"id"`
	}
	r.json(t, &pd)
	if r.Status != 201 && r.Status != 200 {
		t.Fatalf("grant: %d %s", r.Status, r.Body)
	}
	refused("a2", "offer")
	if r := e.do(t, jsonReq("POST", "/v1/me/consents", tok, map[string]any{"kind": "offer", "text_version": "rules-1", "program_id": c.Program})); r.Status != 201 && r.Status != 200 {
		t.Fatalf("grant offer: %d %s", r.Status, r.Body)
	}
	created(c.Program, "a3", 201)

	// Withdrawn: the next order is refused; the order already made stands
	// and its key replays it.
	if r := e.do(t, jsonReq("DELETE", fmt.Sprintf("/v1/me/consents/%d", pd.ID), tok, nil)); r.Status != 204 {
		t.Fatalf("withdraw: %d %s", r.Status, r.Body)
	}
	refused("a4", "personal_data")
	created(c.Program, "a3", 200)
	created(free, "f2", 201)

	// Refused orders held nothing: two orders of 1 000 ₽ in each program.
	var n int
	if err := e.db.QueryRow(ctx, `SELECT count(*) FROM redemptions WHERE participant_id = $1`, alice.ID).Scan(&n); err != nil || n != 3 {
		t.Fatalf("orders: %d %v", n, err)
	}
}
