package seed

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/notifydb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/registrydb"
	"github.com/loyaltyjam/loyaltyjam/internal/registry"
)

// demoRegistryFile names the seeded points registry of each client.
const demoRegistryFile = "бонус-за-выкладку-демо.csv"

// seedRegistries uploads, confirms and applies a points registry per demo
// client (a bonus for last month to its participants) through the registry
// service and processor, as a client manager's upload and the worker would,
// so its credits are ledger postings of the product's own code. A client
// that has it already is skipped.
func seedRegistries(ctx context.Context, db *pgxpool.Pool, now time.Time) (bool, error) {
	store := registrydb.New(db, ledgerdb.Postings{}, auditdb.New(db), registrydb.WithCreditSubscribers(notifydb.Notifier{}))
	noQueue := registry.EnqueueFunc(func(context.Context, int64, string) error { return nil }) // applied below, in-process
	svc := registry.NewService(store, noQueue, registry.Config{Now: func() time.Time { return now }, Logger: quiet})
	proc := registry.NewProcessor(store, nil, nil, registry.ProcessorConfig{Logger: quiet})
	period := now.AddDate(0, -1, 0).Format("2006-01")
	created := false
	for _, c := range Clients {
		var clientID, programID, managerID int64
		var exists bool
		if err := db.QueryRow(ctx, `SELECT c.id, p.id, u.id,
				EXISTS (SELECT 1 FROM registry_uploads r WHERE r.client_id = c.id AND r.file_name = $2)
			FROM clients c JOIN programs p ON p.client_id = c.id AND p.code = $3
			JOIN dashboard_users u ON u.client_id = c.id AND u.role = 'client_manager'
			WHERE c.code = $1 ORDER BY u.id LIMIT 1`, c.Code, demoRegistryFile, c.ProgramCode).Scan(&clientID, &programID, &managerID, &exists); err != nil {
			return false, fmt.Errorf("demo registry of %s: %w", c.Code, err)
		}
		if exists {
			continue
		}
		created = true
		var b strings.Builder
		b.WriteString("Телефон;Баллы;Основание\n")
		for i, p := range Participants {
			if p.Client == c.Code {
				fmt.Fprintf(&b, "%s;%d;Бонус за выкладку, %s\n", p.Phone, 300+100*i, period)
			}
		}
		staff := access.Staff{UserID: managerID, ClientID: clientID, Role: access.ClientManager}
		up, err := svc.Upload(ctx, staff, registry.UploadRequest{ClientID: clientID, Kind: registry.KindPoints,
			ProgramID: programID, Period: period, FileName: demoRegistryFile, Data: []byte(b.String())})
		if err != nil {
			return false, fmt.Errorf("upload demo registry of %s: %w", c.Code, err)
		}
		if _, err := svc.Confirm(ctx, staff, up.ID); err != nil {
			return false, fmt.Errorf("confirm demo registry of %s: %w", c.Code, err)
		}
		if err := proc.Process(ctx, up.ID); err != nil {
			return false, fmt.Errorf("apply demo registry of %s: %w", c.Code, err)
		}
	}
	return created, nil
}

// quiet is the logger of the services seeding drives: their per-step info
// lines would drown what dev prints.
var quiet = slog.New(slog.DiscardHandler)
