-- +goose Up
-- Issue 16, programs without a developer: a program's mechanics, zone,
-- eligibility and participant texts; participants flagged as testers; and
-- the outcome of every (receipt, program) evaluation, since a receipt is
-- now evaluated against every live receipt program of its client whose
-- eligibility it meets.

-- What a program runs on. A program without 'receipts' (registries or
-- tasks only) never takes a receipt. Existing programs did all three.
ALTER TABLE programs
    ADD COLUMN mechanics TEXT[] NOT NULL DEFAULT '{receipts,registries,tasks}'
        CONSTRAINT programs_mechanics_known CHECK (
            cardinality(mechanics) >= 1
            AND mechanics <@ ARRAY['receipts', 'registries', 'tasks', 'plans']::TEXT[]),
    ADD COLUMN timezone TEXT NOT NULL DEFAULT 'Europe/Moscow'
        CONSTRAINT programs_timezone_iana CHECK (is_iana_timezone(timezone)),
    -- Eligibility: empty means no restriction on that dimension; a receipt
    -- counts for the program when its participant's shop, the shop's chain
    -- and region and the participant's role each pass.
    ADD COLUMN eligible_shop_ids BIGINT[] NOT NULL DEFAULT '{}',
    ADD COLUMN eligible_chains   TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN eligible_regions  TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN eligible_roles    TEXT[] NOT NULL DEFAULT '{}'
        CONSTRAINT programs_roles_known CHECK (
            eligible_roles <@ ARRAY['seller', 'sales_rep', 'merchandiser', 'dealer', 'manager']::TEXT[]),
    -- Texts shown to participants.
    ADD COLUMN description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 20000),
    ADD COLUMN rules_text  TEXT NOT NULL DEFAULT '' CHECK (length(rules_text) <= 50000),
    ADD COLUMN how_to_join TEXT NOT NULL DEFAULT '' CHECK (length(how_to_join) <= 20000),
    ADD COLUMN cloned_from BIGINT REFERENCES programs(id),
    ADD COLUMN closed_at   TIMESTAMPTZ,
    ADD COLUMN updated_at  TIMESTAMPTZ NOT NULL DEFAULT now();

-- Testers earn in a program in `test`; their points never count in the
-- client's figures. (Helper "money" adds the same column with IF NOT
-- EXISTS; the older is_test flag keeps its meaning and counts as tester.)
ALTER TABLE participants ADD COLUMN IF NOT EXISTS is_tester boolean NOT NULL DEFAULT false;

-- One row per (receipt, program) evaluated: what that program credited
-- and why. The caps of a program count its credited rows.
CREATE TABLE receipt_program_results (
    receipt_id      UUID NOT NULL REFERENCES receipts(id) ON DELETE CASCADE,
    program_id      BIGINT NOT NULL REFERENCES programs(id),
    client_id       BIGINT NOT NULL REFERENCES clients(id),
    participant_id  BIGINT NOT NULL,
    shop_id         BIGINT,
    purchased_at    TIMESTAMP NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('credited', 'no_eligible_items', 'rejected', 'needs_review')),
    reason          TEXT NOT NULL DEFAULT '',
    rule_version    INT NOT NULL DEFAULT 0 CHECK (rule_version >= 0),
    points_kopecks  BIGINT NOT NULL DEFAULT 0 CHECK (points_kopecks >= 0),
    pending         BOOLEAN NOT NULL DEFAULT false,
    evaluation      JSONB,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (receipt_id, program_id),
    CHECK (status = 'credited' OR points_kopecks = 0)
);
CREATE INDEX receipt_program_results_participant_idx
    ON receipt_program_results (program_id, participant_id, purchased_at) WHERE status = 'credited';
CREATE INDEX receipt_program_results_shop_idx
    ON receipt_program_results (program_id, shop_id, purchased_at) WHERE status = 'credited';

-- Sales credited before this migration, so their caps keep counting.
INSERT INTO receipt_program_results (receipt_id, program_id, client_id, participant_id, shop_id,
        purchased_at, status, reason, points_kopecks)
SELECT id, program_id, client_id, participant_id, shop_id, purchased_at, 'credited', status_reason, points_kopecks
  FROM receipts
 WHERE status = 'credited' AND operation = 1 AND program_id IS NOT NULL AND purchased_at IS NOT NULL
   AND points_kopecks >= 0;

-- +goose Down
DROP TABLE receipt_program_results;
ALTER TABLE participants DROP COLUMN IF EXISTS is_tester;
ALTER TABLE programs
    DROP COLUMN updated_at, DROP COLUMN closed_at, DROP COLUMN cloned_from,
    DROP COLUMN how_to_join, DROP COLUMN rules_text, DROP COLUMN description,
    DROP COLUMN eligible_roles, DROP COLUMN eligible_regions, DROP COLUMN eligible_chains,
    DROP COLUMN eligible_shop_ids, DROP COLUMN timezone, DROP COLUMN mechanics;
