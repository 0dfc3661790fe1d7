-- +goose Up
-- A program's earning rules as data (internal/rules.Rules as JSON), versioned
-- and effective-dated: a receipt is evaluated with the version in force on
-- its purchase date (the greatest effective_from not after it; the higher
-- version wins a tie). Versions are never edited: a change is a new version,
-- so a credited receipt can always be explained by the version it names.
CREATE TABLE program_rules (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    program_id      BIGINT NOT NULL REFERENCES programs(id),
    version         INT NOT NULL CHECK (version >= 1),
    effective_from  DATE NOT NULL,
    body            JSONB NOT NULL CHECK (jsonb_typeof(body) = 'object'),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT program_rules_version_key UNIQUE (program_id, version)
);
CREATE INDEX program_rules_effective_idx ON program_rules (program_id, effective_from DESC, version DESC);

-- +goose Down
DROP TABLE program_rules;
