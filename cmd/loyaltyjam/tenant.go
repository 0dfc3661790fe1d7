package main

import (
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
	return tenant.NewService(tenantdb.New(d.db, auditdb.New(d.db)), auditdb.New(d.db), cfg)
}
