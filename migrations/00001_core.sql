-- +goose Up
-- The core schema: tenants, programs, shops, people, the SKU catalog,
-- receipts with their items and event log, the points ledger and push devices.
-- Money and points are BIGINT kopecks (1 point = 1 rouble = 100 kopecks).

CREATE TABLE clients (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9_-]{1,62}$'),
    name        TEXT NOT NULL CHECK (name <> ''),
    inn         TEXT CHECK (inn ~ '^([0-9]{10}|[0-9]{12})$'),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE programs (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id            BIGINT NOT NULL REFERENCES clients(id),
    code                 TEXT NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9_-]{1,62}$'),
    name                 TEXT NOT NULL CHECK (name <> ''),
    status               TEXT NOT NULL DEFAULT 'draft'
                         CHECK (status IN ('draft', 'test', 'live', 'closed')),
    starts_on            DATE NOT NULL,
    ends_on              DATE NOT NULL,
    budget_kopecks       BIGINT NOT NULL DEFAULT 0 CHECK (budget_kopecks >= 0),
    -- immediate: points are available at once; period_close: points stay
    -- pending until the reporting period closes.
    crediting            TEXT NOT NULL DEFAULT 'immediate'
                         CHECK (crediting IN ('immediate', 'period_close')),
    max_receipt_age_days INT NOT NULL DEFAULT 30 CHECK (max_receipt_age_days > 0),
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (client_id, code),
    UNIQUE (client_id, id),
    CHECK (ends_on >= starts_on)
);

-- Shops are the trade points where participants sell; the fiscal data of a
-- receipt (seller INN, KKT registration number, address) ties it to a shop.
CREATE TABLE shops (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id        BIGINT NOT NULL REFERENCES clients(id),
    code             TEXT NOT NULL CHECK (code <> ''),
    name             TEXT NOT NULL CHECK (name <> ''),
    chain            TEXT NOT NULL DEFAULT '',
    inn              TEXT CHECK (inn ~ '^([0-9]{10}|[0-9]{12})$'),
    address          TEXT NOT NULL DEFAULT '',
    region           TEXT NOT NULL DEFAULT '',
    kkt_reg_numbers  TEXT[] NOT NULL DEFAULT '{}',
    lat              DOUBLE PRECISION CHECK (lat BETWEEN -90 AND 90),
    lon              DOUBLE PRECISION CHECK (lon BETWEEN -180 AND 180),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (client_id, code),
    UNIQUE (client_id, id)
);
CREATE INDEX shops_inn_idx ON shops (inn);
CREATE INDEX shops_kkt_idx ON shops USING GIN (kkt_reg_numbers);

-- Participants are the people a client motivates. A person who sells for two
-- clients is two participants (one per tenant) with the same phone.
CREATE TABLE participants (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id      BIGINT NOT NULL REFERENCES clients(id),
    phone          TEXT NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    login          TEXT CHECK (login ~ '^[A-Za-z0-9._@-]{3,64}$'),
    name           TEXT NOT NULL DEFAULT '',
    email          TEXT CHECK (email LIKE '%_@_%'),
    role           TEXT NOT NULL
                   CHECK (role IN ('seller', 'sales_rep', 'merchandiser', 'dealer', 'manager')),
    shop_id        BIGINT,
    region         TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'invited'
                   CHECK (status IN ('invited', 'active', 'blocked')),
    is_test        BOOLEAN NOT NULL DEFAULT false,
    password_hash  TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (client_id, phone),
    UNIQUE (client_id, id),
    FOREIGN KEY (client_id, shop_id) REFERENCES shops (client_id, id)
);
CREATE UNIQUE INDEX participants_login_key ON participants (lower(login)) WHERE login IS NOT NULL;
CREATE INDEX participants_phone_idx ON participants (phone);
CREATE INDEX participants_shop_idx ON participants (shop_id);

-- Dashboard users: client managers and moderators belong to one client;
-- platform operators to none.
CREATE TABLE dashboard_users (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id        BIGINT REFERENCES clients(id),
    email            TEXT NOT NULL CHECK (email LIKE '%_@_%'),
    name             TEXT NOT NULL DEFAULT '',
    role             TEXT NOT NULL CHECK (role IN ('client_manager', 'moderator', 'operator')),
    password_hash    TEXT NOT NULL,
    failed_logins    INT NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until     TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((role = 'operator') = (client_id IS NULL))
);
CREATE UNIQUE INDEX dashboard_users_email_key ON dashboard_users (lower(email));

-- The SKU catalog of a client. margin_weight_bp is the client's multiplier
-- for points in basis points of 1/10000 (1.25 -> 12500).
CREATE TABLE skus (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id         BIGINT NOT NULL REFERENCES clients(id),
    code              TEXT NOT NULL CHECK (code <> ''),
    brand             TEXT NOT NULL CHECK (brand <> ''),
    name              TEXT NOT NULL CHECK (name <> ''),
    category          TEXT NOT NULL DEFAULT '',
    volume_milli      BIGINT CHECK (volume_milli > 0),  -- pack size in thousandths of unit
    unit              TEXT NOT NULL DEFAULT '',
    margin_weight_bp  INT NOT NULL DEFAULT 10000 CHECK (margin_weight_bp > 0 AND margin_weight_bp <= 100000),
    active            BOOLEAN NOT NULL DEFAULT true,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (client_id, code),
    UNIQUE (client_id, id)
);

