-- +goose Up
-- Spending points (issue 17): the global reward catalog synchronised from
-- the providers' product lists, the offers a client makes of it per
-- program, the redemption orders, and the hold account in the ledger.

-- A participant's points on their way to a prize sit in participant_hold:
-- available → hold when the order is recorded, hold → redemption when the
-- provider delivered, hold → available when it definitely failed. Like the
-- other participant accounts it never goes negative.
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_kind_check CHECK (kind IN (
    'funding', 'program_budget', 'participant_pending', 'participant_available',
    'participant_hold', 'redemption', 'tax'));
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_hold_shape
    CHECK (kind <> 'participant_hold' OR (participant_id IS NOT NULL AND program_id IS NOT NULL AND balance_kopecks >= 0));

-- The global catalog: one row per provider product, written by the catalog
-- sync (never typed by hand). The operator may withdraw a reward (enabled).
CREATE TABLE rewards (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider        TEXT NOT NULL CHECK (provider ~ '^[a-z][a-z0-9_-]{1,31}$'),
    external_id     TEXT NOT NULL CHECK (external_id <> '' AND length(external_id) <= 200),
    kind            TEXT NOT NULL CHECK (kind IN ('gift_certificate', 'mobile_topup', 'wallet_topup', 'prepaid_card', 'physical')),
    title           TEXT NOT NULL CHECK (title <> '' AND length(title) <= 300),
    brand           TEXT NOT NULL DEFAULT '',
    description     TEXT NOT NULL DEFAULT '',
    image_url       TEXT NOT NULL DEFAULT '',
    fixed_faces     BIGINT[] NOT NULL DEFAULT '{}',
    face_min        BIGINT NOT NULL DEFAULT 0 CHECK (face_min >= 0),
    face_max        BIGINT NOT NULL DEFAULT 0 CHECK (face_max >= face_min),
    available       BOOLEAN NOT NULL DEFAULT true,  -- as the provider last said
    enabled         BOOLEAN NOT NULL DEFAULT true,  -- the operator's switch
    synced_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (provider, external_id),
    -- Either fixed faces or a free range, never neither.
    CHECK (cardinality(fixed_faces) > 0 OR face_max > 0),
    CHECK (0 < ALL (fixed_faces))
);

-- A client's offer of a reward in one program: to which roles, at what
-- price (1 point = 1 ₽; markup_bp > 0 is a markup, < 0 a subsidy, in
-- basis points of the face value), while available and in stock.
CREATE TABLE reward_offers (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id       BIGINT NOT NULL REFERENCES clients(id),
    program_id      BIGINT NOT NULL,
    reward_id       BIGINT NOT NULL REFERENCES rewards(id),
    roles           TEXT[] NOT NULL DEFAULT '{}', -- empty: every role
    markup_bp       INT NOT NULL DEFAULT 0 CHECK (markup_bp BETWEEN -9000 AND 10000),
    title           TEXT NOT NULL DEFAULT '',     -- overrides the reward's (Russian)
    description     TEXT NOT NULL DEFAULT '',
    available       BOOLEAN NOT NULL DEFAULT true,
    stock           INT CHECK (stock >= 0),        -- NULL: unlimited
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id),
    UNIQUE (program_id, reward_id),
    UNIQUE (client_id, id),
    CHECK (roles <@ ARRAY['seller', 'sales_rep', 'merchandiser', 'dealer', 'manager']::text[])
);

-- A program's redemption limits (absent row: the defaults in
-- internal/reward). Amounts are kopecks of points; 0 means no limit.
CREATE TABLE reward_limits (
    program_id            BIGINT PRIMARY KEY,
    client_id             BIGINT NOT NULL,
    per_order_kopecks     BIGINT NOT NULL DEFAULT 0 CHECK (per_order_kopecks >= 0),
    per_day_kopecks       BIGINT NOT NULL DEFAULT 0 CHECK (per_day_kopecks >= 0),
    per_month_kopecks     BIGINT NOT NULL DEFAULT 0 CHECK (per_month_kopecks >= 0),
    moderation_kopecks    BIGINT NOT NULL DEFAULT 0 CHECK (moderation_kopecks >= 0),
    -- Cooling-off: after one credit of at least cooling_off_kopecks, the
    -- participant cannot redeem for cooling_off_hours.
    cooling_off_kopecks   BIGINT NOT NULL DEFAULT 0 CHECK (cooling_off_kopecks >= 0),
    cooling_off_hours     INT NOT NULL DEFAULT 0 CHECK (cooling_off_hours BETWEEN 0 AND 8760),
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id)
);

