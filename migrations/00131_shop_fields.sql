-- +goose Up
-- Shops imported and edited by operations (issue 16): the fiscal drive
-- numbers of the shop's cash registers (ФН, 16 digits, as printed on a
-- receipt and in its QR code) and the distributor that supplies the shop.
-- KKT registration numbers stay as they are (kkt_reg_numbers); their
-- 16-digit form is checked where they are written by import.

-- +goose StatementBegin
CREATE FUNCTION all_fiscal_numbers(nums TEXT[]) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT COALESCE(bool_and(n ~ '^[0-9]{16}$'), true) FROM unnest(nums) AS n
$$;
-- +goose StatementEnd

ALTER TABLE shops
    ADD COLUMN fn_numbers  TEXT[] NOT NULL DEFAULT '{}' CONSTRAINT shops_fn_numbers_format CHECK (all_fiscal_numbers(fn_numbers)),
    ADD COLUMN distributor TEXT NOT NULL DEFAULT '' CHECK (length(distributor) <= 300),
    ADD COLUMN updated_at  TIMESTAMPTZ NOT NULL DEFAULT now();
CREATE INDEX shops_fn_idx ON shops USING GIN (fn_numbers);

-- +goose Down
DROP INDEX shops_fn_idx;
ALTER TABLE shops DROP COLUMN fn_numbers, DROP COLUMN distributor, DROP COLUMN updated_at;
DROP FUNCTION all_fiscal_numbers(TEXT[]);
