package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"

	"github.com/loyaltyjam/loyaltyjam/internal/audit"
	"github.com/loyaltyjam/loyaltyjam/internal/password"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/auditdb"
	"github.com/loyaltyjam/loyaltyjam/internal/postgres/tenantdb"
)

func init() {
	register(command{name: "operator", summary: "platform operators: create the first (or another) operator account", run: runOperator})
}

const operatorUsage = `loyaltyjam operator create --email E [--name N] [--password-stdin]
  Without --password-stdin a random password is generated and printed once.`

func runOperator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return operatorCmd(ctx, args, "", os.Stdin, stdout, stderr)
}

// operatorCmd runs "operator create"; dbURL overrides DATABASE_URL (tests).
// A platform operator is the one account no invitation creates (an
// invitation belongs to a client), so a fresh installation gets its first
// operator here, audit-logged as the OS user at the command line.
func operatorCmd(ctx context.Context, args []string, dbURL string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("%w: %s", errUsage, operatorUsage)
	}
	fs := flag.NewFlagSet("operator create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the operator's e-mail (their sign-in)")
	name := fs.String("name", "", "the operator's name")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 {
		return fmt.Errorf("%w: %s", errUsage, operatorUsage)
	}
	addr, err := mail.ParseAddress(*email)
	if err != nil || addr.Address != *email || len(*email) > 254 {
		return fmt.Errorf("%w: --email %q is not an e-mail address", errUsage, *email)
	}
	if len(*name) > 200 {
		return fmt.Errorf("%w: --name is longer than 200 characters", errUsage)
	}
	pw, generated := "", false
	if *fromStdin {
		line, err := bufio.NewReader(io.LimitReader(stdin, 1024)).ReadString('\n')
		if err != nil && err != io.EOF {
			return err
		}
		pw = strings.TrimRight(line, "\r\n")
		if n := len([]rune(pw)); n < 12 || n > 128 {
			return fmt.Errorf("%w: the password must be 12 to 128 characters", errUsage)
		}
	} else {
		pw, generated = rand.Text(), true // 26 base32 characters, 130 bits
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return err
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
	m, err := tenantdb.New(db, auditdb.New(db)).CreateOperator(ctx, audit.Actor{Kind: audit.CLI, Name: osUser()}, *email, *name, hash)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "operator %s created (account %d)\n", m.Email, m.ID)
	if generated {
		fmt.Fprintf(stdout, "password (shown once, keep it safe): %s\n", pw)
	}
	return nil
}
