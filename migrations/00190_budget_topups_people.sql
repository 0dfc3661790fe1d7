-- +goose Up
-- Issue 16, "Budget" and "People": staff top up a program's budget with a
-- document, get alerts at thresholds, choose what happens at zero; block a
-- participant with a reason, move them, flag testers, credit or debit one
-- participant by hand under maker-checker.

-- What a program does when its budget cannot pay a receipt: 'pause' (no
-- points, the seller is told crediting is paused) or 'review' (the receipt
-- waits for a moderator, who credits it once the budget is topped up).
-- Alerts: at each percentage of the funded budget spent, and when the
-- last 14 days' spending says the balance runs out within N days.
ALTER TABLE programs
    ADD COLUMN IF NOT EXISTS budget_at_zero TEXT NOT NULL DEFAULT 'pause'
        CHECK (budget_at_zero IN ('pause', 'review')),
    ADD COLUMN IF NOT EXISTS budget_alert_percents INT[] NOT NULL DEFAULT '{80,100}'
        CHECK (cardinality(budget_alert_percents) <= 10
               AND 0 < ALL (budget_alert_percents) AND 100 >= ALL (budget_alert_percents)),
    ADD COLUMN IF NOT EXISTS budget_alert_runway_days INT NOT NULL DEFAULT 14
        CHECK (budget_alert_runway_days BETWEEN 0 AND 365);

-- A top-up: a funding transaction of the ledger with the staff member, the
-- document (contract, invoice, payment order) and the request's
-- Idempotency-Key, unique per client, so a retried request funds once.
CREATE TABLE budget_top_ups (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id        BIGINT NOT NULL,
    program_id       BIGINT NOT NULL,
    amount_kopecks   BIGINT NOT NULL CHECK (amount_kopecks > 0),
    document         TEXT NOT NULL CHECK (length(document) BETWEEN 1 AND 500),
    comment          TEXT NOT NULL DEFAULT '' CHECK (length(comment) <= 2000),
    idempotency_key  TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    request_hash     TEXT NOT NULL,
    ledger_tx_id     BIGINT NOT NULL REFERENCES ledger_transactions(id),
    created_by       BIGINT REFERENCES dashboard_users(id),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id),
    CONSTRAINT budget_top_ups_idempotency_key UNIQUE (client_id, idempotency_key)
);
CREATE INDEX budget_top_ups_program_idx ON budget_top_ups (program_id, id DESC);

-- An alert is raised once per crossing: one open row per program, kind and
-- threshold (the partial unique index), cleared when the condition no
-- longer holds (a top-up), so the next crossing raises a new one.
CREATE TABLE budget_alerts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id    BIGINT NOT NULL,
    program_id   BIGINT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('spent_percent', 'runway_days', 'exhausted')),
    threshold    INT NOT NULL,
    message      TEXT NOT NULL,
    raised_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    emailed_at   TIMESTAMPTZ,
    email_error  TEXT NOT NULL DEFAULT '',
    cleared_at   TIMESTAMPTZ,
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id)
);
CREATE UNIQUE INDEX budget_alerts_open_key ON budget_alerts (program_id, kind, threshold) WHERE cleared_at IS NULL;
CREATE INDEX budget_alerts_client_idx ON budget_alerts (client_id, id DESC);

-- People.
ALTER TABLE participants
    ADD COLUMN IF NOT EXISTS is_tester BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS blocked_reason TEXT NOT NULL DEFAULT ''
        CHECK (length(blocked_reason) <= 500),
    ADD COLUMN IF NOT EXISTS blocked_at TIMESTAMPTZ;

-- A manual credit (amount > 0) or debit (< 0) of one participant in one
-- program. Under the threshold it is applied at once by its maker; at or
-- above it waits for a second staff member (never the maker: the CHECK).
CREATE TABLE manual_adjustments (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id        BIGINT NOT NULL,
    program_id       BIGINT NOT NULL,
    participant_id   BIGINT NOT NULL,
    amount_kopecks   BIGINT NOT NULL CHECK (amount_kopecks <> 0),
    reason           TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    document         TEXT NOT NULL CHECK (length(document) BETWEEN 1 AND 500),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'rejected')),
    idempotency_key  TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    request_hash     TEXT NOT NULL,
    maker_id         BIGINT REFERENCES dashboard_users(id),
    checker_id       BIGINT REFERENCES dashboard_users(id),
    decision_note    TEXT NOT NULL DEFAULT '',
    ledger_tx_id     BIGINT REFERENCES ledger_transactions(id),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at       TIMESTAMPTZ,
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id),
    FOREIGN KEY (client_id, participant_id) REFERENCES participants (client_id, id),
    CONSTRAINT manual_adjustments_idempotency_key UNIQUE (client_id, idempotency_key),
    CONSTRAINT manual_adjustments_four_eyes CHECK (checker_id IS NULL OR checker_id IS DISTINCT FROM maker_id),
    CHECK ((status = 'applied') = (ledger_tx_id IS NOT NULL))
);
CREATE INDEX manual_adjustments_participant_idx ON manual_adjustments (participant_id, id DESC);
CREATE INDEX manual_adjustments_pending_idx ON manual_adjustments (client_id, id) WHERE status = 'pending';

-- +goose Down
DROP TABLE manual_adjustments;
ALTER TABLE participants DROP COLUMN blocked_at, DROP COLUMN blocked_reason;
DROP TABLE budget_alerts;
DROP TABLE budget_top_ups;
ALTER TABLE programs DROP COLUMN budget_alert_runway_days, DROP COLUMN budget_alert_percents,
    DROP COLUMN budget_at_zero;