-- A GTIN identifies one SKU of a client.
CREATE TABLE sku_gtins (
    client_id  BIGINT NOT NULL,
    gtin       TEXT NOT NULL CHECK (gtin ~ '^[0-9]{8,14}$'),
    sku_id     BIGINT NOT NULL,
    PRIMARY KEY (client_id, gtin),
    FOREIGN KEY (client_id, sku_id) REFERENCES skus (client_id, id) ON DELETE CASCADE
);

-- Receipt line names as chains print them, confirmed as a SKU by the client.
CREATE TABLE sku_aliases (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id   BIGINT NOT NULL,
    sku_id      BIGINT NOT NULL,
    alias       TEXT NOT NULL CHECK (alias <> ''),
    source      TEXT NOT NULL DEFAULT 'catalog' CHECK (source IN ('catalog', 'confirmed')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (client_id, alias),
    FOREIGN KEY (client_id, sku_id) REFERENCES skus (client_id, id) ON DELETE CASCADE
);

-- Receipts. The fiscal identity (fn, fd, fp) is claimed once across the
-- whole platform: the unique constraint receipts_fiscal_identity_key is the
-- guarantee, whatever the concurrency. It is NULL while a photo still waits
-- for its QR code to be read.
CREATE TABLE receipts (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id         BIGINT NOT NULL,
    participant_id    BIGINT NOT NULL,
    program_id        BIGINT,
    shop_id           BIGINT,
    status            TEXT NOT NULL DEFAULT 'received' CHECK (status IN (
                          'received', 'decoded', 'queued', 'verifying', 'pending_ofd',
                          'verified', 'matched', 'credited', 'no_eligible_items',
                          'unreadable', 'duplicate', 'rejected', 'needs_review')),
    status_reason     TEXT NOT NULL DEFAULT '',
    source            TEXT NOT NULL CHECK (source IN ('photo', 'qr', 'manual')),
    idempotency_key   TEXT CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    qr_raw            TEXT,
    qr_canonical      TEXT,
    fn                TEXT CHECK (fn ~ '^[0-9]{16}$'),
    fd                BIGINT CHECK (fd BETWEEN 1 AND 4294967295),
    fp                BIGINT CHECK (fp BETWEEN 1 AND 4294967295),
    operation         SMALLINT CHECK (operation BETWEEN 1 AND 4),
    purchased_at      TIMESTAMP,      -- local wall-clock time of the shop, no zone
    sum_kopecks       BIGINT CHECK (sum_kopecks >= 0),
    photo_key         TEXT,
    geo_lat           DOUBLE PRECISION CHECK (geo_lat BETWEEN -90 AND 90),
    geo_lon           DOUBLE PRECISION CHECK (geo_lon BETWEEN -180 AND 180),
    -- Filled from the fiscal data operator's answer.
    ofd_provider      TEXT,
    seller_name       TEXT,
    seller_inn        TEXT,
    retail_place      TEXT,
    retail_address    TEXT,
    kkt_reg_number    TEXT,
    ofd_raw           JSONB,
    points_kopecks    BIGINT NOT NULL DEFAULT 0,
    attempts          INT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at   TIMESTAMPTZ,
    verified_at       TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT receipts_fiscal_identity_key UNIQUE (fn, fd, fp),
    CONSTRAINT receipts_idempotency_key UNIQUE (participant_id, idempotency_key),
    CONSTRAINT receipts_identity_complete CHECK (
        (fn IS NULL AND fd IS NULL AND fp IS NULL) OR
        (fn IS NOT NULL AND fd IS NOT NULL AND fp IS NOT NULL AND operation IS NOT NULL
         AND purchased_at IS NOT NULL AND sum_kopecks IS NOT NULL)),
    CONSTRAINT receipts_decoded_has_identity CHECK (
        status IN ('received', 'unreadable') OR fn IS NOT NULL),
    FOREIGN KEY (client_id, participant_id) REFERENCES participants (client_id, id),
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id),
    FOREIGN KEY (client_id, shop_id) REFERENCES shops (client_id, id)
);
CREATE INDEX receipts_participant_idx ON receipts (participant_id, created_at DESC, id);
CREATE INDEX receipts_client_status_idx ON receipts (client_id, status, created_at DESC);
-- The sweeper finds receipts stuck in a non-terminal state.
CREATE INDEX receipts_nonterminal_idx ON receipts (updated_at)
    WHERE status IN ('received', 'decoded', 'queued', 'verifying', 'pending_ofd', 'verified', 'matched');

