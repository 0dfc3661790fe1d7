-- +goose Up
-- Issue 14: one source for every budget figure, and returns that subtract.
--
-- rpt_budget_day is what left each program's budget account per business
-- day and ledger transaction kind: −Σ of the postings on the
-- program_budget account of every transaction but funding, dated by
-- occurred_on (purchase date, task approval) or, without one (registry
-- lines), the UTC day the transaction was posted. A trigger on
-- ledger_postings keeps it in the transaction that posts, so spending, the
-- months, the 30-day burn and the forecast (reportdb.Budget) are all sums of
-- this one table and cannot disagree: Σ of its rows = funded − balance.
-- Before, receipt credits were read from rpt_day (where a return receipt
-- is a credited receipt with negative points) and reversals from the
-- ledger as well, so a return was subtracted twice.
CREATE TABLE rpt_budget_day (
    program_id     BIGINT NOT NULL,
    day            DATE NOT NULL,
    kind           TEXT NOT NULL,
    client_id      BIGINT NOT NULL,
    spent_kopecks  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (program_id, day, kind)
);

-- +goose StatementBegin
CREATE FUNCTION rpt_budget_spend() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rpt_budget_day AS b (program_id, day, kind, client_id, spent_kopecks)
    SELECT a.program_id, COALESCE(t.occurred_on, (t.created_at AT TIME ZONE 'UTC')::date), t.kind, a.client_id,
           -SUM(n.amount_kopecks)
      FROM new_postings n
      JOIN ledger_accounts a ON a.id = n.account_id AND a.kind = 'program_budget'
      JOIN ledger_transactions t ON t.id = n.transaction_id AND t.kind <> 'program_funding'
     GROUP BY 1, 2, 3, 4
    ON CONFLICT (program_id, day, kind) DO UPDATE SET spent_kopecks = b.spent_kopecks + EXCLUDED.spent_kopecks;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER ledger_postings_budget_spend AFTER INSERT ON ledger_postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION rpt_budget_spend();

INSERT INTO rpt_budget_day (program_id, day, kind, client_id, spent_kopecks)
SELECT a.program_id, COALESCE(t.occurred_on, (t.created_at AT TIME ZONE 'UTC')::date), t.kind, a.client_id,
       -SUM(p.amount_kopecks)
  FROM ledger_postings p
  JOIN ledger_accounts a ON a.id = p.account_id AND a.kind = 'program_budget'
  JOIN ledger_transactions t ON t.id = p.transaction_id AND t.kind <> 'program_funding'
 GROUP BY 1, 2, 3, 4;

-- A return receipt (operation 2) in the rollups: its units and sums count
-- negative, and it is no sales receipt in the counts (reportdb.Hook).
ALTER TABLE rpt_receipt_state ADD COLUMN is_return BOOLEAN NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE rpt_receipt_state DROP COLUMN is_return;
DROP TRIGGER ledger_postings_budget_spend ON ledger_postings;
DROP FUNCTION rpt_budget_spend();
DROP TABLE rpt_budget_day;
