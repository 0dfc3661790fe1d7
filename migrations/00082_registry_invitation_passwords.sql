-- +goose Up
-- Password invitations: one password per participant and invitation round,
-- sent on every channel of the round (internal/registry Processor).
--
-- A round's first delivery attempt generates the password, stores its hash
-- in participants.password_hash and keeps the password here, sealed with
-- AES-256-GCM under CREDENTIALS_KEY (internal/sealbox, bound to participant
-- and round), in the same transaction, so every channel and every retry of
-- the round sends the same credentials. It is erased as soon as no invitation of the
-- round is pending any more (each one sent or failed). password_set false:
-- the round keeps the participant's current password (they had signed in
-- and the re-send did not ask for new credentials).
CREATE TABLE registry_invitation_passwords (
    participant_id  BIGINT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    round           INT NOT NULL CHECK (round >= 1),
    password_set    BOOLEAN NOT NULL,
    password        TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    erased_at       TIMESTAMPTZ,
    PRIMARY KEY (participant_id, round),
    CONSTRAINT registry_invitation_passwords_plain CHECK (password_set OR password IS NULL)
);

-- new_password: a re-send that asked for new credentials even for a
-- participant who has signed in. last_attempt_at: the latest delivery
-- attempt, so the sweeper re-enqueues invitations left pending once the
-- task's retries are exhausted.
ALTER TABLE registry_invitations
    ADD COLUMN new_password BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN last_attempt_at TIMESTAMPTZ;

CREATE INDEX registry_invitations_pending_idx ON registry_invitations (COALESCE(last_attempt_at, created_at))
    WHERE status = 'pending';

-- +goose Down
DROP INDEX registry_invitations_pending_idx;
ALTER TABLE registry_invitations DROP COLUMN last_attempt_at, DROP COLUMN new_password;
DROP TABLE registry_invitation_passwords;
