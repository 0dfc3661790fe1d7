package adminapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/adminapi"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/rewarddb"
	"github.com/loyaltyjam/loyaltyjam/internal/reward/providertest"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
)

// rewardsEnv is setup's database and users with the reward catalog routes
// mounted, and the catalog synced from the Giftery simulator's products.
func rewardsEnv(t *testing.T) (env, int64) {
	t.Helper()
	e := setup(t)
	ctx := context.Background()
	store := rewarddb.New(e.db, ledgerdb.Postings{}, auditdb.New(e.db), sealbox.Random(), rewarddb.WithNotifier(notifydb.Notifier{}))
	h := providertest.Giftery(t)
	products, err := h.Provider().Products(ctx)
	must(t, err)
	_, err = store.SyncProducts(ctx, h.Name(), products)
	must(t, err)
	var rewardID int64
	must(t, e.db.QueryRow(ctx, `SELECT id FROM rewards WHERE provider = 'giftery' AND external_id = '13103'`).Scan(&rewardID))
	app := httpapi.New(httpapi.Options{Logger: slog.New(slog.DiscardHandler), Outage: postgres.Unavailable})
	api, err := adminapi.New(adminapi.Deps{Rewards: store,
		Staff: func(c *fiber.Ctx) (access.Staff, error) {
			st, ok := e.users[c.Get("X-Test-Staff")]
			if !ok {
				return access.Staff{}, apperr.New(apperr.Unauthorized, "unauthorized", "Требуется вход.")
			}
			return st, nil
		}})
	must(t, err)
	api.Register(app)
	e.app = app
	return e, rewardID
}

