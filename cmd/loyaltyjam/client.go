package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/reportdb"
)

func init() {
	register(command{name: "client", summary: "clients: create, list, invite staff; timezone (the zone the dashboard shows its times in)", run: runClient})
}

const clientUsage = "loyaltyjam client timezone --client CODE ZONE (an IANA name, e.g. Europe/Moscow, Asia/Novosibirsk)\n" + clientOpsUsage

func runClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return clientCmd(ctx, args, "", stdout, stderr)
}

// clientCmd runs "client timezone ..."; dbURL overrides DATABASE_URL
// (tests), empty means the configuration.
func clientCmd(ctx context.Context, args []string, dbURL string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "create" || args[0] == "list" || args[0] == "invite") {
		return clientOps(ctx, args, dbURL, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "timezone" {
		return fmt.Errorf("%w: %s", errUsage, clientUsage)
	}
	fs := flag.NewFlagSet("client timezone", flag.ContinueOnError)
	fs.SetOutput(stderr)
	client := fs.String("client", "", "client code")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *client == "" || fs.NArg() != 1 {
		return fmt.Errorf("%w: %s", errUsage, clientUsage)
	}
	if dbURL == "" {
		cfg, _, err := loadConfig(stderr)
		if err != nil {
			return err
		}
		dbURL = cfg.DatabaseURL
	}
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := reportdb.New(db).SetClientTimeZone(ctx, *client, fs.Arg(0)); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "client %s: times in %s\n", *client, fs.Arg(0))
	return err
}
