-- +goose Up
-- The zone the dashboard shows a client's times in (upload, moderation,
-- ledger, task and registry times; purchase times stay the shop's wall
-- clock as printed on the receipt). An IANA name that both PostgreSQL and
-- Go know: abbreviations and POSIX strings ('MSK', 'UTC+3') are refused,
-- as Go's time.LoadLocation does not read them.

-- +goose StatementBegin
CREATE FUNCTION is_iana_timezone(tz TEXT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT tz ~ '^(UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+)+)$'
       AND EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = tz)
$$;
-- +goose StatementEnd

ALTER TABLE clients ADD COLUMN timezone TEXT NOT NULL DEFAULT 'Europe/Moscow'
    CONSTRAINT clients_timezone_iana CHECK (is_iana_timezone(timezone));

-- +goose Down
ALTER TABLE clients DROP COLUMN timezone;
DROP FUNCTION is_iana_timezone(TEXT);