-- One redemption order. Its id is the provider's idempotency key.
CREATE TABLE redemptions (
    id                UUID PRIMARY KEY,
    client_id         BIGINT NOT NULL,
    program_id        BIGINT NOT NULL,
    participant_id    BIGINT NOT NULL,
    offer_id          BIGINT NOT NULL,
    reward_id         BIGINT NOT NULL REFERENCES rewards(id),
    provider          TEXT NOT NULL,
    idempotency_key   TEXT NOT NULL CHECK (idempotency_key <> '' AND length(idempotency_key) <= 200),
    request_hash      TEXT NOT NULL,
    face_kopecks      BIGINT NOT NULL CHECK (face_kopecks > 0),
    price_kopecks     BIGINT NOT NULL CHECK (price_kopecks > 0),
    phone             TEXT NOT NULL DEFAULT '',
    account           TEXT NOT NULL DEFAULT '',
    email             TEXT NOT NULL DEFAULT '',
    -- moderation: waits for a moderator; queued: to be placed; placing: a
    -- request may have reached the provider (reconcile by Status before
    -- anything else); processing: accepted, not finished; delivered and
    -- failed are final; refunded is a delivered order whose points the
    -- operator gave back (the provider cancelled it).
    status            TEXT NOT NULL CHECK (status IN ('moderation', 'queued', 'placing', 'processing', 'delivered', 'failed', 'refunded')),
    attempts          INT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    provider_ref      TEXT NOT NULL DEFAULT '',
    code_sealed       TEXT NOT NULL DEFAULT '',
    pin_sealed        TEXT NOT NULL DEFAULT '',
    url_sealed        TEXT NOT NULL DEFAULT '',
    expires_at        TIMESTAMPTZ,
    cost_kopecks      BIGINT NOT NULL DEFAULT 0 CHECK (cost_kopecks >= 0),
    failure_code      TEXT NOT NULL DEFAULT '',
    failure_message   TEXT NOT NULL DEFAULT '',
    last_error        TEXT NOT NULL DEFAULT '',
    hold_tx_id        BIGINT NOT NULL REFERENCES ledger_transactions(id),
    settle_tx_id      BIGINT REFERENCES ledger_transactions(id),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id),
    FOREIGN KEY (client_id, participant_id) REFERENCES participants (client_id, id),
    FOREIGN KEY (client_id, offer_id) REFERENCES reward_offers (client_id, id),
    UNIQUE (participant_id, idempotency_key),
    -- A final order has settled its hold; an open one has not.
    refund_tx_id      BIGINT REFERENCES ledger_transactions(id),
    CHECK ((status IN ('delivered', 'failed', 'refunded')) = (settle_tx_id IS NOT NULL)),
    CHECK ((status = 'refunded') = (refund_tx_id IS NOT NULL)),
    CHECK (status <> 'failed' OR failure_code <> ''),
    CHECK (status <> 'delivered' OR failure_code = '')
);
CREATE INDEX redemptions_participant_idx ON redemptions (participant_id, created_at DESC);
CREATE INDEX redemptions_client_idx ON redemptions (client_id, created_at DESC);
CREATE INDEX redemptions_open_idx ON redemptions (updated_at) WHERE status IN ('queued', 'placing', 'processing');

-- The status history of an order, shown to its owner.
CREATE TABLE redemption_events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    redemption_id   UUID NOT NULL REFERENCES redemptions(id),
    status          TEXT NOT NULL,
    message         TEXT NOT NULL DEFAULT '',
    at              TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX redemption_events_redemption_idx ON redemption_events (redemption_id, id);

-- +goose Down
DROP TABLE redemption_events;
DROP TABLE redemptions;
DROP TABLE reward_limits;
DROP TABLE reward_offers;
DROP TABLE rewards;
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_hold_shape;
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_kind_check CHECK (kind IN (
    'funding', 'program_budget', 'participant_pending', 'participant_available', 'redemption', 'tax'));
