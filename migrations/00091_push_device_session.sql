-- A push token is bound to the sign-in session that registered it, so
-- another participant cannot take over someone's pushes by registering
-- their token while that session lives.

-- +goose Up
-- The refresh token family (auth_refresh_tokens.family_id) the token was
-- registered in; NULL for tokens registered before this column, which
-- count as bound to any live session of their participant.
ALTER TABLE push_devices ADD COLUMN session_id UUID;
CREATE INDEX push_devices_session_idx ON push_devices (session_id) WHERE session_id IS NOT NULL;

-- +goose Down
DROP INDEX push_devices_session_idx;
ALTER TABLE push_devices DROP COLUMN session_id;
