#!/usr/bin/env bash
# Reservation benchmark of a release build (durable: SQLite WAL synchronous=FULL; PostgreSQL
# synchronous_commit=on): POST /api/v1/inventory/reservations with an Idempotency-Key through the
# full middleware stack at 64 connections (wrk), for (a) one hot SKU and (b) SKUs drawn uniformly
# from 10,000, beside the same use case called in process by 64 tasks on the same database
# (`o2o-bench inventory reserve`). Ends with `o2o inventory verify` (balance = ledger).
#   scripts/bench-inventory.sh [seconds per run, default 15] [sqlite|postgres, default sqlite]
# O2O_BIN_DIR=DIR runs the binaries in DIR instead of building them. PostgreSQL runs durable
# (O2O_PG_DURABLE=1: fsync and synchronous_commit on).
# PostgreSQL runs on a throwaway server (scripts/with-postgres.sh). Needs wrk and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-15}
ENGINE=${2:-sqlite}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
if [ "$ENGINE" = postgres ] && [ -z "${O2O_TEST_POSTGRES_URL:-}" ]; then
  O2O_PG_DURABLE=1 exec scripts/with-postgres.sh "$0" "$DURATION" postgres
fi

BIN_DIR=${O2O_BIN_DIR:-}
if [ -z "$BIN_DIR" ]; then  # O2O_BIN_DIR=… reuses binaries built before
  swift build -c release --product o2o >&2
  swift build -c release --product o2o-bench >&2
  BIN_DIR=$(swift build -c release --show-bin-path)
fi
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
export O2O_DEMO_PASSWORD=bench-password-1 O2O_LOG_LEVEL=warning
if [ "$ENGINE" = postgres ]; then
  NAME=o2o_inv_bench_$$
  psql "$O2O_TEST_POSTGRES_URL" -qc "CREATE DATABASE $NAME" >/dev/null
  DB="${O2O_TEST_POSTGRES_URL%/*}/$NAME"
else
  DB="sqlite:$TMP/bench.sqlite"
fi
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

"$BIN_DIR/o2o-bench" inventory prepare --database "$DB" --out "$TMP/skus.txt"
WAREHOUSE=$(head -1 "$TMP/skus.txt")
HOT=$(sed -n 2p "$TMP/skus.txt")

"$BIN_DIR/o2o" serve --db "$DB" --port "$PORT" 2>"$TMP/serve.log" &
PID=$!
until curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; do sleep 0.05; done
BASE="http://127.0.0.1:$PORT"
TOKEN=$(curl -fsS -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"ops\",\"password\":\"$O2O_DEMO_PASSWORD\"}" | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')

# One Lua script; MODE picks the SKU per request.
{
  echo "local skus = {"
  tail -n +2 "$TMP/skus.txt" | sed 's/.*/"&",/'
  echo "}"
  cat <<LUA
local counter = 0
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
request = function()
  counter = counter + 1
  local sku = "$HOT"
  if MODE == "uniform" then sku = skus[math.random(#skus)] end
  local key = string.format("R-%s-%d-%d-%d", MODE, RUN, tid or 0, counter)
  local body = '{"reference":{"type":"order","id":"' .. key .. '"},"lines":[{"sku":"' .. sku .. '","locationId":"$WAREHOUSE","quantity":1}]}'
  return wrk.format("POST", "/api/v1/inventory/reservations", {
    ["Authorization"] = "Bearer $TOKEN", ["Content-Type"] = "application/json", ["Idempotency-Key"] = key }, body)
end
RUN = $(date +%s)
LUA
} > "$TMP/reserve.lua"

run() {  # mode
  sed "s/^RUN = /MODE = \"$1\"\nRUN = /" "$TMP/reserve.lua" > "$TMP/reserve-$1.lua"
  wrk -t2 -c64 -d"${DURATION}s" --latency -s "$TMP/reserve-$1.lua" "$BASE" > "$TMP/http-$1.txt"
  echo "== HTTP $1"; grep -E "Requests/sec|Latency|50%|99%|Non-2xx|Socket errors" "$TMP/http-$1.txt" | sed 's/^/   /'
}
run hot
run uniform
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=

"$BIN_DIR/o2o-bench" inventory reserve --database "$DB" --skus "$TMP/skus.txt" --mode hot --seconds "$DURATION" | tee "$TMP/raw-hot.txt"
"$BIN_DIR/o2o-bench" inventory reserve --database "$DB" --skus "$TMP/skus.txt" --mode uniform --seconds "$DURATION" | tee "$TMP/raw-uniform.txt"
"$BIN_DIR/o2o" inventory verify --db "$DB"

rate() { awk '/Requests\/sec/ {print $2}' "$1"; }
raw() { sed -E 's/.* = ([0-9]+) \/s.*/\1/' "$1"; }
echo
for m in hot uniform; do
  h=$(rate "$TMP/http-$m.txt"); r=$(raw "$TMP/raw-$m.txt")
  printf '%-8s HTTP %8s req/s   in process %8s /s   HTTP/in-process %s%%\n' "$m" "$h" "$r" "$(python3 -c "print(round(100*$h/$r,1))")"
done
if [ "$ENGINE" = postgres ]; then psql "$O2O_TEST_POSTGRES_URL" -qc "DROP DATABASE $NAME WITH (FORCE)" >/dev/null || true; fi
