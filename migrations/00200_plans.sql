-- +goose Up
-- Issue 20: sales plans and threshold bonuses settled at period close.
--
-- A period is a calendar month ('2026-11') or quarter ('2026-Q4') of a
-- program. Tier tables and participants' plans (targets) are versioned:
-- a change is a new row with the next version, never an update, so a close
-- line and a credit name the versions they were computed with.
CREATE TABLE plan_tier_tables (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id   BIGINT NOT NULL,
    program_id  BIGINT NOT NULL,
    period      TEXT NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2]|Q[1-4])$'),
    version     INT NOT NULL CHECK (version >= 1),
    measure     TEXT NOT NULL CHECK (measure IN ('roubles', 'units', 'receipts')),
    body        JSONB NOT NULL CHECK (jsonb_typeof(body) = 'object'),
    created_by  BIGINT REFERENCES dashboard_users(id),
    reason      TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 2000),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id),
    CONSTRAINT plan_tier_tables_version UNIQUE (program_id, period, version)
);

CREATE TABLE plan_targets (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id       BIGINT NOT NULL,
    program_id      BIGINT NOT NULL,
    period          TEXT NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2]|Q[1-4])$'),
    participant_id  BIGINT NOT NULL,
    version         INT NOT NULL CHECK (version >= 1),
    target          BIGINT NOT NULL CHECK (target >= 0),
    created_by      BIGINT REFERENCES dashboard_users(id),
    reason          TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 2000),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id),
    FOREIGN KEY (client_id, participant_id) REFERENCES participants (client_id, id),
    CONSTRAINT plan_targets_version UNIQUE (program_id, period, participant_id, version)
);
CREATE INDEX plan_targets_participant_idx ON plan_targets (participant_id, period);

-- The close state of a program's period: last_posted_run is the run whose
-- credits are the latest; a run may post only if it was computed on that
-- state (based_on), which serialises closes (the row is locked FOR UPDATE).
CREATE TABLE plan_periods (
    client_id        BIGINT NOT NULL,
    program_id       BIGINT NOT NULL,
    period           TEXT NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2]|Q[1-4])$'),
    last_posted_run  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (program_id, period),
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id)
);

CREATE TABLE plan_close_runs (
    id                     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id              BIGINT NOT NULL,
    program_id             BIGINT NOT NULL,
    period                 TEXT NOT NULL,
    status                 TEXT NOT NULL DEFAULT 'preview' CHECK (status IN ('preview', 'posted', 'stale')),
    table_version          INT NOT NULL CHECK (table_version >= 1),
    based_on               BIGINT NOT NULL DEFAULT 0,
    participants           INT NOT NULL DEFAULT 0,
    payout_kopecks         BIGINT NOT NULL DEFAULT 0,
    credit_kopecks         BIGINT NOT NULL DEFAULT 0 CHECK (credit_kopecks >= 0),
    debit_kopecks          BIGINT NOT NULL DEFAULT 0 CHECK (debit_kopecks >= 0),
    budget_kopecks         BIGINT NOT NULL DEFAULT 0,
    needs_second_approval  BOOLEAN NOT NULL DEFAULT false,
    made_by                BIGINT REFERENCES dashboard_users(id),   -- NULL: the scheduler
    approved_by            BIGINT REFERENCES dashboard_users(id),
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    posted_at              TIMESTAMPTZ,
    FOREIGN KEY (program_id, period) REFERENCES plan_periods (program_id, period),
    CHECK ((status = 'posted') = (posted_at IS NOT NULL)),
    -- maker-checker: a close needing a second person is approved by another
    CHECK (NOT needs_second_approval OR status <> 'posted' OR approved_by IS DISTINCT FROM made_by)
);
-- Two runs computed on the same state cannot both post.
CREATE UNIQUE INDEX plan_close_runs_one_posted ON plan_close_runs (program_id, period, based_on) WHERE status = 'posted';

CREATE TABLE plan_close_lines (
    run_id          BIGINT NOT NULL REFERENCES plan_close_runs(id) ON DELETE CASCADE,
    participant_id  BIGINT NOT NULL,
    plan_version    INT NOT NULL,
    target          BIGINT NOT NULL,
    actual_value    BIGINT NOT NULL,
    sales_kopecks   BIGINT NOT NULL,
    points_kopecks  BIGINT NOT NULL,
    receipts        INT NOT NULL,
    attainment_bp   BIGINT NOT NULL,
    tier            INT NOT NULL,
    payout_kopecks  BIGINT NOT NULL,
    capped          BOOLEAN NOT NULL,
    paid_kopecks    BIGINT NOT NULL,
    delta_kopecks   BIGINT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, participant_id)
);

-- What a close posted: one row per participant per run with a change. The
-- first credit under a plan version is the 'settlement' (one per
-- participant per plan version per period, whatever runs or races
-- happen); later changes under the same version are 'adjustment's.
CREATE TABLE plan_credits (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id       BIGINT NOT NULL,
    program_id      BIGINT NOT NULL,
    period          TEXT NOT NULL,
    participant_id  BIGINT NOT NULL,
    plan_version    INT NOT NULL,
    table_version   INT NOT NULL,
    run_id          BIGINT NOT NULL REFERENCES plan_close_runs(id),
    kind            TEXT NOT NULL CHECK (kind IN ('settlement', 'adjustment')),
    amount_kopecks  BIGINT NOT NULL CHECK (amount_kopecks <> 0),
    actual_value    BIGINT NOT NULL,
    reason          TEXT NOT NULL CHECK (reason <> ''),
    ledger_key      TEXT NOT NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (client_id, participant_id) REFERENCES participants (client_id, id),
    UNIQUE (run_id, participant_id)
);
CREATE UNIQUE INDEX plan_credits_one_settlement ON plan_credits (program_id, period, participant_id, plan_version)
    WHERE kind = 'settlement';
CREATE INDEX plan_credits_participant_idx ON plan_credits (program_id, period, participant_id);

-- Actuals read a program's credited receipts of a period by purchase date.
CREATE INDEX receipts_plan_actuals_idx ON receipts (program_id, purchased_at) WHERE status = 'credited';

-- +goose Down
DROP INDEX receipts_plan_actuals_idx;
DROP TABLE plan_credits;
DROP TABLE plan_close_lines;
DROP TABLE plan_close_runs;
DROP TABLE plan_periods;
DROP TABLE plan_targets;
DROP TABLE plan_tier_tables;
