#!/usr/bin/env bash
# Browser smoke test: start a built `o2o` server with demo data and drive its
# console with headless Chromium (Tests/browser/smoke.py).
#
#   scripts/browser-smoke.sh [path/to/o2o]        (default: .build/debug/o2o)
#
# Needs Debian's chromium + chromium-driver, curl, and python3 with venv
# (apt-get install -y chromium chromium-driver curl python3-venv).
# Environment:
#   O2O_DEMO_PASSWORD   demo users' password (default: o2o-demo-pass)
#   SMOKE_SCREENSHOT    where to save the screenshot (default: in the temp dir)
#   SMOKE_KEEP_TMP=1    keep the temp dir (venv, server log, db) afterwards
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${1:-.build/debug/o2o}"
SMOKE_PY="$ROOT/Tests/browser/smoke.py"

log() { echo "browser-smoke: $*" >&2; }

if [[ ! -x "$BIN" ]]; then
  log "error: server binary '$BIN' not found or not executable (build it with: swift build)"
  exit 2
fi
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
for tool in curl chromium chromedriver; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "error: '$tool' not found (apt-get install -y chromium chromium-driver curl)"
    exit 2
  fi
done

export O2O_DEMO_PASSWORD="${O2O_DEMO_PASSWORD:-o2o-demo-pass}"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/o2o-smoke.XXXXXX")"
SERVER_LOG="$TMP/server.log"
SERVER_PID=""
FAILED=1

# shellcheck disable=SC2317  # called from the EXIT trap
print_server_log() {
  if [[ -s "$SERVER_LOG" ]]; then
    log "---- server log ($SERVER_LOG, last 300 lines) ----"
    tail -n 300 "$SERVER_LOG" >&2
    log "---- end of server log ----"
  fi
}

# shellcheck disable=SC2317  # invoked via trap
cleanup() {
  local rc=$?
  set +e
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      log "server did not stop on TERM; killing it"
      kill -KILL "$SERVER_PID" 2>/dev/null
    fi
    wait "$SERVER_PID" 2>/dev/null
  fi
  if [[ "$rc" -ne 0 || "$FAILED" -ne 0 ]]; then
    print_server_log
    log "failed (exit $rc); temp dir kept for inspection: $TMP"
  elif [[ "${SMOKE_KEEP_TMP:-0}" == 1 ]]; then
    log "temp dir kept: $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- python venv with selenium ------------------------------------------------
make_venv() {
  local py=$1
  rm -rf "$TMP/venv"
  "$py" -m venv "$TMP/venv" >"$TMP/venv.log" 2>&1 && [[ -x "$TMP/venv/bin/python" ]]
}
t0=$(date +%s)
if make_venv python3; then
  :
elif [[ -x /usr/bin/python3 ]] && make_venv /usr/bin/python3; then
  log "note: 'python3 -m venv' failed, used /usr/bin/python3"
else
  cat "$TMP/venv.log" >&2 || true
  log "error: could not create a python venv (apt-get install -y python3-venv)"
  exit 1
fi
PY="$TMP/venv/bin/python"
if ! "$PY" -m pip install -q --disable-pip-version-check selenium >"$TMP/pip.log" 2>&1; then
  cat "$TMP/pip.log" >&2
  log "error: pip install selenium failed"
  exit 1
fi
log "venv ready with selenium $("$PY" -c 'import selenium; print(selenium.__version__)') ($(( $(date +%s) - t0 ))s)"

# --- start the server -----------------------------------------------------------
PORT="$("$PY" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
BASE="http://127.0.0.1:$PORT"

log "starting: $BIN serve --demo --db sqlite:$TMP/smoke.sqlite --host 127.0.0.1 --port $PORT"
"$BIN" serve --demo --db "sqlite:$TMP/smoke.sqlite" --host 127.0.0.1 --port "$PORT" \
  >"$SERVER_LOG" 2>&1 </dev/null &
SERVER_PID=$!

ready=0
for _ in $(seq 1 120); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    wait "$SERVER_PID" && st=0 || st=$?
    log "error: server exited early (status $st)"
    exit 1
  fi
  if curl -fsS -o /dev/null --max-time 2 "$BASE/health" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.5
done
if [[ "$ready" -ne 1 ]]; then
  log "error: server not healthy at $BASE/health after 60s"
  exit 1
fi
log "server healthy at $BASE"

# --- run the smoke test -----------------------------------------------------------
set +e
"$PY" "$SMOKE_PY" --base-url "$BASE" --screenshot "${SMOKE_SCREENSHOT:-$TMP/smoke-locations.png}"
status=$?
set -e
if [[ "$status" -eq 0 ]]; then
  FAILED=0
fi
exit "$status"
