-- +goose Up
-- Merchandiser tasks: definitions, per-period quota counters, submissions
-- (one row per attempt: taken → submitted → reviewed), their photos and
-- their event log.

CREATE TABLE tasks (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id             BIGINT NOT NULL REFERENCES clients(id),
    program_id            BIGINT NOT NULL,
    title                 TEXT NOT NULL CHECK (title <> '' AND length(title) <= 200),
    instructions          TEXT NOT NULL DEFAULT '',
    reward_kopecks        BIGINT NOT NULL CHECK (reward_kopecks > 0),
    roles                 TEXT[] NOT NULL DEFAULT '{}',
    shop_ids              BIGINT[] NOT NULL DEFAULT '{}',
    regions               TEXT[] NOT NULL DEFAULT '{}',
    chains                TEXT[] NOT NULL DEFAULT '{}',
    starts_at             TIMESTAMPTZ NOT NULL,
    due_at                TIMESTAMPTZ NOT NULL,
    recurrence            TEXT NOT NULL DEFAULT 'none'
                          CHECK (recurrence IN ('none', 'daily', 'weekly', 'monthly')),
    per_participant       INT NOT NULL DEFAULT 1 CHECK (per_participant >= 1),
    per_shop              INT NOT NULL DEFAULT 0 CHECK (per_shop >= 0),  -- 0: unlimited
    min_photos            INT NOT NULL DEFAULT 0 CHECK (min_photos BETWEEN 0 AND 10),
    max_photos            INT NOT NULL DEFAULT 2 CHECK (max_photos BETWEEN min_photos AND 10),
    checklist             JSONB NOT NULL DEFAULT '[]',
    comment_required      BOOLEAN NOT NULL DEFAULT false,
    geofence_meters       INT NOT NULL DEFAULT 0 CHECK (geofence_meters >= 0),  -- 0: off
    auto_approve          BOOLEAN NOT NULL DEFAULT false,
    auto_min_approved     INT NOT NULL DEFAULT 3 CHECK (auto_min_approved >= 0),
    status                TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    created_by            BIGINT,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (due_at > starts_at),
    UNIQUE (client_id, id),
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id)
);
CREATE INDEX tasks_client_status_idx ON tasks (client_id, status, due_at);

-- Quota counters: how many attempts of a task hold a unit of a limit in one
-- period (slot), per participant and per shop. A take increments both in
-- its transaction (INSERT … ON CONFLICT DO UPDATE: the row lock serializes
-- concurrent takers); the CHECK makes exceeding the cap impossible whatever
-- the concurrency; a rejection or expiry gives the unit back.
CREATE TABLE task_quotas (
    task_id     BIGINT NOT NULL REFERENCES tasks(id),
    slot        INT NOT NULL CHECK (slot >= 0),
    scope       TEXT NOT NULL CHECK (scope IN ('participant', 'shop')),
    subject_id  BIGINT NOT NULL,
    used        INT NOT NULL CHECK (used >= 0),
    cap         INT NOT NULL CHECK (cap >= 1),
    PRIMARY KEY (task_id, slot, scope, subject_id),
    CONSTRAINT task_quotas_cap CHECK (used <= cap)
);

