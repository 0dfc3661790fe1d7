package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/tenant"
)

const clientOpsUsage = `loyaltyjam client create --code CODE --name "LEGAL NAME" --inn INN [--contact-name N] [--contact-email E] [--contact-phone P] [--timezone ZONE]
loyaltyjam client list
loyaltyjam client invite --client CODE --email E --role client_manager|moderator|analyst [--name N]`

// osUser names the operator at the command line in the audit log.
func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if n := os.Getenv("USER"); n != "" { // the config package does not read it: it is no setting
		return n
	}
	return "cli"
}

// clientOps runs "client create|list|invite"; dbURL overrides DATABASE_URL
// (tests, which also pass the service's e-mail sender as nil: the
// invitation is then kept and reported undelivered).
func clientOps(ctx context.Context, args []string, dbURL string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("client "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c tenant.Client
	var code, addr, role, name string
	switch args[0] {
	case "create":
		fs.StringVar(&c.Code, "code", "", "client code (latin)")
		fs.StringVar(&c.Name, "name", "", "legal name")
		fs.StringVar(&c.INN, "inn", "", "ИНН")
		fs.StringVar(&c.ContactName, "contact-name", "", "contact person")
		fs.StringVar(&c.ContactEmail, "contact-email", "", "contact e-mail")
		fs.StringVar(&c.ContactPhone, "contact-phone", "", "contact phone")
		fs.StringVar(&c.TimeZone, "timezone", "", "IANA zone (default Europe/Moscow)")
	case "invite":
		fs.StringVar(&code, "client", "", "client code")
		fs.StringVar(&addr, "email", "", "e-mail of the invitee")
		fs.StringVar(&role, "role", "", "client_manager, moderator or analyst")
		fs.StringVar(&name, "name", "", "name of the invitee")
	}
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 {
		return fmt.Errorf("%w: %s", errUsage, clientOpsUsage)
	}
	var mail tenant.Mailer
	publicURL := "http://localhost:8080"
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if dbURL == "" {
		cfg, l, err := loadConfig(stderr)
		if err != nil {
			return err
		}
		dbURL, publicURL, log = cfg.DatabaseURL, cfg.PublicURL, l
		if args[0] == "invite" {
			snd, err := buildSenders(ctx, &deps{cfg: cfg, log: log})
			if err != nil {
				return err
			}
			if snd.email != nil {
				mail = snd.email
			}
		}
	}
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := tenant.NewService(tenantStore(db), auditStore(db), tenant.Config{PublicURL: publicURL, Mail: mail, Logger: log})
	by := tenant.CLICaller(osUser())
	switch args[0] {
	case "create":
		out, err := svc.CreateClient(ctx, by, c)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "client %s created: id %d, %s, ИНН %s, times in %s\n", out.Code, out.ID, out.Name, out.INN, out.TimeZone)
		return err
	case "list":
		list, err := svc.Clients(ctx, by)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tCODE\tLEGAL NAME\tINN\tZONE\tCONTACT")
		for _, c := range list {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Code, c.Name, c.INN, c.TimeZone,
				strings.TrimSpace(c.ContactName+" "+c.ContactEmail+" "+c.ContactPhone))
		}
		return w.Flush()
	case "invite":
		if code == "" || addr == "" || role == "" {
			return fmt.Errorf("%w: %s", errUsage, clientOpsUsage)
		}
		cl, err := tenantStore(db).ClientByCode(ctx, code)
		if err != nil {
			return err
		}
		inv, err := svc.Invite(ctx, by, tenant.InviteRequest{ClientID: cl.ID, Email: addr, Name: name, Role: access.Role(role)})
		if err != nil {
			return err
		}
		if inv.EmailError != "" {
			_, err = fmt.Fprintf(stdout, "invitation %d stored, but the e-mail to %s was not sent: %s\n(send it again from the dashboard or POST /admin/v1/staff/invitations/%d/resend)\n",
				inv.ID, inv.Email, inv.EmailError, inv.ID)
			return err
		}
		_, err = fmt.Fprintf(stdout, "invitation %d e-mailed to %s (%s), valid until %s UTC\n", inv.ID, inv.Email, inv.Role,
			inv.ExpiresAt.UTC().Format("2006-01-02 15:04"))
		return err
	}
	return fmt.Errorf("%w: %s", errUsage, clientOpsUsage)
}
