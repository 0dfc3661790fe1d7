package main

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/tenantdb"
	"github.com/loyaltyjam/loyaltyjam/internal/tenant"
)

// tenantService is the clients and staff use cases as serve and the CLI
// wire them: invitations go out through the SMTP client when one is
// configured.
func tenantService(d *deps, snd senders) *tenant.Service {
	cfg := tenant.Config{PublicURL: d.cfg.PublicURL, Logger: d.log}
	if snd.email != nil {
		cfg.Mail = snd.email
	}
	return tenant.NewService(tenantStore(d.db), auditStore(d.db), cfg)
}

func tenantStore(db *pgxpool.Pool) *tenantdb.Store { return tenantdb.New(db, auditdb.New(db)) }

func auditStore(db *pgxpool.Pool) *auditdb.Store { return auditdb.New(db) }
