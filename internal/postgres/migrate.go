package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/loyaltyjam/loyaltyjam/migrations"
)

// Migrator applies the embedded migrations with goose's Provider API.
type Migrator struct {
	db *sql.DB
	p  *goose.Provider
}

// NewMigrator opens a connection to url for migrating.
func NewMigrator(url string) (*Migrator, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Migrator{db: db, p: p}, nil
}

// Close releases the connection.
func (m *Migrator) Close() error { return m.db.Close() }

// Up applies every pending migration and returns how many it applied.
func (m *Migrator) Up(ctx context.Context, log *slog.Logger) (int, error) {
	res, err := m.p.Up(ctx)
	for _, r := range res {
		log.InfoContext(ctx, "migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration.String())
	}
	return len(res), err
}

// MigrateUp creates the database of dbURL when the server lacks it (see
// EnsureDatabase) and applies every pending migration: what `migrate up`,
// `seed` and `dev` do first, so a fresh PostgreSQL needs no manual step. It
// returns how many migrations it applied.
func MigrateUp(ctx context.Context, dbURL string, log *slog.Logger) (int, error) {
	created, err := EnsureDatabase(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	if created {
		log.InfoContext(ctx, "database created", "database", databaseName(dbURL))
	}
	m, err := NewMigrator(dbURL)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	n, err := m.Up(ctx, log)
	if err != nil {
		return n, fmt.Errorf("migrate: %w", err)
	}
	return n, nil
}

// EnsureDatabase creates the database that dbURL names if the server lacks
// it, connecting to the maintenance database "postgres" of the same server
// with the same credentials. It reports whether it created it. A URL naming
// "postgres" (or no database) needs nothing. Two processes racing to create
// it both succeed.
func EnsureDatabase(ctx context.Context, dbURL string) (bool, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return false, fmt.Errorf("DATABASE_URL: %w", err)
	}
	name := databaseName(dbURL)
	if name == "" || name == "postgres" {
		return false, nil
	}
	admin := *u
	admin.Path, admin.RawPath = "/postgres", ""
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return false, fmt.Errorf("connect to PostgreSQL to create database %q: %w", name, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return false, err
	}
	if exists {
		return false, nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		if isDuplicateDatabase(err) {
			return false, nil // created meanwhile by another process
		}
		return false, fmt.Errorf("create database %q: %w", name, err)
	}
	return true, nil
}

// isDuplicateDatabase: 42P04 duplicate_database, or 23505 when a concurrent
// CREATE DATABASE of the same name won the race on pg_database's index.
func isDuplicateDatabase(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "42P04" || pg.Code == "23505")
}

// databaseName is the database dbURL names, unescaped ("" if none or unparsable).
func databaseName(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

// Down rolls back the most recent migration.
func (m *Migrator) Down(ctx context.Context, log *slog.Logger) error {
	r, err := m.p.Down(ctx)
	if r != nil {
		log.InfoContext(ctx, "migration rolled back", "version", r.Source.Version, "file", r.Source.Path)
	}
	return err
}

// Status writes one line per migration: version, applied or pending, file.
func (m *Migrator) Status(ctx context.Context, w io.Writer) error {
	st, err := m.p.Status(ctx)
	if err != nil {
		return err
	}
	for _, s := range st {
		when := "pending"
		if s.State == goose.StateApplied {
			when = "applied " + s.AppliedAt.Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(w, "%05d  %-28s  %s\n", s.Source.Version, when, s.Source.Path)
	}
	return nil
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" database/sql driver
