package mobileapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/ledger"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/rewarddb"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/reward"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/providertest"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
)

func TestRewardsAndRedemptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var store *rewarddb.Store
	e := newEnvWith(t, defaultAuth(), func(d *mobileapi.Deps) {
		store = rewarddb.New(d.DB, ledgerdb.Postings{}, auditdb.New(d.DB), sealbox.Random(), rewarddb.WithNotifier(notifydb.Notifier{}))
		d.Rewards = store
		d.Ledger = ledgerdb.New(d.DB)
	})
	c := e.client(t, "live")
	alice := e.participant(t, c, "", "active")
	bob := e.participant(t, c, "", "active")
	// The catalog and the worker's orders go through the real Giftery
	// client to its simulator.
	prov := providertest.Giftery(t)
	products, err := prov.Provider().Products(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SyncProducts(ctx, prov.Name(), products); err != nil {
		t.Fatal(err)
	}
	var offer int64
	if err := postgres.WithTx(ctx, e.db, func(tx pgx.Tx) error {
		var rewardID int64
		if err := tx.QueryRow(ctx, `SELECT id FROM rewards WHERE provider = 'giftery' AND external_id = '13103'`).Scan(&rewardID); err != nil {
			return err
		}
		var err error
		if offer, err = store.PutOffer(ctx, tx, rewarddb.OfferInput{ClientID: c.ID, ProgramID: c.Program, RewardID: rewardID,
			MarkupBP: 500, Available: true}); err != nil {
			return err
		}
		if _, err := ledgerdb.SyncBudget(ctx, tx, c.Program); err != nil {
			return err
		}
		_, err = ledgerdb.Post(ctx, tx, ledger.Transaction{IdempotencyKey: "seed", Kind: ledger.KindReceiptCredit,
			ClientID: c.ID, ProgramID: c.Program, ParticipantID: alice.ID,
			Postings: ledger.Credit(c.ID, c.Program, alice.ID, 200000, false)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	tok := e.login(t, alice).AccessToken

	r := e.do(t, jsonReq("GET", "/v1/rewards", tok, nil))
	var cat struct {
		Items []struct {
			ID    int64 `json:"id"`
			Faces []struct {
				Face  int64 `json:"face_kopecks"`
				Price int64 `json:"price_kopecks"`
			} `json:"faces"`
			Available bool `json:"available"`
		} `json:"items"`
	}
	r.json(t, &cat)
	if r.Status != 200 || len(cat.Items) != 1 || cat.Items[0].ID != offer || !cat.Items[0].Available ||
		len(cat.Items[0].Faces) != 4 || cat.Items[0].Faces[1].Price != 105000 {
		t.Fatalf("catalog %d %s", r.Status, r.Body)
	}

	order := func(key string, face int64) *http.Request {
		req := jsonReq("POST", "/v1/redemptions", tok, map[string]any{"offer_id": offer, "face_kopecks": face})
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		return req
	}
	if r := e.do(t, order("", 100000)); r.Status != 422 || r.code() != "idempotency_key_required" {
		t.Fatalf("no key: %d %s", r.Status, r.Body)
	}
	if r := e.do(t, order("k0", 12345)); r.Status != 422 || r.code() != "bad_face_value" {
		t.Fatalf("bad face: %d %s", r.Status, r.Body)
	}
	r = e.do(t, order("k1", 100000))
	var created struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Price  int64  `json:"price_kopecks"`
	}
	r.json(t, &created)
	if r.Status != 201 || created.Status != "queued" || created.Price != 105000 {
		t.Fatalf("order: %d %s", r.Status, r.Body)
	}
	// The points are held, not spent, until the provider delivers.
	r = e.do(t, jsonReq("GET", "/v1/balance", tok, nil))
	if r.Status != 200 || !strings.Contains(string(r.Body), `"available_kopecks":95000,`) || !strings.Contains(string(r.Body), `"held_kopecks":105000,`) {
		t.Fatalf("balance while held: %s", r.Body)
	}
	// The saga's task is queued under the order's id.
	if info, err := e.insp.GetTaskInfo(queue.Default, queue.TypeRewardPlace+":"+created.ID); err != nil || info.Type != queue.TypeRewardPlace {
		t.Fatalf("task: %v %v", info, err)
	}
	if r := e.do(t, order("k1", 100000)); r.Status != 200 {
		t.Fatalf("replay: %d %s", r.Status, r.Body)
	}
	if r := e.do(t, order("k2", 100000)); r.Status != 409 || r.code() != "insufficient_balance" {
		t.Fatalf("overspend: %d %s", r.Status, r.Body)
	}
	// Not delivered yet: no code.
	r = e.do(t, jsonReq("GET", "/v1/redemptions/"+created.ID, tok, nil))
	var got struct {
		Status string `json:"status"`
		Code   string `json:"code"`
		PIN    string `json:"pin"`
		Events []struct {
			Status string `json:"status"`
		} `json:"events"`
	}
	r.json(t, &got)
	if r.Status != 200 || got.Status != "queued" || got.Code != "" || len(got.Events) != 1 {
		t.Fatalf("before delivery: %d %s", r.Status, r.Body)
	}

	// The worker's step.
	saga := reward.NewSaga(store, reward.ProviderMap{prov.Name(): prov.Provider()}, slog.New(slog.DiscardHandler))
	if err := saga.Run(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	r = e.do(t, jsonReq("GET", "/v1/redemptions/"+created.ID, tok, nil))
	r.json(t, &got)
	if r.Status != 200 || got.Status != "delivered" || got.Code == "" || got.PIN == "" || prov.Placed(created.ID) != 1 ||
		len(got.Events) != 3 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("delivered: %d %s", r.Status, r.Body)
	}
	r = e.do(t, jsonReq("GET", "/v1/redemptions?limit=1", tok, nil))
	var list struct {
		Items []struct {
			ID   string `json:"id"`
			Code string `json:"code"`
		} `json:"items"`
		Next string `json:"next_cursor"`
	}
	r.json(t, &list)
	if r.Status != 200 || len(list.Items) != 1 || list.Items[0].ID != created.ID || list.Items[0].Code != "" || list.Next == "" {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	r = e.do(t, jsonReq("GET", "/v1/redemptions?cursor="+list.Next, tok, nil))
	r.json(t, &list)
	if r.Status != 200 || len(list.Items) != 0 {
		t.Fatalf("second page: %d %s", r.Status, r.Body)
	}

	// Bob sees neither the order nor its code.
	btok := e.login(t, bob).AccessToken
	if r := e.do(t, jsonReq("GET", "/v1/redemptions/"+created.ID, btok, nil)); r.Status != 404 {
		t.Fatalf("another participant: %d %s", r.Status, r.Body)
	}
	if r := e.do(t, jsonReq("GET", "/v1/redemptions/not-a-uuid", btok, nil)); r.Status != 404 {
		t.Fatalf("bad id: %d %s", r.Status, r.Body)
	}
	// Another client's staff or participant cannot order this client's offer.
	other := e.client(t, "live")
	carol := e.participant(t, other, "", "active")
	ctok := e.login(t, carol).AccessToken
	req := jsonReq("POST", "/v1/redemptions", ctok, map[string]any{"offer_id": offer, "face_kopecks": 100000})
	req.Header.Set("Idempotency-Key", "x")
	if r := e.do(t, req); r.Status != 404 {
		t.Fatalf("another client's offer: %d %s", r.Status, r.Body)
	}
	// Hostile bodies.
	req = jsonReq("POST", "/v1/redemptions", tok, "{")
	req.Header.Set("Idempotency-Key", "bad")
	if r := e.do(t, req); r.Status != 422 {
		t.Fatalf("bad json: %d %s", r.Status, r.Body)
	}
	rep, err := ledgerdb.New(e.db).Check(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("ledger: %v %v", err, rep.Discrepancies)
	}
}
