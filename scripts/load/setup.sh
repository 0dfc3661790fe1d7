#!/bin/sh
# Creates and migrates a scratch database for the load test, seeds it and
# prints how to start the real server (`loyaltyjam serve`, the SMS
# simulator it needs for sign-in codes) and the load client. Needs psql,
# redis-cli and the local PostgreSQL/Redis (127.0.0.1, user postgres).
# Everything listens on 127.0.0.1 only.
set -eu
DB=${LOAD_DB:-lj_load}
PG=${PG_URL:-postgres://postgres@127.0.0.1:5432}
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
psql "$PG/postgres" -qc "CREATE DATABASE $DB"
# Reserve a Redis DB index the way internal/redistest does (DB 0 holds the
# leases), so the load test never shares a database with running tests.
# The lease and the flush go to the Redis given, never to another one.
REDIS=${LOAD_REDIS_URL:-redis://127.0.0.1:6379}
REDIS=${REDIS%/}
IDX=${LOAD_REDIS_DB:-15}
[ "$(redis-cli -u "$REDIS/0" SET loyaltyjam:test:lease:$IDX load-test NX EX 3600)" = OK ] || { echo "redis db $IDX on $REDIS is leased"; exit 1; }
redis-cli -u "$REDIS/$IDX" FLUSHDB >/dev/null
export DATABASE_URL="$PG/$DB?sslmode=disable" REDIS_URL=$REDIS/$IDX
LJ_ENV=development go run ./cmd/loyaltyjam migrate up
psql "$DATABASE_URL" -q -f scripts/load/seed.sql
cat <<EOV
# 1. the notification simulators (serve needs an SMS gateway for sign-in codes):
go run ./cmd/loyaltyjam sims -sms-addr 127.0.0.1:18093 -fcm-addr 127.0.0.1:18092 \\
  -smtp-addr 127.0.0.1:12525 -email-http-addr 127.0.0.1:18094 &
# 2. the server, upload limits raised:
export DATABASE_URL='$DATABASE_URL' REDIS_URL='$REDIS_URL' LJ_ENV=development \\
  JWT_SECRET=load-test-secret-0123456789abcdef UPLOADS_PER_HOUR=100000 UPLOADS_PER_DAY=1000000 \\
  PHOTO_DIR=/tmp/lj-load-photos HTTP_ADDR=127.0.0.1:18080 LOG_LEVEL=warn \\
  SMS_GATEWAY_URL=http://127.0.0.1:18093 SMS_API_KEY=load-test
go run ./cmd/loyaltyjam serve &
# 3. the load (sign-in allows 60 attempts per IP per hour: between runs
#    redis-cli -u $REDIS_URL --scan --pattern 'lj:rl:login*' | xargs -r redis-cli -u $REDIS_URL DEL):
go run ./scripts/load -base http://127.0.0.1:18080 -mode healthz -c 16 -n 20000
go run ./scripts/load -base http://127.0.0.1:18080 -mode qr -c 16 -n 3000
go run ./scripts/load -base http://127.0.0.1:18080 -mode photo -c 4 -n 600 -gen 300
go run ./scripts/load -base http://127.0.0.1:18080 -mode photo -c 4 -n 100 -photos /work/shared/testdata/qr/receipts
EOV
