-- Load-test data: one client with a live program, a shop and 50 active
-- participants load1..load50 with the password "load12345" (argon2id).
-- Idempotent. Apply to a migrated scratch database:
--   psql "$DATABASE_URL" -f scripts/load/seed.sql
INSERT INTO clients (code, name) VALUES ('loadtest', 'Нагрузочный клиент') ON CONFLICT (code) DO NOTHING;
INSERT INTO programs (client_id, code, name, status, starts_on, ends_on, budget_kopecks)
SELECT id, 'load', 'Нагрузочная программа', 'live', current_date - 30, current_date + 365, 1000000000
  FROM clients WHERE code = 'loadtest' ON CONFLICT (client_id, code) DO NOTHING;
INSERT INTO shops (client_id, code, name) SELECT id, 'LOAD-1', 'Магазин нагрузки' FROM clients WHERE code = 'loadtest'
  ON CONFLICT (client_id, code) DO NOTHING;
INSERT INTO participants (client_id, phone, login, name, role, shop_id, status, password_hash)
SELECT c.id, '+7990' || lpad(g::text, 7, '0'), 'load' || g, 'Продавец ' || g, 'seller', s.id, 'active',
       '$argon2id$v=19$m=19456,t=2,p=1$PU4yKUZv0gf66ApJ/srqKw$beBNlofunR+RsFmAn9gACmCEhUngdEHf/qbagiFLMCk'
  FROM clients c JOIN shops s ON s.client_id = c.id AND s.code = 'LOAD-1', generate_series(1, 50) g
 WHERE c.code = 'loadtest'
ON CONFLICT (client_id, phone) DO NOTHING;
