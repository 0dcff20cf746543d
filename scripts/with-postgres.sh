#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL server.
#
#   scripts/with-postgres.sh swift test
#   scripts/with-postgres.sh bash -c 'psql "$O2O_TEST_POSTGRES_URL" -c "select 1"'
#
# Starts a private PostgreSQL cluster (data dir under a mktemp -d directory,
# loopback only, a free port, trust auth, fsync off unless O2O_PG_DURABLE=1), creates the database
# `o2o_test`, exports
#
#   O2O_TEST_POSTGRES_URL=postgres://USER@127.0.0.1:PORT/o2o_test
#
# (USER is `postgres` when run as root, otherwise the current user), runs the
# command, then always stops the server and removes the data directory. The
# script exits with the command's exit status.
#
# The system's own Debian cluster (pg_ctlcluster / port 5432) is neither used
# nor touched. Set PG_BINDIR to force a particular PostgreSQL installation.
set -euo pipefail

# With no stdin at all (fd 0 closed), make it /dev/null before anything can
# open a file as fd 0.
if ! { true 3<&0; } 2>/dev/null; then
  exec </dev/null
fi

if [[ $# -eq 0 ]]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

log() { echo "with-postgres: $*" >&2; }

# --- locate the server binaries -------------------------------------------
find_bindir() {
  local d
  if [[ -n "${PG_BINDIR:-}" ]]; then
    echo "$PG_BINDIR"
    return 0
  fi
  if command -v pg_config >/dev/null 2>&1; then
    d="$(pg_config --bindir 2>/dev/null || true)"
    if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" ]]; then
      echo "$d"
      return 0
    fi
  fi
  # Debian/Ubuntu layout: pick the newest major version.
  d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" ]]; then
    echo "$d"
    return 0
  fi
  # Anything on PATH (Homebrew, source installs, ...).
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  return 1
}

if ! BINDIR="$(find_bindir)" || [[ ! -x "$BINDIR/initdb" ]]; then
  log "error: PostgreSQL server binaries (initdb, pg_ctl) not found."
  log "       install them, e.g.:  apt-get install -y postgresql"
  log "       (or set PG_BINDIR to the directory containing initdb)"
  exit 127
fi

# --- who runs the server ----------------------------------------------------
# initdb refuses to run as root, so as root we run the server as `postgres`.
if [[ "$(id -u)" -eq 0 ]]; then
  PG_USER=postgres
  if ! id -u "$PG_USER" >/dev/null 2>&1; then
    log "error: running as root but there is no 'postgres' system user to run the server as."
    log "       install the Debian package (apt-get install -y postgresql) or run as a normal user."
    exit 1
  fi
  if ! command -v runuser >/dev/null 2>&1; then
    log "error: running as root but 'runuser' (util-linux) is not available."
    exit 1
  fi
  as_pg() { runuser -u "$PG_USER" -- "$@"; }
else
  PG_USER="$(id -un)"
  as_pg() { "$@"; }
fi

# --- temp dir + cleanup -----------------------------------------------------
TOP="$(mktemp -d "${TMPDIR:-/tmp}/o2o-pg.XXXXXX")"
DATA="$TOP/data"
PGLOG="$TOP/postgres.log"
STARTED=0

# shellcheck disable=SC2317  # invoked via trap
cleanup() {
  local rc=$?
  set +e
  if [[ "$STARTED" -eq 1 ]]; then
    (cd "$TOP" && as_pg "$BINDIR/pg_ctl" -D "$DATA" -m immediate -w -t 30 stop >/dev/null 2>&1)
  fi
  rm -rf "$TOP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ "$(id -u)" -eq 0 ]]; then
  chown "$PG_USER" "$TOP"
fi

free_port() {
  local py p
  for py in python3 /usr/bin/python3 python; do
    if command -v "$py" >/dev/null 2>&1; then
      if p="$("$py" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' 2>/dev/null)" && [[ -n "$p" ]]; then
        echo "$p"
        return 0
      fi
    fi
  done
  # Fallback: probe a random high port with bash's /dev/tcp.
  local _
  for _ in $(seq 1 50); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# All server-side commands run from $TOP so that `postgres` never needs
# access to the caller's working directory.
(cd "$TOP" && as_pg "$BINDIR/initdb" -D "$DATA" -A trust -U "$PG_USER" \
    -E UTF8 --locale=C.UTF-8 --no-sync >"$TOP/initdb.log" 2>&1) || {
  log "error: initdb failed:"
  cat "$TOP/initdb.log" >&2
  exit 1
}

# Tests trade durability for speed; benchmarks set O2O_PG_DURABLE=1 for a server that fsyncs
# every commit, as production does.
if [[ "${O2O_PG_DURABLE:-}" == 1 ]]; then
  DURABILITY="-c fsync=on -c full_page_writes=on -c synchronous_commit=on"
else
  DURABILITY="-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
fi

# The test suites run in parallel, each test on its own database with its own pool of up to 8
# connections: more than the default 100 at peak.
MAX_CONNECTIONS="${O2O_PG_MAX_CONNECTIONS:-400}"

# Start; retry with another port if we lost a race for the one we picked.
PORT=""
for attempt in 1 2 3 4 5; do
  PORT="$(free_port)" || { log "error: could not find a free port"; exit 1; }
  if (cd "$TOP" && as_pg "$BINDIR/pg_ctl" -D "$DATA" -l "$PGLOG" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $TOP -c max_connections=$MAX_CONNECTIONS $DURABILITY" \
        start >/dev/null 2>&1); then
    STARTED=1
    break
  fi
  # pg_ctl may have left a half-started server behind; make sure it is gone.
  (cd "$TOP" && as_pg "$BINDIR/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1) || true
  log "start attempt $attempt on port $PORT failed"
done
if [[ "$STARTED" -ne 1 ]]; then
  log "error: could not start PostgreSQL; server log:"
  cat "$PGLOG" >&2 2>/dev/null || true
  exit 1
fi

(cd "$TOP" && as_pg "$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U "$PG_USER" o2o_test) || {
  log "error: createdb o2o_test failed; server log:"
  cat "$PGLOG" >&2 2>/dev/null || true
  exit 1
}

export O2O_TEST_POSTGRES_URL="postgres://${PG_USER}@127.0.0.1:${PORT}/o2o_test"
log "PostgreSQL $("$BINDIR/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$PORT (data: $DATA)"
log "O2O_TEST_POSTGRES_URL=$O2O_TEST_POSTGRES_URL"

# Run the command as a child we can wait for, so that a TERM/INT sent to this
# script is forwarded to it and the server is still cleaned up promptly.
# (Background children of a non-interactive shell ignore SIGINT, so an INT is
# passed on as TERM.)
CHILD=""
# shellcheck disable=SC2317  # invoked via trap
forward() {
  local sig=$1
  if [[ -n "$CHILD" ]]; then
    kill -s "$sig" "$CHILD" 2>/dev/null || true
  fi
}
trap 'forward TERM' TERM
trap 'forward TERM' INT
set +e
# (A background job would otherwise get /dev/null as stdin; pass ours on.)
"$@" <&0 &
CHILD=$!
while :; do
  wait "$CHILD"
  status=$?
  # wait returns >128 when interrupted by a trapped signal; keep waiting
  # until the child has really exited.
  if ! kill -0 "$CHILD" 2>/dev/null; then
    break
  fi
done
set -e
exit "$status"
