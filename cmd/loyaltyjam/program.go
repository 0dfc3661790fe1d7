package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/access"
	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/ledgerdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/programdb"
	"github.com/loyaltyjam/loyaltyjam/internal/program"
	"github.com/loyaltyjam/loyaltyjam/internal/rules"
)

func init() {
	register(command{name: "program", summary: "an operator's program setup: list, create, status (draft → test → live → closed), rules", run: runProgram})
}

const programUsage = `loyaltyjam program list --client CODE
loyaltyjam program create --client CODE --code CODE --name NAME --from YYYY-MM-DD --to YYYY-MM-DD [--mechanics receipts,registries,tasks] [--crediting immediate|period_close] [--zone Europe/Moscow]
loyaltyjam program status --client CODE --program CODE --to draft|test|live|closed [--reason TEXT]
loyaltyjam program rules --client CODE --program CODE --from YYYY-MM-DD RULES.json   (a new version; the past is never rewritten)`

func runProgram(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return programCmd(ctx, args, "", stdout, stderr)
}

// programCmd runs "program ..." as the platform operator, audited as the
// OS user (actor kind cli); dbURL overrides DATABASE_URL (tests).
func programCmd(ctx context.Context, args []string, dbURL string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w:\n%s", errUsage, programUsage)
	}
	fs := flag.NewFlagSet("program "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	client := fs.String("client", "", "client code")
	code := fs.String("code", "", "new program code")
	name := fs.String("name", "", "program name")
	prog := fs.String("program", "", "program code")
	from := fs.String("from", "", "start date / rules effective date")
	to := fs.String("to", "", "end date (create) or status (status)")
	mech := fs.String("mechanics", "receipts", "mechanics, comma-separated")
	crediting := fs.String("crediting", program.Immediate, "immediate or period_close")
	zone := fs.String("zone", "Europe/Moscow", "IANA time zone")
	reason := fs.String("reason", "", "why (status)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *client == "" {
		return fmt.Errorf("%w: --client is required\n%s", errUsage, programUsage)
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
	store := programdb.New(db)
	svc := program.NewService(store, auditdb.New(db), ledgerdb.New(db), nil)
	who := "cli"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	act := program.Actor{Staff: access.Staff{Role: access.Operator}, Audit: audit.Actor{Kind: audit.CLI, Name: who}}
	clientID, err := store.ClientID(ctx, *client)
	if err != nil {
		return err
	}
	date := func(flagName, v string) (time.Time, error) {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return t, fmt.Errorf("%w: --%s %q: want YYYY-MM-DD", errUsage, flagName, v)
		}
		return t, nil
	}
	programID := func() (int64, error) {
		if *prog == "" {
			return 0, fmt.Errorf("%w: --program is required\n%s", errUsage, programUsage)
		}
		return store.ProgramID(ctx, clientID, *prog)
	}
	switch args[0] {
	case "list":
		ps, err := svc.List(ctx, act.Staff, clientID)
		if err != nil {
			return err
		}
		for _, p := range ps {
			fmt.Fprintf(stdout, "%d\t%s\t%s\t%s\t%s..%s\t%s\n", p.ID, p.Code, p.Status, strings.Join(p.Mechanics, ","),
				p.StartsOn.Format(time.DateOnly), p.EndsOn.Format(time.DateOnly), p.Name)
		}
		return nil
	case "create":
		starts, err := date("from", *from)
		if err != nil {
			return err
		}
		ends, err := date("to", *to)
		if err != nil {
			return err
		}
		p, err := svc.Create(ctx, act, program.Program{ClientID: clientID, Code: *code, Name: *name, Mechanics: strings.Split(*mech, ","),
			StartsOn: starts, EndsOn: ends, TimeZone: *zone, Crediting: *crediting, MaxAgeDays: 30})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "program %s (%d): draft\n", p.Code, p.ID)
		return err
	case "status":
		id, err := programID()
		if err != nil {
			return err
		}
		st, err := program.ParseStatus(*to)
		if err != nil {
			return err
		}
		p, err := svc.Move(ctx, act, id, st, *reason)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "program %s: %s\n", p.Code, p.Status)
		return err
	case "rules":
		id, err := programID()
		if err != nil {
			return err
		}
		eff, err := date("from", *from)
		if err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: a rules JSON file is required\n%s", errUsage, programUsage)
		}
		body, err := readLimited(fs.Arg(0), 1<<20)
		if err != nil {
			return err
		}
		r, err := rules.Parse(body)
		if err != nil {
			if p := program.RulesProblems(r); len(p) > 0 {
				return fmt.Errorf("%s: %s", fs.Arg(0), strings.Join(p, " "))
			}
			return fmt.Errorf("%s: %w", fs.Arg(0), err)
		}
		v, err := svc.SaveRules(ctx, act, id, eff, r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "program %s: rules version %d from %s\n", *prog, v.Version, v.EffectiveFrom.Format(time.DateOnly))
		return err
	}
	return fmt.Errorf("%w: unknown program command %q\n%s", errUsage, args[0], programUsage)
}

// readLimited reads at most max bytes of a file; a bigger one is refused.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return b, nil
}
