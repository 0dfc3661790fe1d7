package main

import (
	"context"
	"fmt"
	"io"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
)

func init() {
	register(command{name: "migrate", summary: "apply or inspect database migrations: up | down | status", run: runMigrate})
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: loyaltyjam migrate up|down|status", errUsage)
	}
	cfg, log, err := loadConfig(stderr)
	if err != nil {
		return err
	}
	if args[0] == "up" {
		// Creates the database first when the server lacks it.
		_, err := postgres.MigrateUp(ctx, cfg.DatabaseURL, log)
		return err
	}
	m, err := postgres.NewMigrator(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer m.Close()
	switch args[0] {
	case "down":
		return m.Down(ctx, log)
	case "status":
		return m.Status(ctx, stdout)
	}
	return fmt.Errorf("%w: unknown migrate action %q (up, down, status)", errUsage, args[0])
}
