-- +goose Up
-- Round 2: one append-only audit log for every staff (and operator CLI)
-- action that changes money, rules or people, and every read of a
-- participant's full legal data. Rows are never updated or deleted: the
-- trigger refuses it, so a mistake is corrected by a new entry.
CREATE TABLE audit_log (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    client_id    BIGINT REFERENCES clients(id),   -- NULL: a platform-level action
    actor_kind   TEXT NOT NULL CHECK (actor_kind IN ('staff', 'participant', 'system', 'cli')),
    actor_id     BIGINT,                          -- dashboard_users.id / participants.id
    actor_name   TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL CHECK (action ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
    object_kind  TEXT NOT NULL CHECK (object_kind ~ '^[a-z][a-z_]*$'),
    object_id    TEXT NOT NULL DEFAULT '',
    before       JSONB,
    after        JSONB,
    reason       TEXT NOT NULL DEFAULT '',
    source_ip    TEXT NOT NULL DEFAULT '',
    CHECK ((actor_kind IN ('staff', 'participant')) = (actor_id IS NOT NULL))
);
CREATE INDEX audit_log_client_idx ON audit_log (client_id, id DESC);
CREATE INDEX audit_log_object_idx ON audit_log (object_kind, object_id, id DESC);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TRIGGER audit_log_append_only ON audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE audit_log;
