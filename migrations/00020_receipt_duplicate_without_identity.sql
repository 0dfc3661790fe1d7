-- A photo receipt whose QR turns out to name a fiscal identity another row
-- already holds is marked duplicate by the decode worker. It cannot store
-- that identity (receipts_fiscal_identity_key forbids a second copy), so a
-- duplicate row, like received and unreadable ones, may have no identity;
-- the identity it collided with is recorded in its receipt_events data.

-- +goose Up
ALTER TABLE receipts DROP CONSTRAINT receipts_decoded_has_identity;
ALTER TABLE receipts ADD CONSTRAINT receipts_decoded_has_identity CHECK (
    status IN ('received', 'unreadable', 'duplicate') OR fn IS NOT NULL);

-- +goose Down
-- Keep the rows: they become unreadable with the reason that explains them.
UPDATE receipts SET status = 'unreadable', status_reason = 'duplicate_claim'
    WHERE status = 'duplicate' AND fn IS NULL;
ALTER TABLE receipts DROP CONSTRAINT receipts_decoded_has_identity;
ALTER TABLE receipts ADD CONSTRAINT receipts_decoded_has_identity CHECK (
    status IN ('received', 'unreadable') OR fn IS NOT NULL);
