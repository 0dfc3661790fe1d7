-- +goose Up
-- occurred_on is the business date a ledger transaction belongs to (a
-- receipt's purchase date, a registry's period). Points of programs that
-- credit at period close stay pending until the period of occurred_on has
-- closed; the release job reads it. NULL for movements outside any period
-- (funding, releases themselves).
ALTER TABLE ledger_transactions ADD COLUMN occurred_on DATE;
CREATE INDEX ledger_transactions_program_kind_idx ON ledger_transactions (program_id, kind, occurred_on);
-- A participant's accounts, for balances and history.
CREATE INDEX ledger_accounts_participant_idx ON ledger_accounts (participant_id) WHERE participant_id IS NOT NULL;

-- +goose Down
DROP INDEX ledger_accounts_participant_idx;
DROP INDEX ledger_transactions_program_kind_idx;
ALTER TABLE ledger_transactions DROP COLUMN occurred_on;
