-- +goose Up
-- Round 2: two more staff roles, one constraint so the issues that need
-- them (operations: a read-only analyst; tax: the role that sees tax
-- reports and full legal data) do not each rewrite it.
ALTER TABLE dashboard_users DROP CONSTRAINT dashboard_users_role_check;
ALTER TABLE dashboard_users ADD CONSTRAINT dashboard_users_role_check
    CHECK (role IN ('client_manager', 'moderator', 'operator', 'analyst', 'tax_officer'));

-- +goose Down
ALTER TABLE dashboard_users DROP CONSTRAINT dashboard_users_role_check;
ALTER TABLE dashboard_users ADD CONSTRAINT dashboard_users_role_check
    CHECK (role IN ('client_manager', 'moderator', 'operator'));
