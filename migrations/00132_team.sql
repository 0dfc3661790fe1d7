-- +goose Up
-- The field hierarchy (issue 16): a participant's supervisor — a sales
-- rep above sellers, a supervisor above reps — in the same client. A rep
-- or supervisor sees the participants below them and the shops those
-- work in (GET /v1/team). Cycles are refused where the link is set
-- (tenantdb.SetSupervisor, with the chain locked).
ALTER TABLE participants
    ADD COLUMN supervisor_id BIGINT,
    ADD CONSTRAINT participants_supervisor_fk FOREIGN KEY (client_id, supervisor_id) REFERENCES participants (client_id, id),
    ADD CONSTRAINT participants_supervisor_not_self CHECK (supervisor_id <> id);
CREATE INDEX participants_supervisor_idx ON participants (supervisor_id) WHERE supervisor_id IS NOT NULL;

-- +goose Down
DROP INDEX participants_supervisor_idx;
ALTER TABLE participants DROP CONSTRAINT participants_supervisor_not_self, DROP CONSTRAINT participants_supervisor_fk,
    DROP COLUMN supervisor_id;
