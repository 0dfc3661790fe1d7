-- +goose Up
-- Dashboard pages that missed 300 ms p95 with 1 000 000 receipts
-- (docs/dashboard.md, issue 10).

-- Receipts by program SKU, newest purchase first: the receipt search
-- filtered by SKU (the drill-down from sales by SKU) walks this index in
-- order instead of probing receipt_items for every receipt of the program.
-- One row per receipt with a purchase time and program, and SKU its lines
-- matched, whatever its status (the search filters status on receipts).
-- Maintained by reportdb.Hook with the other rollups and by
-- reportdb.Rebuild.
CREATE TABLE rpt_receipt_sku (
    program_id   BIGINT NOT NULL,
    sku_id       BIGINT NOT NULL,
    purchased_at TIMESTAMP NOT NULL,  -- receipts.purchased_at
    receipt_id   UUID NOT NULL REFERENCES receipts(id) ON DELETE CASCADE,
    PRIMARY KEY (program_id, sku_id, purchased_at, receipt_id)
);
CREATE INDEX rpt_receipt_sku_receipt_idx ON rpt_receipt_sku (receipt_id);

-- Participant figures of a program over a range of months (sales by
-- participant, participation, repeat uploads, churn) read only this index.
CREATE INDEX rpt_month_participant_cover_idx ON rpt_month_participant (program_id, client_id, month)
    INCLUDE (participant_id, uploads, receipts, units_milli, sum_kopecks, points_kopecks);

-- Receipt search and export by one status, newest purchase first.
CREATE INDEX receipts_program_status_purchased_idx ON receipts (program_id, status, purchased_at DESC, id DESC);

-- +goose Down
DROP INDEX receipts_program_status_purchased_idx;
DROP INDEX rpt_month_participant_cover_idx;
DROP TABLE rpt_receipt_sku;
