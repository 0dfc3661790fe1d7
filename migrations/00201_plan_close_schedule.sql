-- +goose Up
-- Issue 20: a program chooses the day of the month its plan periods close
-- (e.g. the 3rd of the next month); the worker's scheduler previews the
-- closed period then and approves it when it is under the maker-checker
-- threshold (above it the preview waits for staff).
CREATE TABLE plan_close_schedules (
    program_id  BIGINT PRIMARY KEY,
    client_id   BIGINT NOT NULL,
    close_day   SMALLINT NOT NULL CHECK (close_day BETWEEN 1 AND 28),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (client_id, program_id) REFERENCES programs (client_id, id)
);
-- When the scheduler took a period (NULL: not yet); it takes each once.
ALTER TABLE plan_periods ADD COLUMN scheduled_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE plan_periods DROP COLUMN scheduled_at;
DROP TABLE plan_close_schedules;
