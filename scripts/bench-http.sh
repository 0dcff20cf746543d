#!/usr/bin/env bash
# HTTP benchmark of a release build: requests/s at 64 connections with wrk for the bare /health,
# GET /api/v1/locations/{id} and an authenticated, idempotent POST /api/v1/locations through the
# full middleware stack (durable: SQLite WAL, synchronous=FULL); cold start of `o2o serve` on an
# existing database; peak memory (VmHWM) of the server after the runs.
#   scripts/bench-http.sh [seconds per run, default 15]
# Needs wrk and curl (Debian: apt-get install wrk curl). Sends traffic to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-15}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

swift build -c release --product o2o >&2
BIN=$(swift build -c release --show-bin-path)/o2o
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
export O2O_DEMO_PASSWORD=bench-password-1 O2O_LOG_LEVEL=warning
DB="sqlite:$TMP/bench.sqlite"
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

"$BIN" demo --db "$DB" >/dev/null

# Cold start: from exec to the first successful /health, on the existing database.
start_ns=$(date +%s%N)
"$BIN" serve --db "$DB" --port "$PORT" 2>"$TMP/serve.log" &
PID=$!
until curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; do sleep 0.005; done
cold_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))

BASE="http://127.0.0.1:$PORT"
TOKEN=$(curl -fsS -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"hq_admin\",\"password\":\"$O2O_DEMO_PASSWORD\"}" | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
LOC=$(curl -fsS "$BASE/api/v1/locations?kind=store&limit=1" -H "Authorization: Bearer $TOKEN" | python3 -c 'import sys,json;print(json.load(sys.stdin)["items"][0]["id"])')

cat > "$TMP/get.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
cat > "$TMP/post.lua" <<LUA
local counter = 0
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
request = function()
  counter = counter + 1
  local code = string.format("BENCH-%d-%d-%d", RUN, tid or 0, counter)
  local body = '{"code":"' .. code .. '","name":"压测门店","kind":"store",' ..
    '"address":{"line1":"南京西路 1 号","provinceCode":"310000","cityCode":"310100","districtCode":"310106"},' ..
    '"coordinates":{"lat":31.2235,"lng":121.4457}}'
  return wrk.format("POST", "/api/v1/locations", {
    ["Authorization"] = "Bearer $TOKEN", ["Content-Type"] = "application/json", ["Idempotency-Key"] = code }, body)
end
RUN = $(date +%s)
LUA

rate() { awk '/Requests\/sec/ {print $2}'; }
run() {  # name, wrk args…
  local name=$1; shift
  wrk -t2 -c64 -d"${DURATION}s" --latency "$@" > "$TMP/$name.txt"
  echo "== $name"; grep -E "Requests/sec|Latency|50%|99%|Non-2xx|Socket errors" "$TMP/$name.txt" | sed 's/^/   /'
}
wrk -t2 -c64 -d3s "$BASE/health" >/dev/null  # warm-up
run health "$BASE/health"
run get-location -s "$TMP/get.lua" "$BASE/api/v1/locations/$LOC"
run post-location -s "$TMP/post.lua" "$BASE"

h=$(rate < "$TMP/health.txt"); g=$(rate < "$TMP/get-location.txt"); p=$(rate < "$TMP/post-location.txt")
created=$(curl -fsS "$BASE/metrics" | awk '/^o2o_db_committed_writes/ {print $2}')
batches=$(curl -fsS "$BASE/metrics" | awk '/^o2o_db_group_commits/ {print $2}')
hwm=$(awk '/VmHWM/ {print $2, $3}' /proc/$PID/status)
echo
printf 'bare /health            %10s req/s\n' "$h"
printf 'GET location (auth)     %10s req/s  (%s%% of /health)\n' "$g" "$(python3 -c "print(round(100*$g/$h,1))")"
printf 'POST location (idem.)   %10s req/s  (%s%% of /health)\n' "$p" "$(python3 -c "print(round(100*$p/$h,1))")"
printf 'group commits           %10s for %s writes\n' "${batches:-?}" "${created:-?}"
printf 'cold start              %10s ms\n' "$cold_ms"
printf 'peak memory (VmHWM)     %10s\n' "$hwm"
