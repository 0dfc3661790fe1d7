-- Participant sign-in: one-time SMS codes and refresh tokens. Both are
-- stored only as hashes; a leaked table signs nobody in.

-- +goose Up
-- A one-time code sent by SMS. It is short-lived, single-use (consumed_at)
-- and dies after too many wrong guesses (attempts), on top of the Redis
-- limits per phone and per IP.
CREATE TABLE auth_otps (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone        TEXT NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    code_hash    BYTEA NOT NULL CHECK (length(code_hash) = 32),
    expires_at   TIMESTAMPTZ NOT NULL,
    attempts     INT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    consumed_at  TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX auth_otps_phone_idx ON auth_otps (phone, id DESC);

-- Refresh tokens rotate on every use. All tokens of one sign-in share a
-- family; presenting a token that was already rotated (a stolen copy, or
-- the thief's after the owner's) revokes the whole family.
CREATE TABLE auth_refresh_tokens (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id       UUID NOT NULL,
    participant_id  BIGINT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    token_hash      BYTEA NOT NULL CHECK (length(token_hash) = 32),
    expires_at      TIMESTAMPTZ NOT NULL,
    rotated_at      TIMESTAMPTZ,
    revoked_at      TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT auth_refresh_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX auth_refresh_tokens_family_idx ON auth_refresh_tokens (family_id);
CREATE INDEX auth_refresh_tokens_participant_idx ON auth_refresh_tokens (participant_id);

-- +goose Down
DROP TABLE auth_refresh_tokens;
DROP TABLE auth_otps;
