// Command apiserver serves the mobile API alone, configured from the same
// environment as `loyaltyjam serve`, for the load test until serve mounts
// mobileapi itself. SMS goes to SMS_GATEWAY_URL (run `loyaltyjam sims`).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltyjam/loyaltyjam/internal/config"
	"github.com/loyaltyjam/loyaltyjam/internal/httpapi"
	"github.com/loyaltyjam/loyaltyjam/internal/logging"
	"github.com/loyaltyjam/loyaltyjam/internal/notify/sms"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	mobileapi "github.com/loyaltyjam/loyaltyjam/mobile-api"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	log := logging.New(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	ropt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(ropt)
	defer rdb.Close()
	aopt, err := asynq.ParseRedisURI(cfg.RedisURL)
	if err != nil {
		return err
	}
	qc := asynq.NewClient(aopt)
	defer qc.Close()
	sc, err := sms.New(sms.Options{BaseURL: cfg.SMS.GatewayURL, APIID: cfg.SMS.APIKey.Value(), From: cfg.SMS.Sender, Logger: log})
	if err != nil {
		return err
	}
	api, err := mobileapi.New(mobileapi.Deps{DB: db, Redis: rdb, Queue: qc, Logger: log, SMS: sc, Auth: cfg.Auth, PhotoDir: cfg.PhotoDir})
	if err != nil {
		return err
	}
	app := httpapi.New(httpapi.Options{Logger: log, BodyLimit: int(cfg.Auth.MaxPhotoBytes) + 1<<20})
	httpapi.Health(app, nil)
	api.Register(app)
	go func() { <-ctx.Done(); _ = app.Shutdown() }()
	log.Info("mobile api listening", "addr", cfg.HTTPAddr)
	return app.Listen(cfg.HTTPAddr)
}
