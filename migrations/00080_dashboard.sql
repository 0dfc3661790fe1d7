-- +goose Up
-- The client dashboard: server-side sessions of dashboard users, and the
-- rollups the receipt pipeline maintains (receiptdb event hook, reportdb)
-- so that every dashboard page reads a few thousand pre-aggregated rows
-- instead of scanning millions of receipts and items.

-- A session is found by the SHA-256 of its cookie value; a leaked table
-- signs nobody in. csrf_token is the synchronizer token every form posts.
CREATE TABLE dashboard_sessions (
    token_hash  BYTEA PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id     BIGINT NOT NULL REFERENCES dashboard_users(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL CHECK (length(csrf_token) >= 32),
    expires_at  TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX dashboard_sessions_user_idx ON dashboard_sessions (user_id);
CREATE INDEX dashboard_sessions_expires_idx ON dashboard_sessions (expires_at);

-- What one receipt currently contributes to the rollups. The hook subtracts
-- the stored contribution and adds the new one on every status change, so
-- the rollups stay exact whatever path a receipt takes (credited and later
-- rejected, needs_review and later approved). Sales arrays are filled only
-- for statuses that count as verified sales.
CREATE TABLE rpt_receipt_state (
    receipt_id      UUID PRIMARY KEY REFERENCES receipts(id) ON DELETE CASCADE,
    client_id       BIGINT NOT NULL,
    program_id      BIGINT NOT NULL,
    day             DATE NOT NULL,
    status          TEXT NOT NULL,
    shop_id         BIGINT NOT NULL,  -- 0: unknown shop
    participant_id  BIGINT NOT NULL,
    sum_kopecks     BIGINT NOT NULL,
    points_kopecks  BIGINT NOT NULL,
    sku_ids         BIGINT[] NOT NULL DEFAULT '{}',
    sku_units_milli BIGINT[] NOT NULL DEFAULT '{}',
    sku_sums        BIGINT[] NOT NULL DEFAULT '{}',
    sku_points      BIGINT[] NOT NULL DEFAULT '{}',
    unmatched       TEXT[] NOT NULL DEFAULT '{}'
);

-- Receipts by day (purchase date, else upload date) and current status.
-- units/sku_sum are the program-SKU lines of verified sales.
CREATE TABLE rpt_day (
    program_id      BIGINT NOT NULL,
    day             DATE NOT NULL,
    status          TEXT NOT NULL,
    client_id       BIGINT NOT NULL,
    receipts        BIGINT NOT NULL DEFAULT 0,
    sum_kopecks     BIGINT NOT NULL DEFAULT 0,
    points_kopecks  BIGINT NOT NULL DEFAULT 0,
    units_milli     BIGINT NOT NULL DEFAULT 0,
    sku_sum_kopecks BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (program_id, day, status)
);

-- Verified sales of program SKUs per day and SKU.
CREATE TABLE rpt_day_sku (
    program_id      BIGINT NOT NULL,
    day             DATE NOT NULL,
    sku_id          BIGINT NOT NULL,
    client_id       BIGINT NOT NULL,
    lines           BIGINT NOT NULL DEFAULT 0,
    units_milli     BIGINT NOT NULL DEFAULT 0,
    sum_kopecks     BIGINT NOT NULL DEFAULT 0,
    points_kopecks  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (program_id, day, sku_id)
);

-- Verified sales of program SKUs per day and shop (chains and regions are
-- shop attributes, aggregated at read time from this table).
CREATE TABLE rpt_day_shop (
    program_id      BIGINT NOT NULL,
    day             DATE NOT NULL,
    shop_id         BIGINT NOT NULL,
    client_id       BIGINT NOT NULL,
    receipts        BIGINT NOT NULL DEFAULT 0,
    units_milli     BIGINT NOT NULL DEFAULT 0,
    sum_kopecks     BIGINT NOT NULL DEFAULT 0,
    points_kopecks  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (program_id, day, shop_id)
);

-- Per participant and calendar month: uploads (any status) and verified
-- sales. Participation, repeat uploads and churn are computed from it.
CREATE TABLE rpt_month_participant (
    program_id      BIGINT NOT NULL,
    month           DATE NOT NULL,   -- first day of the month
    participant_id  BIGINT NOT NULL,
    client_id       BIGINT NOT NULL,
    uploads         BIGINT NOT NULL DEFAULT 0,
    receipts        BIGINT NOT NULL DEFAULT 0,  -- verified sales receipts
    units_milli     BIGINT NOT NULL DEFAULT 0,
    sum_kopecks     BIGINT NOT NULL DEFAULT 0,
    points_kopecks  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (program_id, month, participant_id)
);
CREATE INDEX rpt_month_participant_participant_idx ON rpt_month_participant (participant_id, month);

-- Receipt line names no SKU matched, per program, for the "confirm alias"
-- list.
CREATE TABLE rpt_unmatched (
    program_id  BIGINT NOT NULL,
    name        TEXT NOT NULL,
    client_id   BIGINT NOT NULL,
    lines       BIGINT NOT NULL DEFAULT 0,
    last_day    DATE NOT NULL,
    PRIMARY KEY (program_id, name)
);
CREATE INDEX rpt_unmatched_lines_idx ON rpt_unmatched (program_id, lines DESC);

-- Receipt search on the dashboard: newest first within a program, by shop
-- or participant, and the moderation queue.
CREATE INDEX receipts_program_purchased_idx ON receipts (program_id, purchased_at DESC, id);
CREATE INDEX receipts_program_shop_purchased_idx ON receipts (program_id, shop_id, purchased_at DESC);
CREATE INDEX receipts_program_participant_purchased_idx ON receipts (program_id, participant_id, purchased_at DESC);
CREATE INDEX receipts_program_review_idx ON receipts (program_id, created_at) WHERE status = 'needs_review';

-- +goose Down
DROP INDEX receipts_program_review_idx;
DROP INDEX receipts_program_participant_purchased_idx;
DROP INDEX receipts_program_shop_purchased_idx;
DROP INDEX receipts_program_purchased_idx;
DROP TABLE rpt_unmatched;
DROP TABLE rpt_month_participant;
DROP TABLE rpt_day_shop;
DROP TABLE rpt_day_sku;
DROP TABLE rpt_day;
DROP TABLE rpt_receipt_state;
DROP TABLE dashboard_sessions;
