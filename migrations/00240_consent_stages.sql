-- +goose Up
-- When a program's required consents are enforced (docs/tax.md,
-- "Consents"): before redeeming (an order is refused with
-- consent_required) and before crediting (a receipt is held in review
-- with the lacking consents as its reason). Both are off by default, so a
-- program enforces nothing until its staff turn it on: participants of
-- programs that ran before consents were recorded have none.
ALTER TABLE tax_program_settings
    ADD COLUMN consents_before_redeeming BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN consents_before_crediting BOOLEAN NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE tax_program_settings DROP COLUMN consents_before_crediting, DROP COLUMN consents_before_redeeming;