CREATE TABLE task_submissions (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id           BIGINT NOT NULL,
    program_id          BIGINT NOT NULL,
    task_id             BIGINT NOT NULL,
    participant_id      BIGINT NOT NULL,
    shop_id             BIGINT NOT NULL,
    slot                INT NOT NULL CHECK (slot >= 0),
    slot_starts_at      TIMESTAMPTZ NOT NULL,
    slot_due_at         TIMESTAMPTZ NOT NULL,
    status              TEXT NOT NULL DEFAULT 'taken' CHECK (status IN (
                            'taken', 'submitted', 'in_review', 'approved', 'rejected',
                            'rework_requested', 'expired')),
    reason_code         TEXT NOT NULL DEFAULT '',
    review_comment      TEXT NOT NULL DEFAULT '',
    answers             JSONB NOT NULL DEFAULT '{}',
    comment             TEXT NOT NULL DEFAULT '',
    geo_lat             DOUBLE PRECISION CHECK (geo_lat BETWEEN -90 AND 90),
    geo_lon             DOUBLE PRECISION CHECK (geo_lon BETWEEN -180 AND 180),
    captured_at         TIMESTAMPTZ,
    flags               JSONB NOT NULL DEFAULT '[]',
    reward_kopecks      BIGINT NOT NULL CHECK (reward_kopecks > 0),
    points_kopecks      BIGINT NOT NULL DEFAULT 0 CHECK (points_kopecks >= 0),
    ledger_tx_id        BIGINT REFERENCES ledger_transactions(id),
    reviewed_by         BIGINT,
    auto_approved       BOOLEAN NOT NULL DEFAULT false,
    taken_at            TIMESTAMPTZ NOT NULL,
    submitted_at        TIMESTAMPTZ,
    reviewed_at         TIMESTAMPTZ,
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (client_id, task_id) REFERENCES tasks (client_id, id),
    FOREIGN KEY (client_id, participant_id) REFERENCES participants (client_id, id),
    FOREIGN KEY (client_id, shop_id) REFERENCES shops (client_id, id),
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id),
    -- An approved submission has its ledger credit; nothing else has one.
    CONSTRAINT task_submissions_credit CHECK ((status = 'approved') = (ledger_tx_id IS NOT NULL)),
    CONSTRAINT task_submissions_rejected_reason CHECK (status <> 'rejected' OR reason_code <> '')
);
-- One open take per participant, task and period: taking again returns it.
CREATE UNIQUE INDEX task_submissions_open_take_key ON task_submissions (task_id, participant_id, slot)
    WHERE status = 'taken';
-- A ledger credit pays one submission.
CREATE UNIQUE INDEX task_submissions_ledger_tx_key ON task_submissions (ledger_tx_id)
    WHERE ledger_tx_id IS NOT NULL;
CREATE INDEX task_submissions_participant_idx ON task_submissions (participant_id, id DESC);
-- The moderation queue: by due date within a client.
CREATE INDEX task_submissions_queue_idx ON task_submissions (client_id, slot_due_at, submitted_at)
    WHERE status IN ('submitted', 'in_review');
-- The expiry sweep.
CREATE INDEX task_submissions_open_idx ON task_submissions (slot_due_at)
    WHERE status IN ('taken', 'rework_requested');

-- Photos of reports. sha256 finds exact copies and phash (a 64-bit DCT
-- perceptual hash) near copies across all reports of a program.
CREATE TABLE task_photos (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    submission_id  BIGINT NOT NULL REFERENCES task_submissions(id) ON DELETE CASCADE,
    program_id     BIGINT NOT NULL,
    idx            INT NOT NULL CHECK (idx BETWEEN 0 AND 9),
    photo_key      TEXT NOT NULL CHECK (photo_key <> ''),
    sha256         BYTEA NOT NULL CHECK (length(sha256) = 32),
    phash          BIGINT NOT NULL,
    width          INT NOT NULL CHECK (width > 0),
    height         INT NOT NULL CHECK (height > 0),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (submission_id, idx)
);
CREATE INDEX task_photos_program_sha_idx ON task_photos (program_id, sha256);
CREATE INDEX task_photos_program_idx ON task_photos (program_id, submission_id);

CREATE TABLE task_submission_events (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    submission_id  BIGINT NOT NULL REFERENCES task_submissions(id) ON DELETE CASCADE,
    at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    from_status    TEXT,
    to_status      TEXT NOT NULL,
    actor          TEXT NOT NULL CHECK (actor <> ''),
    reason         TEXT NOT NULL DEFAULT '',
    message        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX task_submission_events_sub_idx ON task_submission_events (submission_id, id);

-- +goose Down
DROP TABLE task_submission_events;
DROP TABLE task_photos;
DROP TABLE task_submissions;
DROP TABLE task_quotas;
DROP TABLE tasks;
