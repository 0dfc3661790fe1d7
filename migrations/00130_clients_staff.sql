-- +goose Up
-- Operations (issue 16): a platform operator creates clients with their
-- contacts, invites their staff by e-mail, and deactivates staff.

-- A client's contacts (the person who signed the contract) and when its
-- card last changed. The legal name is clients.name; the ИНН's check
-- digits are verified by internal/inn before a row is written (the demo
-- data predates that, so the column keeps its format-only check).
ALTER TABLE clients
    ADD COLUMN contact_name  TEXT NOT NULL DEFAULT '' CHECK (length(contact_name) <= 300),
    ADD COLUMN contact_email TEXT NOT NULL DEFAULT '' CHECK (contact_email = '' OR contact_email LIKE '%_@_%'),
    ADD COLUMN contact_phone TEXT NOT NULL DEFAULT '' CHECK (contact_phone = '' OR contact_phone ~ '^\+[1-9][0-9]{7,14}$'),
    ADD COLUMN updated_at    TIMESTAMPTZ NOT NULL DEFAULT now();
ALTER TABLE clients ADD CONSTRAINT clients_name_length CHECK (length(name) <= 500);

-- A deactivated staff member can no longer sign in; their sessions are
-- deleted in the same transaction. The row stays: the audit log names it.
ALTER TABLE dashboard_users
    ADD COLUMN deactivated_at TIMESTAMPTZ,
    ADD COLUMN invited_by     BIGINT REFERENCES dashboard_users(id);

-- An invitation of a client's staff member. The token is sent by e-mail
-- once and stored as its SHA-256 only; it works until expires_at, once.
-- Accepting it creates the dashboard user (user_id) with the password the
-- invitee chose. A newer invitation of the same e-mail revokes the
-- pending one, so at most one is live per address.
CREATE TABLE staff_invitations (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id      BIGINT NOT NULL REFERENCES clients(id),
    email          TEXT NOT NULL CHECK (email LIKE '%_@_%' AND length(email) <= 254),
    name           TEXT NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    role           TEXT NOT NULL CHECK (role IN ('client_manager', 'moderator', 'analyst')),
    token_hash     BYTEA NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    invited_by     BIGINT REFERENCES dashboard_users(id), -- NULL: the operator CLI
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at     TIMESTAMPTZ NOT NULL,
    email_sent_at  TIMESTAMPTZ,
    email_error    TEXT NOT NULL DEFAULT '',
    accepted_at    TIMESTAMPTZ,
    user_id        BIGINT REFERENCES dashboard_users(id),
    revoked_at     TIMESTAMPTZ,
    CHECK (expires_at > created_at),
    CHECK ((accepted_at IS NULL) = (user_id IS NULL)),
    CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);
CREATE UNIQUE INDEX staff_invitations_pending_email ON staff_invitations (lower(email))
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX staff_invitations_client_idx ON staff_invitations (client_id, id DESC);

-- The audit page filters by actor and date within a client.
CREATE INDEX audit_log_client_actor_idx ON audit_log (client_id, actor_id, id DESC);

-- +goose Down
DROP INDEX audit_log_client_actor_idx;
DROP TABLE staff_invitations;
ALTER TABLE dashboard_users DROP COLUMN invited_by, DROP COLUMN deactivated_at;
ALTER TABLE clients DROP CONSTRAINT clients_name_length;
ALTER TABLE clients DROP COLUMN contact_name, DROP COLUMN contact_email, DROP COLUMN contact_phone, DROP COLUMN updated_at;