// call sends a JSON request and checks the answer against openapi.yaml.
func (e env) call(t *testing.T, method, path, who, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if who != "" {
		req.Header.Set("X-Test-Staff", who)
	}
	resp, err := e.app.Test(req, -1)
	must(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if err := validateResponse(method, path, resp.StatusCode, resp.Header, raw); err != nil {
		t.Errorf("%s %s: %v", method, path, err)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func TestRewardOfferAndLimitRoutes(t *testing.T) {
	t.Parallel()
	e, rewardID := rewardsEnv(t)
	ctx := context.Background()
	base := fmt.Sprintf("/admin/v1/programs/%d", e.program)
	offer := fmt.Sprintf(`{"reward_id":%d,"roles":["seller"],"markup_bp":500,"stock":10,"reason":"весенний каталог"}`, rewardID)
	limits := `{"per_order_kopecks":300000,"per_day_kopecks":500000,"moderation_kopecks":200000,"cooling_off_kopecks":1000000,"cooling_off_hours":24,"reason":"правила"}`
	audits := func(action string) int {
		var n int
		must(t, e.db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = $1`, action).Scan(&n))
		return n
	}

	// Another client's manager: 404 on every route, nothing written.
	for _, r := range []struct{ method, path, body string }{
		{"GET", base + "/reward-offers", ""}, {"PUT", base + "/reward-offers", offer}, {"PUT", base + "/reward-limits", limits},
	} {
		if code, body := e.call(t, r.method, r.path, "rival", r.body); code != 404 {
			t.Errorf("rival %s %s: %d %v", r.method, r.path, code, body)
		}
	}
	// A moderator reads but may not change; no caller: 401.
	if code, _ := e.call(t, "PUT", base+"/reward-offers", "moderator", offer); code != 403 {
		t.Errorf("moderator edits an offer: %d", code)
	}
	if code, _ := e.call(t, "PUT", base+"/reward-limits", "", limits); code != 401 {
		t.Errorf("no caller: %d", code)
	}
	// Hostile and wrong input: clear 4xx, nothing written.
	for _, body := range []string{
		`{"reward_id":0}`,
		fmt.Sprintf(`{"reward_id":%d,"markup_bp":20000}`, rewardID),
		fmt.Sprintf(`{"reward_id":%d,"stock":-1}`, rewardID),
		fmt.Sprintf(`{"reward_id":%d,"price":1}`, rewardID),
		fmt.Sprintf(`{"reward_id":%d,"title":"%s"}`, rewardID, strings.Repeat("я", 201)),
		fmt.Sprintf(`{"reward_id":%d,"roles":[""]}`, rewardID),
		`[1,2]`, `{"reward_id":1} {}`,
		`{"reward_id":1,"reason":"` + strings.Repeat("x", 20<<10) + `"}`,
	} {
		if code, resp := e.call(t, "PUT", base+"/reward-offers", "maker", body); code < 400 || code >= 500 || code == 404 {
			t.Errorf("offer %.60s: %d %v", body, code, resp)
		}
	}
	if code, resp := e.call(t, "PUT", base+"/reward-offers", "maker", `{"reward_id":999999}`); code != 404 || resp["code"] != "reward_not_found" {
		t.Errorf("a reward not in the catalog: %d %v", code, resp)
	}
	for _, body := range []string{`{"per_order_kopecks":-1}`, `{"cooling_off_hours":9000}`, `{"per_day_kopecks":"1"}`, `{"per_day_kopecks":1e20}`} {
		if code, resp := e.call(t, "PUT", base+"/reward-limits", "maker", body); code < 400 || code >= 500 || code == 404 {
			t.Errorf("limits %s: %d %v", body, code, resp)
		}
	}
	if n := audits("reward_offer.put") + audits("reward_limits.put"); n != 0 {
		t.Fatalf("%d audit entries after refused requests", n)
	}

	// The client's manager offers a reward, then changes it; each change
	// is audited with the row before and after.
	code, resp := e.call(t, "PUT", base+"/reward-offers", "maker", offer)
	if code != 200 || resp["id"] == nil {
		t.Fatalf("offer: %d %v", code, resp)
	}
	code, resp = e.call(t, "PUT", base+"/reward-offers", "maker", fmt.Sprintf(`{"reward_id":%d,"markup_bp":-1000,"available":false}`, rewardID))
	if code != 200 {
		t.Fatalf("edit: %d %v", code, resp)
	}
	code, resp = e.call(t, "GET", base+"/reward-offers", "moderator", "")
	items, _ := resp["items"].([]any)
	if code != 200 || len(items) != 1 {
		t.Fatalf("offers: %d %v", code, resp)
	}
	if it := items[0].(map[string]any); it["markup_bp"] != float64(-1000) || it["available"] != false || it["stock"] != nil {
		t.Fatalf("offer after the edit: %v", it)
	}
	var before, after, actor string
	must(t, e.db.QueryRow(ctx, `SELECT before->>'markup_bp', after->>'markup_bp', actor_kind FROM audit_log
		WHERE action = 'reward_offer.put' ORDER BY id DESC LIMIT 1`).Scan(&before, &after, &actor))
	if before != "500" || after != "-1000" || actor != "staff" || audits("reward_offer.put") != 2 {
		t.Fatalf("audit: before %s after %s actor %s, %d entries", before, after, actor, audits("reward_offer.put"))
	}

	// Limits: set, audited, and what the store enforces.
	code, resp = e.call(t, "PUT", base+"/reward-limits", "maker", limits)
	if code != 200 || resp["per_order_kopecks"] != float64(300000) {
		t.Fatalf("limits: %d %v", code, resp)
	}
	var perOrder, hours int64
	must(t, e.db.QueryRow(ctx, `SELECT per_order_kopecks, cooling_off_hours FROM reward_limits WHERE program_id = $1`, e.program).Scan(&perOrder, &hours))
	if perOrder != 300000 || hours != 24 || audits("reward_limits.put") != 1 {
		t.Fatalf("stored limits %d/%dh, %d audit entries", perOrder, hours, audits("reward_limits.put"))
	}
	// An operator acts for the client named in ?client_id=; for another
	// client the program is not found.
	var acme, rival int64
	must(t, e.db.QueryRow(ctx, `SELECT client_id FROM programs WHERE id = $1`, e.program).Scan(&acme))
	must(t, e.db.QueryRow(ctx, `SELECT id FROM clients WHERE code = 'rival'`).Scan(&rival))
	if code, resp := e.call(t, "PUT", fmt.Sprintf("%s/reward-limits?client_id=%d", base, acme), "operator", `{"per_order_kopecks":100000}`); code != 200 {
		t.Fatalf("operator: %d %v", code, resp)
	}
	if code, _ := e.call(t, "PUT", fmt.Sprintf("%s/reward-limits?client_id=%d", base, rival), "operator", `{"per_order_kopecks":1}`); code != 404 {
		t.Fatalf("operator, wrong client: %d", code)
	}
	must(t, e.db.QueryRow(ctx, `SELECT per_order_kopecks FROM reward_limits WHERE program_id = $1`, e.program).Scan(&perOrder))
	if perOrder != 100000 {
		t.Fatalf("per order %d after the operator's change", perOrder)
	}
}
