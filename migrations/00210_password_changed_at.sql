-- When the participant last chose their own password (POST /v1/me/password).
-- A participant whose password was issued by a registry invitation
-- (registry_invitation_passwords with password_set, migration 00082) after
-- this moment, or who never changed it, must change it before anything
-- else: GET /v1/me says must_change_password.

-- +goose Up
ALTER TABLE participants ADD COLUMN password_changed_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE participants DROP COLUMN password_changed_at;
