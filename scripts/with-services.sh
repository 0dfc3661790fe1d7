#!/usr/bin/env bash
# with-services.sh CMD [ARGS...]
#
# Finds PostgreSQL and Redis for the product and its tests, then runs CMD with
# DATABASE_URL and REDIS_URL exported. In order of preference:
#   1. DATABASE_URL / REDIS_URL already set in the environment;
#   2. a server already answering on the standard local port (5432 / 6379);
#   3. a project-local server under .local/ (git-ignored), started here and
#      installed with apt-get first if the binaries are missing.
# LJ_LOCAL_SERVICES=1 skips step 2 (forces the project-local servers).
#
# --stop (only argument): stop the project-local PostgreSQL and Redis under
# .local/ that an earlier run started (make stop); servers it did not start
# (DATABASE_URL / REDIS_URL, the standard ports) are left alone.
#
# --chromium (first argument): also make sure headless Chromium is installed
# (apt-get), for the dashboard's browser test. When it cannot be installed
# the run goes on and that test skips, saying why.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
local_dir="$root/.local"
db_name=${LJ_DB_NAME:-loyaltyjam}
pg_port=${LJ_PG_PORT:-54329}
redis_port=${LJ_REDIS_PORT:-63799}

local_used=""

say() { printf 'with-services: %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*"; return 1; fi
}

apt_install() {
  say "installing $* with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  # Debian's postinst would start a system cluster; we run our own instead.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && { echo "$d"; return; }
  command -v initdb >/dev/null && dirname "$(command -v initdb)"
}

# pg_trusts PORT: the server there lets user postgres in without a password
# (a stock Debian cluster wants one over TCP: then we run our own). Without
# psql to ask, assume it does and let the connection say otherwise.
pg_trusts() {
  command -v psql >/dev/null || return 0
  if PGCONNECT_TIMEOUT=3 psql -w -q -At "postgres://postgres@127.0.0.1:$1/postgres?sslmode=disable" -c 'select 1' >/dev/null 2>&1; then
    return 0
  fi
  say "the PostgreSQL on 127.0.0.1:$1 does not let user postgres in without a password: using a project-local one"
  return 1
}

start_local_pg() {
  local bin data run log
  bin=$(pg_bin || true)
  if [ -z "$bin" ]; then apt_install postgresql; bin=$(pg_bin); fi
  data="$local_dir/pg/data"; run="$local_dir/pg/run"; log="$local_dir/pg/postgres.log"
  mkdir -p "$local_dir/pg" "$run"
  local runas=()
  if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root: hand the folder to the postgres user.
    id postgres >/dev/null 2>&1 || as_root useradd --system --home-dir "$local_dir/pg" postgres
    chown -R postgres "$local_dir/pg"
    runas=(runuser -u postgres --)
  fi
  if [ ! -s "$data/PG_VERSION" ]; then
    say "creating a PostgreSQL cluster in $data"
    "${runas[@]}" "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! port_open "$pg_port"; then
    say "starting PostgreSQL on 127.0.0.1:$pg_port"
    "${runas[@]}" "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
      -o "-p $pg_port -k $run -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
  fi
  export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/$db_name?sslmode=disable"
  local_used="$local_used PostgreSQL (127.0.0.1:$pg_port)"
}

start_local_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$local_dir/redis"
  if ! port_open "$redis_port"; then
    say "starting Redis on 127.0.0.1:$redis_port"
    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$local_dir/redis" --daemonize yes \
      --logfile "$local_dir/redis/redis.log" --save "" --appendonly no >/dev/null
    for _ in $(seq 50); do port_open "$redis_port" && break; sleep 0.1; done
  fi
  export REDIS_URL="redis://127.0.0.1:$redis_port/0"
  local_used="$local_used Redis (127.0.0.1:$redis_port)"
}

stop_local() {
  local bin data runas=()
  data="$local_dir/pg/data"
  if [ -s "$data/postmaster.pid" ]; then
    bin=$(pg_bin || true)
    [ "$(id -u)" = 0 ] && runas=(runuser -u postgres --)
    if [ -n "$bin" ] && "${runas[@]}" "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null; then
      say "stopped the project-local PostgreSQL ($data)"
    fi
  else
    say "no project-local PostgreSQL running ($data)"
  fi
  if port_open "$redis_port" && [ -d "$local_dir/redis" ] && command -v redis-cli >/dev/null; then
    # Only ours: the one whose working directory is .local/redis.
    if [ "$(redis-cli -p "$redis_port" CONFIG GET dir 2>/dev/null | sed -n 2p)" = "$local_dir/redis" ]; then
      redis-cli -p "$redis_port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
      say "stopped the project-local Redis (127.0.0.1:$redis_port)"
    else
      say "the Redis on 127.0.0.1:$redis_port is not the project-local one: left running"
    fi
  else
    say "no project-local Redis running on 127.0.0.1:$redis_port"
  fi
}

if [ "${1:-}" = --stop ]; then
  stop_local
  exit 0
fi

if [ "${1:-}" = --chromium ]; then
  shift
  if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && ! command -v google-chrome >/dev/null; then
    apt_install chromium || say "could not install chromium: the browser test will skip"
  fi
fi

if [ -z "${DATABASE_URL:-}" ]; then
  if [ "${LJ_LOCAL_SERVICES:-0}" != 1 ] && port_open 5432 && pg_trusts 5432; then
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db_name?sslmode=disable"
  else
    start_local_pg
  fi
fi
if [ -z "${REDIS_URL:-}" ]; then
  if [ "${LJ_LOCAL_SERVICES:-0}" != 1 ] && port_open 6379; then
    export REDIS_URL="redis://127.0.0.1:6379/0"
  else
    start_local_redis
  fi
fi
if [ -n "$local_used" ]; then
  say "the project-local$local_used keep running after this command; stop them with: make stop"
fi
say "DATABASE_URL=$(printf '%s' "$DATABASE_URL" | sed -E 's#//([^:/@]+):[^@]*@#//\1:***@#')"
say "REDIS_URL=$(printf '%s' "$REDIS_URL" | sed -E 's#//:?[^@/]*@#//***@#')"
exec "$@"
