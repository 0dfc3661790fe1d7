package mobileapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/gofiber/fiber/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltyjam/loyaltyjam/internal/config"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms/smssim"
	"github.com/loyaltyjam/loyaltyjam/internal/photostore"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pgtest"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/plandb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/rewarddb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taxdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/tenantdb"
	"github.com/loyaltyjam/loyaltyjam/internal/redistest"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
	"github.com/loyaltyjam/loyaltyjam/mobile-api/openapicheck"
)

// servedEnv is an env whose app is wired the way `loyaltyjam serve` wires
// it (cmd/loyaltyjam/serve.go buildAPI): the mobile API with the receipt
// store carrying the notification hook, and the inbox, points and task
// stores. Keep it in step with buildAPI.
type servedEnv struct {
	*env
	tasks *taskdb.Store
}

func newServedEnv(t testing.TB, cfg config.Auth) *servedEnv {
	t.Helper()
	db, _ := pgtest.New(t)
	ropt := redistest.DB(t)
	rdb := redis.NewClient(ropt)
	t.Cleanup(func() { rdb.Close() })
	aopt := asynq.RedisClientOpt{Addr: ropt.Addr, Password: ropt.Password, DB: ropt.DB}
	qc := asynq.NewClient(aopt)
	t.Cleanup(func() { qc.Close() })
	insp := asynq.NewInspector(aopt)
	t.Cleanup(func() { insp.Close() })
	sim := smssim.New(smssim.Options{APIID: "test-api-id", Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sc, err := sms.New(sms.Options{BaseURL: srv.URL, APIID: "test-api-id", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	photoDir := t.TempDir()

	app := httpapi.New(httpapi.Options{Logger: log, BodyLimit: int(cfg.MaxPhotoBytes) + 1<<20})
	httpapi.Health(app, map[string]httpapi.Checker{
		"postgres": httpapi.CheckFunc(db.Ping),
		"redis":    httpapi.CheckFunc(func(ctx context.Context) error { return rdb.Ping(ctx).Err() }),
	})
	photos, err := photostore.NewDir(photoDir)
	if err != nil {
		t.Fatal(err)
	}
	store := taskdb.New(db, photos, ledgerdb.Postings{}, taskdb.WithLogger(log), taskdb.WithNotifier(notifydb.Notifier{}))
	api, err := mobileapi.New(mobileapi.Deps{DB: db, Redis: rdb, Queue: qc, Logger: log, SMS: sc, Auth: cfg,
		PhotoDir: photoDir, Receipts: receiptdb.New(db, notifydb.Notifier{}),
		Notifications: notifydb.New(db), Ledger: ledgerdb.New(db), Tasks: store, Team: tenantdb.New(db, auditdb.New(db)),
		Tax:     taxdb.New(db, ledgerdb.Postings{}, auditdb.New(db), sealbox.Random(), nil),
		Rewards: rewarddb.New(db, ledgerdb.Postings{}, auditdb.New(db), sealbox.Random(), rewarddb.WithNotifier(notifydb.Notifier{})), Plans: plandb.New(db, ledgerdb.Postings{}, auditdb.New(db))})
	if err != nil {
		t.Fatal(err)
	}
	api.Register(app)

	router, err := legacy.NewRouter(openapiDoc)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, app: app, db: db, rdb: rdb, sim: sim, insp: insp, router: router, cfg: cfg}
	t.Cleanup(func() {
		if !t.Failed() && e.checked.Load() == 0 {
			t.Error("no response was validated against openapi.yaml")
		}
	})
	return &servedEnv{env: e, tasks: store}
}

// TestEveryServedRouteIsDocumented fails when serve's app routes a /v1/
// path the document does not describe, or the document describes one
// nobody serves.
func TestEveryServedRouteIsDocumented(t *testing.T) {
	t.Parallel()
	e := newServedEnv(t, defaultAuth())
	if m := openapicheck.Undocumented(e.app, openapiDoc, "/v1/"); len(m) > 0 {
		t.Errorf("served but missing from openapi.yaml:\n  %s", strings.Join(m, "\n  "))
	}
	if m := openapicheck.Unserved(e.app, openapiDoc); len(m) > 0 {
		t.Errorf("in openapi.yaml but not served:\n  %s", strings.Join(m, "\n  "))
	}
	// The walk sees the feature routes at all (so an empty walk cannot
	// pass), and the check can fail.
	want := []string{"GET /v1/balance", "GET /v1/ledger", "GET /v1/notifications", "POST /v1/notifications/{id}/read",
		"GET /v1/tasks", "POST /v1/tasks/{id}/take", "POST /v1/tasks/submissions/{id}/report"}
	served := openapicheck.Served(e.app)
	for _, w := range want {
		if !served[w] {
			t.Errorf("the served app has no %s: is the test helper wired like serve?", w)
		}
	}
	extra := fiber.New()
	extra.Get("/v1/undocumented/:thing", func(c *fiber.Ctx) error { return nil })
	extra.Get("/v1/me", func(c *fiber.Ctx) error { return nil })
	if got := fmt.Sprint(openapicheck.Undocumented(extra, openapiDoc, "/v1/")); got != "[GET /v1/undocumented/{thing}]" {
		t.Errorf("undocumented(extra) = %s", got)
	}
	// Every response checked here is validated too.
	e.do(t, jsonReq("GET", "/v1/openapi.yaml", "", nil))
}

func TestOpenAPIPath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/v1/tasks/":                      "/v1/tasks",
		"/v1/tasks/:id/take":              "/v1/tasks/{id}/take",
		"/v1/tasks/submissions/:id":       "/v1/tasks/submissions/{id}",
		"/v1/notifications/:id/read":      "/v1/notifications/{id}/read",
		"/v1/devices/:token":              "/v1/devices/{token}",
		"/v1/a/:x/b/:y_z":                 "/v1/a/{x}/b/{y_z}",
		"/":                               "/",
		"/v1/notifications/preferences":   "/v1/notifications/preferences",
		"/admin/v1/tasks/submissions/:id": "/admin/v1/tasks/submissions/{id}",
	} {
		if got := openapicheck.Path(in); got != want {
			t.Errorf("openapicheck.Path(%q) = %q, want %q", in, got, want)
		}
	}
}
