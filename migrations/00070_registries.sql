-- +goose Up
-- Registries: participant and points spreadsheets uploaded by clients
-- (internal/registry). An upload is validated in the request, confirmed
-- (by a second staff member over the maker-checker threshold) and applied
-- by a worker.
CREATE TABLE registry_uploads (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id             BIGINT NOT NULL REFERENCES clients(id),
    kind                  TEXT NOT NULL CHECK (kind IN ('participants', 'points')),
    program_id            BIGINT,
    period                TEXT CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])(-[12])?$'),
    status                TEXT NOT NULL CHECK (status IN (
                              'uploaded', 'validated', 'rejected', 'confirmed',
                              'processing', 'applied', 'failed')),
    file_name             TEXT NOT NULL DEFAULT '',
    file_sha256           TEXT NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    file_size             BIGINT NOT NULL CHECK (file_size >= 0),
    format                TEXT NOT NULL DEFAULT '',
    encoding              TEXT NOT NULL DEFAULT '',
    options               JSONB NOT NULL DEFAULT '{}',
    uploaded_by           BIGINT NOT NULL REFERENCES dashboard_users(id),
    confirmed_by          BIGINT REFERENCES dashboard_users(id),
    needs_second_approval BOOLEAN NOT NULL DEFAULT false,
    rows_total            INT NOT NULL DEFAULT 0 CHECK (rows_total >= 0),
    error_count           INT NOT NULL DEFAULT 0 CHECK (error_count >= 0),
    errors                JSONB NOT NULL DEFAULT '[]',
    items_total           INT NOT NULL DEFAULT 0 CHECK (items_total >= 0),
    items_done            INT NOT NULL DEFAULT 0 CHECK (items_done >= 0),
    preview               JSONB NOT NULL DEFAULT '{}',
    result                JSONB,
    failure_code          TEXT,
    failure_message       TEXT,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    confirmed_at          TIMESTAMPTZ,
    started_at            TIMESTAMPTZ,
    finished_at           TIMESTAMPTZ,
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id),
    CONSTRAINT registry_uploads_points_scope CHECK ((kind = 'points') = (program_id IS NOT NULL AND period IS NOT NULL)),
    -- Maker-checker: a large registry is confirmed by someone else.
    CONSTRAINT registry_uploads_second_approver CHECK (
        NOT needs_second_approval OR confirmed_by IS NULL OR confirmed_by <> uploaded_by),
    CONSTRAINT registry_uploads_confirmed CHECK (
        status IN ('uploaded', 'validated', 'rejected') OR confirmed_by IS NOT NULL)
);
CREATE INDEX registry_uploads_client_idx ON registry_uploads (client_id, created_at DESC);
-- The sweeper re-enqueues uploads left confirmed or processing.
CREATE INDEX registry_uploads_unfinished_idx ON registry_uploads (updated_at)
    WHERE status IN ('confirmed', 'processing');

-- Valid rows of a participant upload, applied when it is confirmed.
CREATE TABLE registry_participant_rows (
    upload_id       BIGINT NOT NULL REFERENCES registry_uploads(id) ON DELETE CASCADE,
    line            INT NOT NULL CHECK (line >= 1),
    phone           TEXT NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    name            TEXT NOT NULL,
    email           TEXT NOT NULL DEFAULT '',
    role            TEXT NOT NULL,
    region          TEXT NOT NULL DEFAULT '',
    shop_id         BIGINT,
    shop_code       TEXT NOT NULL DEFAULT '',
    shop_inn        TEXT NOT NULL DEFAULT '',
    shop_address    TEXT NOT NULL DEFAULT '',
    shop_name       TEXT NOT NULL DEFAULT '',
    action          TEXT NOT NULL CHECK (action IN ('create', 'update', 'unchanged')),
    participant_id  BIGINT REFERENCES participants(id),
    PRIMARY KEY (upload_id, line)
);

-- Per-participant amounts of a points upload: what the file says the
-- participant gets for the period (amount) and what earlier registries had
-- paid when it was validated (previous); outcome is filled by processing.
CREATE TABLE registry_point_lines (
    upload_id         BIGINT NOT NULL REFERENCES registry_uploads(id) ON DELETE CASCADE,
    participant_id    BIGINT NOT NULL REFERENCES participants(id),
    amount_kopecks    BIGINT NOT NULL CHECK (amount_kopecks >= 0),
    previous_kopecks  BIGINT NOT NULL DEFAULT 0 CHECK (previous_kopecks >= 0),
    lines             INT NOT NULL CHECK (lines >= 0),
    first_line        INT NOT NULL DEFAULT 0,
    comment           TEXT NOT NULL DEFAULT '',
    outcome           TEXT CHECK (outcome IN ('posted', 'unchanged', 'debit_refused')),
    posted_kopecks    BIGINT,
    PRIMARY KEY (upload_id, participant_id)
);

-- What registries have paid each participant in a program's period, and
-- how many changes were posted (version): the ledger key of the n-th change
-- is registry:<program>:<period>:<participant>:v<n>.
CREATE TABLE registry_balances (
    program_id        BIGINT NOT NULL REFERENCES programs(id),
    period            TEXT NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])(-[12])?$'),
    participant_id    BIGINT NOT NULL REFERENCES participants(id),
    credited_kopecks  BIGINT NOT NULL CHECK (credited_kopecks >= 0),
    version           INT NOT NULL CHECK (version >= 1),
    upload_id         BIGINT NOT NULL REFERENCES registry_uploads(id),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (program_id, period, participant_id)
);

-- Invitations of new participants, one row per channel and round (a
-- re-send is a new round). status: pending → sent | failed.
CREATE TABLE registry_invitations (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    upload_id       BIGINT NOT NULL REFERENCES registry_uploads(id) ON DELETE CASCADE,
    participant_id  BIGINT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    method          TEXT NOT NULL CHECK (method IN ('code', 'password')),
    round           INT NOT NULL DEFAULT 1 CHECK (round >= 1),
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    provider_id     TEXT NOT NULL DEFAULT '',
    error_code      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at         TIMESTAMPTZ,
    -- The participant's first sign-in (invited → active), set by the
    -- trigger below so engagement is measured whatever signs them in.
    signed_in_at    TIMESTAMPTZ,
    CONSTRAINT registry_invitations_round_key UNIQUE (participant_id, channel, round)
);
CREATE INDEX registry_invitations_upload_idx ON registry_invitations (upload_id, status);
CREATE INDEX registry_invitations_participant_idx ON registry_invitations (participant_id);

-- +goose StatementBegin
CREATE FUNCTION registry_invitations_signed_in() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE registry_invitations SET signed_in_at = now()
     WHERE participant_id = NEW.id AND signed_in_at IS NULL;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER participants_signed_in_registry
    AFTER UPDATE OF status ON participants
    FOR EACH ROW WHEN (OLD.status = 'invited' AND NEW.status = 'active')
    EXECUTE FUNCTION registry_invitations_signed_in();

-- +goose Down
DROP TRIGGER participants_signed_in_registry ON participants;
DROP FUNCTION registry_invitations_signed_in();
DROP TABLE registry_invitations;
DROP TABLE registry_balances;
DROP TABLE registry_point_lines;
DROP TABLE registry_participant_rows;
DROP TABLE registry_uploads;
