-- Receipt squatting (issue 13): the fiscal identity (fn, fd, fp) is printed
-- on the receipt, so anyone holding it — a participant of another client
-- included — could claim it first with any sum, be rejected, and keep the
-- identity from the rightful seller forever. A claim rejected for not
-- belonging to its claimant (another shop or client, data the operator does
-- not confirm, a sum that disagrees) now releases the identity in the
-- transaction that rejects it (receipt.ReleasesIdentity); uniqueness holds
-- among the claims that are live, credited or decided by a person, so
-- "one credit per receipt" stays a database rule.

-- +goose Up
ALTER TABLE receipts ADD COLUMN identity_released BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE receipts ADD CONSTRAINT receipts_identity_released_terminal CHECK (
    NOT identity_released OR status IN ('rejected', 'no_eligible_items'));
ALTER TABLE receipts DROP CONSTRAINT receipts_fiscal_identity_key;
-- Same name as the constraint it replaces: the stores translate a violation
-- of it (23505) into "claimed by another participant" / duplicate.
CREATE UNIQUE INDEX receipts_fiscal_identity_key ON receipts (fn, fd, fp) WHERE NOT identity_released;
-- A participant's own released claim answers their re-send of the receipt
-- (receiptdb.Store.Create), so one participant cannot squat it over and over.
CREATE INDEX receipts_released_identity_idx ON receipts (fn, fd, fp) WHERE identity_released;
-- Rows squatting today give the identity back.
UPDATE receipts SET identity_released = true
 WHERE fn IS NOT NULL
   AND ((status = 'rejected' AND status_reason IN (
            'shop_mismatch', 'no_shop', 'no_program', 'program_not_active', 'outside_program_dates',
            'receipt_too_old', 'purchase_in_future', 'role_not_eligible', 'participant_blocked',
            'ofd_not_found', 'ofd_invalid', 'ofd_mismatch', 'sum_mismatch'))
        OR (status = 'no_eligible_items' AND status_reason = 'no_eligible_items'))
   AND NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.receipt_id = receipts.id);

-- +goose Down
-- Keep one row per identity: released rows whose identity was claimed again
-- become duplicates without an identity (as 00020 allows); their events
-- keep what they were.
UPDATE receipts r SET status = 'duplicate', status_reason = 'duplicate_claim', identity_released = false,
       fn = NULL, fd = NULL, fp = NULL, operation = NULL, purchased_at = NULL, sum_kopecks = NULL
 WHERE r.identity_released
   AND EXISTS (SELECT 1 FROM receipts o WHERE o.fn = r.fn AND o.fd = r.fd AND o.fp = r.fp AND o.id <> r.id
               AND (NOT o.identity_released OR o.created_at > r.created_at OR (o.created_at = r.created_at AND o.id > r.id)));
DROP INDEX receipts_released_identity_idx;
DROP INDEX receipts_fiscal_identity_key;
ALTER TABLE receipts ADD CONSTRAINT receipts_fiscal_identity_key UNIQUE (fn, fd, fp);
ALTER TABLE receipts DROP CONSTRAINT receipts_identity_released_terminal;
ALTER TABLE receipts DROP COLUMN identity_released;
