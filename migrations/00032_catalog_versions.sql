-- +goose Up
-- A client's catalog version, bumped in the same transaction as every
-- catalog change (import, confirmed alias). Processes that cache a matcher
-- per client compare it to decide whether to rebuild, so a change made by
-- any process is seen by all of them.
CREATE TABLE catalog_versions (
    client_id   BIGINT PRIMARY KEY REFERENCES clients(id),
    version     BIGINT NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE catalog_versions;
