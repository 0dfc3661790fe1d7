package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loyaltyjam/loyaltyjam/internal/config"
	"github.com/loyaltyjam/loyaltyjam/internal/metrics"
	"github.com/loyaltyjam/loyaltyjam/internal/notify"
	"github.com/loyaltyjam/loyaltyjam/internal/photostore"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/plandb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/taskdb"
	"github.com/loyaltyjam/loyaltyjam/internal/qrscan"
	"github.com/loyaltyjam/loyaltyjam/internal/queue"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
	"github.com/loyaltyjam/loyaltyjam/internal/reward"
	"github.com/loyaltyjam/loyaltyjam/internal/verify"
	"github.com/loyaltyjam/loyaltyjam/workers"
)

func init() {
	register(command{name: "worker", summary: "run the Asynq workers and the scheduler", run: runWorker})
}

func runWorker(ctx context.Context, _ []string, _, stderr io.Writer) error {
	cfg, log, err := loadConfig(stderr)
	if err != nil {
		return err
	}
	if err := cfg.ForWorker(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log.Info("starting worker", "config", cfg.String())
	d, err := openDeps(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	if addr := cfg.WorkerMetricsAddr; addr != "" {
		srv := &http.Server{Addr: addr, Handler: workerMetricsMux(d.metrics, cfg.OperatorToken.Value()),
			ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
				log.Error("worker metrics listener failed", "addr", addr, "err", err)
			}
		}()
		defer srv.Close()
	}
	return serveWorker(ctx, d)
}

// workerMetricsMux serves /metrics of reg; with an operator token set, only
// to requests that carry it (config.ForWorker requires one for any address
// beyond loopback).
func workerMetricsMux(reg *prometheus.Registry, token string) *http.ServeMux {
	h := metrics.Handler(reg)
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if token != "" && !operatorAuthorized(r.Header.Get("Authorization"), token) {
			w.Header().Set("WWW-Authenticate", `Basic realm="loyaltyjam operator"`)
			http.Error(w, "operator token required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
	return mux
}

// serveWorker runs the Asynq server and the periodic scheduler until ctx
// ends, then lets running tasks finish within the shutdown timeout.
func serveWorker(ctx context.Context, d *deps) error {
	mux := asynq.NewServeMux()
	periodic, err := buildWorkers(ctx, d, mux)
	if err != nil {
		return err
	}
	srv := asynq.NewServerFromRedisClient(d.redis, asynq.Config{
		Concurrency:     d.cfg.WorkerConcurrency,
		Queues:          queue.Priorities,
		ShutdownTimeout: d.cfg.ShutdownTimeout,
		RetryDelayFunc:  workers.RetryDelay,
		Logger:          asynqLogger{d.log},
	})
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("start asynq server: %w", err)
	}
	d.log.Info("worker running", "concurrency", d.cfg.WorkerConcurrency)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runJobs(ctx, periodic)
	}()
	<-ctx.Done()
	d.log.Info("worker shutting down")
	srv.Shutdown()
	<-done
	return nil
}

// buildWorkers registers every task handler on mux and returns the periodic
// jobs (sweepers, relay, releases); each runs until its context ends.
func buildWorkers(ctx context.Context, d *deps, mux *asynq.ServeMux) ([]func(context.Context), error) {
	pm, err := metrics.NewPipeline(d.metrics)
	if err != nil {
		return nil, err
	}
	if err := metrics.RegisterQueueDepth(d.metrics, asynq.NewInspectorFromRedisClient(d.redis),
		queue.Critical, queue.Default, queue.Low); err != nil {
		return nil, err
	}
	fetcher, _, err := buildOFD(d)
	if err != nil {
		return nil, err
	}
	photos, err := photostore.NewDir(d.cfg.PhotoDir)
	if err != nil {
		return nil, err
	}
	svc, err := verify.New(verify.Deps{
		Store:     d.receipts,
		Fetcher:   fetcher,
		Scheduler: workers.NewScheduler(d.queue),
		Processor: d.points,
		Photos:    photos,
		// The sweeper sees the queue, so a task Redis lost is rebuilt
		// within about a minute without doubling one still queued.
		Tasks:    workers.NewLiveTasks(d.redis),
		QR:       workerQR(d.cfg),
		Recorder: pm,
		Logger:   d.log,
	}, verify.Config{
		CallTimeout:   d.cfg.OFD.CallTimeout,
		PendingWindow: d.cfg.OFD.PendingWindow,
		Concurrency:   d.cfg.OFD.VerifyConcurrency,
	})
	if err != nil {
		return nil, err
	}
	if err := d.registerBacklog(); err != nil {
		return nil, err
	}
	h := workers.New(svc, workers.Options{Logger: d.log, SweepInterval: sweepInterval})
	workers.Register(mux, h)
	snd, err := buildSenders(ctx, d)
	if err != nil {
		return nil, err
	}
	workers.RegisterNotify(mux, buildDispatcher(d, snd))
	outbox := notify.NewOutbox(notifydb.New(d.db), queue.NotifyEnqueuer{Client: d.queue,
		Inspector: asynq.NewInspectorFromRedisClient(d.redis)}, notify.WithOutboxLogger(d.log))
	tasks := taskdb.New(d.db, photos, ledgerdb.Postings{}, taskdb.WithLogger(d.log), taskdb.WithSecondApproval(d.cfg.TaskSecondApproval),
		taskdb.WithNotifier(notifydb.Notifier{}))
	registries := d.registryStore()
	// An unconfigured channel must reach the processor as a nil interface,
	// not as an interface holding a nil pointer.
	var regSMS registry.SMSSender
	if snd.sms != nil {
		regSMS = snd.sms
	}
	var regMail registry.EmailSender
	if snd.email != nil {
		regMail = snd.email
	}
	workers.RegisterRegistry(mux, registry.NewProcessor(registries, regSMS, regMail,
		registry.ProcessorConfig{AppLink: d.cfg.AppLink, Logger: d.log}))
	enqueueRegistry := queue.RegistryEnqueuer(d.queue)
	rewards := d.rewardStore()
	workers.RegisterReward(mux, reward.NewSaga(rewards, rewardProviders(d), d.log))
	plans := plandb.New(d.db, ledgerdb.Postings{}, auditdb.New(d.db), plandb.WithSecondApproval(d.cfg.PlanSecondApproval))
	return []func(context.Context){
		h.Periodic,
		func(ctx context.Context) {
			workers.SweepRewards(ctx, rewards, d.queue, rewardSweepEvery, rewardStuckAfter, d.log)
		},
		func(ctx context.Context) {
			every(ctx, rewardCatalogEvery, func(ctx context.Context) { syncRewardCatalog(ctx, d, rewards) })
		},
		func(ctx context.Context) { outbox.RunRelay(ctx, 2*time.Second) },
		func(ctx context.Context) {
			every(ctx, 5*time.Minute, func(ctx context.Context) {
				if _, err := tasks.ExpireOverdue(ctx, 500); err != nil {
					d.log.ErrorContext(ctx, "expire overdue tasks failed", "err", err)
				}
			})
		},
		func(ctx context.Context) {
			every(ctx, 5*time.Minute, func(ctx context.Context) {
				ids, err := registries.Stuck(ctx, 10*time.Minute)
				if err != nil {
					d.log.ErrorContext(ctx, "find stuck registries failed", "err", err)
				}
				for _, id := range ids {
					if err := enqueueRegistry(ctx, id, fmt.Sprintf("sweep-%d", time.Now().Unix())); err != nil {
						d.log.ErrorContext(ctx, "re-enqueue registry failed", "upload_id", id, "err", err)
					}
				}
			})
		},
		func(ctx context.Context) { checkBudgets(ctx, d, snd.email) },
		func(ctx context.Context) {
			every(ctx, time.Hour, func(ctx context.Context) {
				n, total, err := d.ledger.ReleaseDue(ctx, time.Now())
				if err != nil {
					d.log.ErrorContext(ctx, "release pending points failed", "err", err)
				} else if n > 0 {
					d.log.InfoContext(ctx, "pending points released", "transactions", n, "kopecks", total)
				}
			})
		},
		func(ctx context.Context) {
			// Plan periods close on each program's chosen day (docs/plans.md).
			every(ctx, time.Hour, func(ctx context.Context) {
				made, posted, err := plans.CloseDue(ctx, time.Now())
				if err != nil {
					d.log.ErrorContext(ctx, "scheduled plan close failed", "err", err)
				}
				if made > 0 {
					d.log.InfoContext(ctx, "plan periods closed", "runs", made, "posted", posted)
				}
			})
		},
	}, nil
}

// runJobs runs every job in its own goroutine and returns only when all of
// them have returned, so shutdown closes the pools after the last periodic
// query, never under one.
func runJobs(ctx context.Context, jobs []func(context.Context)) {
	var wg sync.WaitGroup
	for _, job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job(ctx)
		}()
	}
	wg.Wait()
}

// every runs fn now and then every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		fn(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// workerQR is the worker's QR decoder. A photo reaches the worker when the
// request path ran out of its budget (often only because the API was busy),
// so the worker runs the whole ladder: it must read whatever the request
// path could have read.
func workerQR(cfg config.Config) *qrscan.Decoder {
	return qrscan.New(qrscan.Options{MaxBytes: cfg.Auth.MaxPhotoBytes, MaxPixels: cfg.Auth.MaxPhotoPixels})
}
