-- +goose Up
-- Indexes for the points service: cap counters (credited receipts of a
-- participant or a shop by purchase date), anomaly counters (uploads of a
-- participant by time, claims per KKT) and finding the sale a return undoes.
CREATE INDEX receipts_participant_purchased_idx ON receipts (participant_id, purchased_at)
    WHERE status = 'credited';
CREATE INDEX receipts_shop_purchased_idx ON receipts (shop_id, purchased_at)
    WHERE status = 'credited';
CREATE INDEX receipts_kkt_purchased_idx ON receipts (kkt_reg_number, purchased_at);

-- +goose Down
DROP INDEX receipts_kkt_purchased_idx;
DROP INDEX receipts_shop_purchased_idx;
DROP INDEX receipts_participant_purchased_idx;