CREATE TABLE receipt_items (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    receipt_id      UUID NOT NULL REFERENCES receipts(id) ON DELETE CASCADE,
    line_no         INT NOT NULL CHECK (line_no >= 1),
    name            TEXT NOT NULL,
    price_kopecks   BIGINT NOT NULL,
    quantity_milli  BIGINT NOT NULL,   -- quantity x 1000: weighed goods are fractional
    sum_kopecks     BIGINT NOT NULL,
    gtin            TEXT,
    sku_id          BIGINT REFERENCES skus(id),
    match_how       TEXT CHECK (match_how IN ('gtin', 'alias', 'name', 'none')),
    match_reason    TEXT NOT NULL DEFAULT '',
    points_kopecks  BIGINT NOT NULL DEFAULT 0,
    points_reason   TEXT NOT NULL DEFAULT '',
    UNIQUE (receipt_id, line_no)
);
CREATE INDEX receipt_items_sku_idx ON receipt_items (sku_id) WHERE sku_id IS NOT NULL;

-- Every state change of a receipt is an event, so support can explain any
-- outcome: who or what changed it, when and why.
CREATE TABLE receipt_events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    receipt_id   UUID NOT NULL REFERENCES receipts(id) ON DELETE CASCADE,
    at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    actor        TEXT NOT NULL CHECK (actor <> ''),
    reason       TEXT NOT NULL DEFAULT '',
    message      TEXT NOT NULL DEFAULT '',
    data         JSONB
);
CREATE INDEX receipt_events_receipt_idx ON receipt_events (receipt_id, id);

-- The points ledger: double entry. Every movement is a transaction whose
-- postings sum to zero; balance_kopecks is a cache of the postings kept in
-- the same database transaction and checked by `loyaltyjam ledger check`.
-- A participant's balance never goes negative and a program budget account
-- never goes below zero: CHECK constraints on the cache enforce both under
-- any concurrency, because every posting updates its account row.
CREATE TABLE ledger_accounts (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN (
                         'funding', 'program_budget', 'participant_pending',
                         'participant_available', 'redemption', 'tax')),
    client_id        BIGINT NOT NULL REFERENCES clients(id),
    program_id       BIGINT,
    participant_id   BIGINT,
    balance_kopecks  BIGINT NOT NULL DEFAULT 0,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id),
    FOREIGN KEY (client_id, participant_id) REFERENCES participants (client_id, id),
    CHECK (kind NOT IN ('participant_pending', 'participant_available') OR participant_id IS NOT NULL),
    CHECK (kind NOT IN ('participant_pending', 'participant_available', 'program_budget')
           OR balance_kopecks >= 0),
    UNIQUE NULLS NOT DISTINCT (kind, client_id, program_id, participant_id)
);

CREATE TABLE ledger_transactions (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key  TEXT NOT NULL CHECK (idempotency_key <> ''),
    kind             TEXT NOT NULL CHECK (kind <> ''),
    client_id        BIGINT NOT NULL REFERENCES clients(id),
    program_id       BIGINT,
    participant_id   BIGINT,
    receipt_id       UUID REFERENCES receipts(id),
    memo             TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT ledger_transactions_idempotency_key UNIQUE (idempotency_key)
);
CREATE INDEX ledger_transactions_participant_idx ON ledger_transactions (participant_id, id DESC);

CREATE TABLE ledger_postings (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  BIGINT NOT NULL REFERENCES ledger_transactions(id),
    account_id      BIGINT NOT NULL REFERENCES ledger_accounts(id),
    amount_kopecks  BIGINT NOT NULL CHECK (amount_kopecks <> 0)
);
CREATE INDEX ledger_postings_tx_idx ON ledger_postings (transaction_id);
CREATE INDEX ledger_postings_account_idx ON ledger_postings (account_id, id);

-- +goose StatementBegin
-- A transaction's postings must sum to zero when the database transaction
-- commits (a deferred constraint trigger sees all of them).
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total BIGINT;
BEGIN
    SELECT COALESCE(SUM(amount_kopecks), 0) INTO total
      FROM ledger_postings WHERE transaction_id = NEW.transaction_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: %', NEW.transaction_id, total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_postings_balanced';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE CONSTRAINT TRIGGER ledger_postings_balanced
    AFTER INSERT OR UPDATE ON ledger_postings
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

-- Push devices of participants (FCM registration tokens).
CREATE TABLE push_devices (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    participant_id  BIGINT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    token           TEXT NOT NULL CHECK (length(token) BETWEEN 8 AND 4096),
    platform        TEXT NOT NULL CHECK (platform IN ('android', 'ios', 'web')),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT push_devices_token_key UNIQUE (token)
);
CREATE INDEX push_devices_participant_idx ON push_devices (participant_id);

-- +goose Down
DROP TABLE push_devices;
DROP TABLE ledger_postings;
DROP FUNCTION ledger_check_balanced();
DROP TABLE ledger_transactions;
DROP TABLE ledger_accounts;
DROP TABLE receipt_events;
DROP TABLE receipt_items;
DROP TABLE receipts;
DROP TABLE sku_aliases;
DROP TABLE sku_gtins;
DROP TABLE skus;
DROP TABLE dashboard_users;
DROP TABLE participants;
DROP TABLE shops;
DROP TABLE programs;
DROP TABLE clients;
