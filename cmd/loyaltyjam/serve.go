package main

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/hibiken/asynqmon"
	"github.com/jackc/pgx/v5"

	"github.com/loyaltyjam/loyaltyjam/internal/adminapi"
	"github.com/loyaltyjam/loyaltyjam/internal/apperr"
	"github.com/loyaltyjam/loyaltyjam/internal/dashboard"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/metrics"
	"github.com/loyaltyjam/loyaltyjam/internal/photostore"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/budgetdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/peopledb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/plandb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/programdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
	"github.com/loyaltyjam/loyaltyjam/internal/program"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/ratelimit/redislimit"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
	"github.com/loyaltyjam/loyaltyjam/web/cabinet"
)

func init() {
	register(command{name: "serve", summary: "run the HTTP API", run: runServe})
}

func runServe(ctx context.Context, _ []string, _, stderr io.Writer) error {
	cfg, log, err := loadConfig(stderr)
	if err != nil {
		return err
	}
	if err := cfg.ForServe(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log.Info("starting api", "config", cfg.String())
	d, err := openDeps(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	app, cleanup, err := buildAPI(ctx, d)
	if err != nil {
		return err
	}
	defer cleanup()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	return serveHTTP(ctx, d, app, ln)
}

// buildAPI wires every HTTP surface on one Fiber app.
func buildAPI(ctx context.Context, d *deps) (*fiber.App, func(), error) {
	app := httpapi.New(httpapi.Options{Logger: d.log, BodyLimit: int(d.cfg.Auth.MaxPhotoBytes) + 1<<20, Outage: postgres.Unavailable})
	httpapi.Health(app, map[string]httpapi.Checker{
		"postgres": httpapi.CheckFunc(d.db.Ping),
		"redis":    httpapi.CheckFunc(func(ctx context.Context) error { return d.redis.Ping(ctx).Err() }),
	})
	snd, err := buildSenders(ctx, d)
	if err != nil {
		return nil, nil, err
	}
	if snd.sms == nil {
		return nil, nil, fmt.Errorf("the participant API needs SMS for sign-in codes: set SMS_API_KEY")
	}
	photos, err := photostore.NewDir(d.cfg.PhotoDir)
	if err != nil {
		return nil, nil, err
	}
	taskStore := taskdb.New(d.db, photos, ledgerdb.Postings{}, taskdb.WithLogger(d.log), taskdb.WithSecondApproval(d.cfg.TaskSecondApproval),
		taskdb.WithNotifier(notifydb.Notifier{}))
	rewards := d.rewardStore()
	plans := plandb.New(d.db, ledgerdb.Postings{}, auditdb.New(d.db), plandb.WithSecondApproval(d.cfg.PlanSecondApproval))
	apiDeps := mobileapi.Deps{DB: d.db, Redis: d.redis, Queue: d.queue, Logger: d.log,
		SMS: snd.sms, Auth: d.cfg.Auth, PhotoDir: d.cfg.PhotoDir, Receipts: d.receipts,
		Notifications: notifydb.New(d.db), Ledger: ledgerdb.New(d.db), Tasks: taskStore,
		Team: tenantStore(d.db), Rewards: rewards, Plans: plans}
	taxStore := d.taxStore()
	if taxStore != nil {
		apiDeps.Tax = taxStore
	}
	api, err := mobileapi.New(apiDeps)
	if err != nil {
		return nil, nil, err
	}
	registries := registry.NewService(d.registryStore(), registry.EnqueueFunc(queue.RegistryEnqueuer(d.queue)),
		registry.Config{SecondApprovalKopecks: d.cfg.RegistrySecondApproval, Logger: d.log})
	budgets := budgetdb.New(d.db, ledgerdb.Postings{}, auditdb.New(d.db), d.log)
	people := peopledb.New(d.db, ledgerdb.Postings{}, auditdb.New(d.db), d.cfg.RegistrySecondApproval)
	progStore := programdb.New(d.db)
	progService := program.NewService(progStore, auditdb.New(d.db), d.ledger, nil)
	programs := &adminapi.Programs{Store: progStore, Matcher: d.points, Service: progService}
	dashOpts := dashboard.Options{Reports: reportdb.New(d.db), Foreign: catalogdb.New(d.db), Receipts: d.receipts,
		Approver: dashboard.DefaultApprover[pgx.Tx]{Receipts: d.receipts, Credit: d.points.ProcessApproved}, Photos: photos,
		Logger: d.log, Outage: postgres.Unavailable,
		SecureCookies: strings.HasPrefix(d.cfg.PublicURL, "https://"), Tasks: taskStore, Registries: registries,
		Limiter: redislimit.New(d.redis, "lj:rl:"), Alerter: mailAlerter{mail: snd.email, log: d.log},
		TrustedProxyHeader: d.cfg.Auth.TrustedProxyHdr, Tenant: tenantService(d, snd), Budgets: budgets, People: people,
		Programs: &dashboard.Programs{Service: progService, Receipts: progStore, Matcher: d.points, Outcomes: progStore.Results},
		Rewards:  d.rewardOrders(rewards), RewardOffers: rewards, Plans: plans}
	if taxStore != nil {
		dashOpts.Tax = taxStore
	}
	dash := dashboard.New(dashOpts)
	dash.Register(app)
	// The participant's cabinet (phone web app) at /app/, over /v1.
	cab, err := cabinet.New()
	if err != nil {
		return nil, nil, err
	}
	cab.Register(app)
	api.Register(app)
	admin, err := adminapi.New(adminapi.Deps{Staff: dash.Staff, Tasks: taskStore, Registries: registries,
		Tenant: tenantService(d, snd), Shops: tenantService(d, snd), TrustedProxyHeader: d.cfg.Auth.TrustedProxyHdr,
		Budgets: budgets, People: people, Programs: programs, Plans: plans, Rewards: rewards})
	if err != nil {
		return nil, nil, err
	}
	admin.Register(app)

	if err := d.registerBacklog(); err != nil {
		return nil, nil, err
	}
	app.Get("/metrics", operatorOnly(d), adaptor.HTTPHandler(metrics.Handler(d.metrics)))
	// The queue dashboard for operators: queues, retries, dead tasks.
	queues := asynqmon.New(asynqmon.Options{RootPath: "/operator/queues", RedisConnOpt: d.redisOpt})
	app.Use("/operator/queues", operatorOnly(d), adaptor.HTTPHandler(queues))
	return app, func() { queues.Close() }, nil
}

// operatorOnly lets a request through when OPERATOR_TOKEN is unset (local
// development) or when it carries the token (see operatorAuthorized).
func operatorOnly(d *deps) fiber.Handler {
	want := d.cfg.OperatorToken.Value()
	return func(c *fiber.Ctx) error {
		if want == "" || operatorAuthorized(c.Get(fiber.HeaderAuthorization), want) {
			return c.Next()
		}
		c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="loyaltyjam operator"`)
		return apperr.New(apperr.Unauthorized, "operator_token_required", "Нужен токен оператора.")
	}
}

// operatorAuthorized reports whether an Authorization header carries the
// operator token, as a bearer token (scripts, Prometheus) or as the
// password of HTTP basic auth (a browser).
func operatorAuthorized(header, want string) bool {
	got := ""
	if strings.HasPrefix(header, "Bearer ") {
		got = strings.TrimPrefix(header, "Bearer ")
	} else if raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(header, "Basic ")); err == nil && strings.HasPrefix(header, "Basic ") {
		_, got, _ = strings.Cut(string(raw), ":")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// serveHTTP serves app on ln until ctx ends, then stops accepting and lets
// in-flight requests finish within the shutdown timeout.
func serveHTTP(ctx context.Context, d *deps, app *fiber.App, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	d.log.Info("api listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	d.log.Info("api shutting down")
	if err := app.ShutdownWithTimeout(d.cfg.ShutdownTimeout); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
