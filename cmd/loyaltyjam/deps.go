package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/loyaltyjam/loyaltyjam/internal/config"
	"github.com/loyaltyjam/loyaltyjam/internal/logging"
	"github.com/loyaltyjam/loyaltyjam/internal/metrics"
	"github.com/loyaltyjam/loyaltyjam/internal/points"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/catalogdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/pointsdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/receiptdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/registrydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taxdb"
	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
)

// deps are the long-lived resources shared by the server roles.
type deps struct {
	cfg   config.Config
	log   *slog.Logger
	db    *pgxpool.Pool
	redis *redis.Client
	// queue enqueues Asynq tasks on the same Redis.
	queue *asynq.Client
	// redisOpt is the same Redis for Asynq tools (the queue dashboard).
	redisOpt asynq.RedisConnOpt
	// metrics is the process's Prometheus registry, served at /metrics.
	metrics *prometheus.Registry
	// receipts is the receipt store, shared by API and workers, that
	// publishes every receipt change to the notifier and the rollups in
	// the change's transaction.
	receipts *receiptdb.Store
	// ledger is the ledger store, whose releases of pending points tell
	// their participants (the notifier) in the release's transaction.
	ledger *ledgerdb.Store
	// points turns verified receipts into points (matching, rules, ledger).
	points *points.Service
}

// registryStore is the registry store with invitation passwords sealed by
// CREDENTIALS_KEY (a random per-process key when it is unset).
func (d *deps) registryStore() *registrydb.Store {
	opts := []registrydb.Option{registrydb.WithSecondApproval(d.cfg.RegistrySecondApproval),
		registrydb.WithCreditSubscribers(notifydb.Notifier{})}
	if len(d.cfg.CredentialsKey) > 0 {
		box, err := sealbox.New(d.cfg.CredentialsKey)
		if err != nil {
			panic(err) // config checked the length
		}
		opts = append(opts, registrydb.WithSealer(box))
	}
	return registrydb.New(d.db, ledgerdb.Postings{}, auditdb.New(d.db), opts...)
}

// taxStore is the tax store with legal data sealed by TAX_DATA_KEY; nil
// when the key is unset (a random key would lose the data at restart).
func (d *deps) taxStore() *taxdb.Store {
	if len(d.cfg.TaxDataKey) == 0 {
		return nil
	}
	box, err := sealbox.New(d.cfg.TaxDataKey)
	if err != nil {
		panic(err) // config checked the length
	}
	return taxdb.New(d.db, ledgerdb.Postings{}, auditdb.New(d.db), box, nil)
}

// loadConfig loads the configuration and builds the logger.
func loadConfig(stderr io.Writer) (config.Config, *slog.Logger, error) {
	cfg, err := config.Load()
	if err != nil {
		return cfg, nil, fmt.Errorf("configuration: %w", err)
	}
	return cfg, logging.New(stderr, cfg.LogLevel, cfg.LogFormat), nil
}

// openDeps connects to PostgreSQL and Redis.
func openDeps(ctx context.Context, cfg config.Config, log *slog.Logger) (*deps, error) {
	if cfg.RedisURL == "" {
		return nil, errors.New("configuration: REDIS_URL is required")
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	ropt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(ropt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		db.Close()
		rdb.Close()
		return nil, fmt.Errorf("ping redis: %w", err)
	}
	aopt, err := asynq.ParseRedisURI(cfg.RedisURL)
	if err != nil {
		db.Close()
		rdb.Close()
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d := &deps{
		cfg: cfg, log: log, db: db, redis: rdb,
		queue:    asynq.NewClientFromRedisClient(rdb),
		redisOpt: aopt,
		metrics:  reg,
		receipts: receiptdb.New(db, notifydb.Notifier{}, reportdb.Rollups{}),
		ledger:   ledgerdb.New(db, notifydb.Notifier{}),
	}
	popts := []points.Option{points.WithLogger(log)}
	if ts := d.taxStore(); ts != nil {
		// A program's consents required before crediting (docs/tax.md).
		popts = append(popts, points.WithConsents(ts))
	}
	d.points = points.New(pointsdb.New(db), catalogdb.New(db), ledgerdb.Postings{}, popts...)
	return d, nil
}

// sweepInterval is how often each worker sweeps for receipts whose task
// was lost; with verify.Config.LostAfter (30 s) a lost task is rebuilt
// within about a minute.
const sweepInterval = 30 * time.Second

// registerBacklog exposes the receipt backlog (non-terminal receipts
// untouched for a minute and waiting for no later retry, by status) on the
// process's /metrics.
func (d *deps) registerBacklog() error {
	statuses := []string{"received", "decoded", "queued", "verifying", "pending_ofd", "verified", "matched"}
	err := metrics.RegisterBacklog(d.metrics, func(ctx context.Context, before time.Time) ([]metrics.BacklogRow, error) {
		rows, err := d.receipts.Backlog(ctx, before)
		out := make([]metrics.BacklogRow, 0, len(rows))
		for _, r := range rows {
			out = append(out, metrics.BacklogRow{Status: string(r.Status), Count: r.Count, Oldest: r.Oldest})
		}
		return out, err
	}, time.Minute, statuses...)
	if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
		return nil // API and workers in one process (dev): registered once
	}
	return err
}

func (d *deps) Close() {
	d.queue.Close()
	d.redis.Close()
	d.db.Close()
}
