-- +goose Up
-- Notifications: the outbox of intents (written in the transaction of the
-- event that causes them), the per-channel/per-device delivery records that
-- make a retried or interrupted delivery send at most once more per device,
-- the participant's in-app inbox and their notification preferences.

-- A notification intent: "tell participant P about event E with data D".
-- dedup_key is the idempotency of the causing event (receipt:<id>:credited:1),
-- so a retried transaction never creates two intents for one event.
CREATE TABLE notification_intents (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id        BIGINT NOT NULL,
    participant_id   BIGINT NOT NULL,
    event_type       TEXT NOT NULL CHECK (event_type ~ '^[a-z][a-z_]{1,62}$'),
    data             JSONB NOT NULL DEFAULT '{}',
    dedup_key        TEXT NOT NULL CHECK (length(dedup_key) BETWEEN 1 AND 300),
    urgent           BOOLEAN NOT NULL DEFAULT false,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The relay enqueues a delivery task when next_attempt_at is due and the
    -- last enqueue (enqueued_at) is old enough to assume the task was lost.
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    enqueued_at      TIMESTAMPTZ,
    attempts         INT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error       TEXT NOT NULL DEFAULT '',
    delivered_at     TIMESTAMPTZ,
    failed_at        TIMESTAMPTZ,
    CONSTRAINT notification_intents_dedup_key UNIQUE (dedup_key),
    CONSTRAINT notification_intents_done_once CHECK (delivered_at IS NULL OR failed_at IS NULL),
    FOREIGN KEY (client_id, participant_id) REFERENCES participants (client_id, id) ON DELETE CASCADE
);
-- The relay's scan: only open intents, oldest due first.
CREATE INDEX notification_intents_open_idx ON notification_intents (next_attempt_at, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX notification_intents_participant_idx ON notification_intents (participant_id, id);

-- One row per (intent, channel, target): target is 'device:<push_devices.id>'
-- for push, 'phone' for SMS, 'email' for e-mail. A sender claims the row
-- (status sending, lease_until) before it sends and marks it sent after, so
-- concurrent or retried deliveries never send twice to a target that got it.
CREATE TABLE notification_deliveries (
    intent_id    BIGINT NOT NULL REFERENCES notification_intents(id) ON DELETE CASCADE,
    channel      TEXT NOT NULL CHECK (channel IN ('push', 'sms', 'email')),
    target       TEXT NOT NULL CHECK (target <> ''),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    lease_until  TIMESTAMPTZ,
    attempts     INT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    external_id  TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (intent_id, channel, target),
    CHECK (status <> 'sending' OR lease_until IS NOT NULL)
);

-- The in-app inbox: at most one item per intent.
CREATE TABLE notifications (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    intent_id       BIGINT NOT NULL REFERENCES notification_intents(id) ON DELETE CASCADE,
    client_id       BIGINT NOT NULL,
    participant_id  BIGINT NOT NULL,
    event_type      TEXT NOT NULL,
    title           TEXT NOT NULL CHECK (title <> ''),
    body            TEXT NOT NULL DEFAULT '',
    data            JSONB NOT NULL DEFAULT '{}',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    read_at         TIMESTAMPTZ,
    CONSTRAINT notifications_intent_key UNIQUE (intent_id),
    FOREIGN KEY (client_id, participant_id) REFERENCES participants (client_id, id) ON DELETE CASCADE
);
CREATE INDEX notifications_participant_idx ON notifications (participant_id, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (participant_id) WHERE read_at IS NULL;

-- Preferences of a participant; no row means the defaults.
-- channels: {"receipt_credited": {"push": false}, …} overrides per event type.
-- Quiet hours are minutes of the local day in timezone; start = end is none.
CREATE TABLE notification_preferences (
    participant_id   BIGINT PRIMARY KEY REFERENCES participants(id) ON DELETE CASCADE,
    channels         JSONB NOT NULL DEFAULT '{}',
    quiet_enabled    BOOLEAN NOT NULL DEFAULT true,
    quiet_start_min  SMALLINT NOT NULL DEFAULT 1320 CHECK (quiet_start_min BETWEEN 0 AND 1439),
    quiet_end_min    SMALLINT NOT NULL DEFAULT 480 CHECK (quiet_end_min BETWEEN 0 AND 1439),
    timezone         TEXT NOT NULL DEFAULT 'Europe/Moscow' CHECK (timezone <> ''),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE notification_preferences;
DROP TABLE notifications;
DROP TABLE notification_deliveries;
DROP TABLE notification_intents;
