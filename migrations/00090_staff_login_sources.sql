-- Failed staff sign-ins are counted per (user, source address), so a
-- stranger's wrong passwords throttle the stranger's address, not the
-- account: the owner signs in from elsewhere and keeps their sessions.

-- +goose Up
-- One row per address that tried to sign in as a user. failures counts
-- wrong passwords in the window that opened at window_start; each one
-- pushes throttled_until further out (progressive delay) until the address
-- is shut out for the lock time. last_success_at marks an address the
-- owner has signed in from: an account-wide lock (many addresses failing)
-- does not apply to it.
CREATE TABLE staff_login_sources (
    user_id          BIGINT NOT NULL REFERENCES dashboard_users(id) ON DELETE CASCADE,
    ip               TEXT NOT NULL CHECK (length(ip) BETWEEN 1 AND 64),
    failures         INT NOT NULL DEFAULT 0 CHECK (failures >= 0),
    window_start     TIMESTAMPTZ NOT NULL,
    throttled_until  TIMESTAMPTZ,
    last_success_at  TIMESTAMPTZ,
    PRIMARY KEY (user_id, ip)
);

-- When the owner was last told about failed sign-ins (one notice per lock
-- time, however long the attack goes on).
ALTER TABLE dashboard_users ADD COLUMN login_alerted_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE dashboard_users DROP COLUMN login_alerted_at;
DROP TABLE staff_login_sources;
