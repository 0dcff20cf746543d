#!/usr/bin/env bash
# Checkout benchmark of a release build (durable: SQLite WAL synchronous=FULL; PostgreSQL
# synchronous_commit=on): POST /api/v1/orders — 3 web SKUs at random, delivery to the demo city's
# centre, paid in full through the sandbox (price, route, hold, record, capture, events) — with an
# Idempotency-Key through the full middleware stack at 64 connections (wrk), beside the same use
# case called in process by 64 tasks on the same database (`o2o-bench orders checkout`). Ends with
# `o2o inventory verify` (balance = ledger).
#   scripts/bench-checkout.sh [seconds per run, default 15] [sqlite|postgres, default sqlite]
# O2O_BIN_DIR=DIR runs the binaries in DIR instead of building them. PostgreSQL runs on a
# throwaway durable server (scripts/with-postgres.sh). Needs wrk and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-15}
ENGINE=${2:-sqlite}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
if [ "$ENGINE" = postgres ] && [ -z "${O2O_TEST_POSTGRES_URL:-}" ]; then
  O2O_PG_DURABLE=1 exec scripts/with-postgres.sh "$0" "$DURATION" postgres
fi

BIN_DIR=${O2O_BIN_DIR:-}
if [ -z "$BIN_DIR" ]; then
  swift build -c release --product o2o >&2
  swift build -c release --product o2o-bench >&2
  BIN_DIR=$(swift build -c release --show-bin-path)
fi
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
export O2O_DEMO_PASSWORD=bench-password-1 O2O_LOG_LEVEL=warning
if [ "$ENGINE" = postgres ]; then
  NAME=o2o_checkout_bench_$$
  psql "$O2O_TEST_POSTGRES_URL" -qc "CREATE DATABASE $NAME" >/dev/null
  DB="${O2O_TEST_POSTGRES_URL%/*}/$NAME"
else
  DB="sqlite:$TMP/bench.sqlite"
fi
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

"$BIN_DIR/o2o-bench" orders checkout-prepare --database "$DB" --out "$TMP/skus.txt"

"$BIN_DIR/o2o" serve --db "$DB" --port "$PORT" 2>"$TMP/serve.log" &
PID=$!
until curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; do sleep 0.05; done
BASE="http://127.0.0.1:$PORT"
TOKEN=$(curl -fsS -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"ops\",\"password\":\"$O2O_DEMO_PASSWORD\"}" | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')

{
  echo "local skus = {"
  awk '{printf "{\"%s\",%s},\n", $1, $2}' "$TMP/skus.txt"
  echo "}"
  cat <<LUA
local counter = 0
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
request = function()
  counter = counter + 1
  local a, b, c = skus[math.random(#skus)], skus[math.random(#skus)], skus[math.random(#skus)]
  while b[1] == a[1] do b = skus[math.random(#skus)] end
  while c[1] == a[1] or c[1] == b[1] do c = skus[math.random(#skus)] end
  local total = a[2] + b[2] + c[2]
  local key = string.format("C-%d-%d-%d", RUN, tid or 0, counter)
  local body = '{"channelId":"WEB","method":"delivery","address":{"name":"压测","phone":"+8613800138000","line1":"人民广场 1 号","lat":31.2304,"lng":121.4737},'
    .. '"lines":[{"sku":"' .. a[1] .. '","quantity":1},{"sku":"' .. b[1] .. '","quantity":1},{"sku":"' .. c[1] .. '","quantity":1}],'
    .. '"payments":[{"tender":"sandbox","amount":' .. total .. '}]}'
  return wrk.format("POST", "/api/v1/orders", {
    ["Authorization"] = "Bearer $TOKEN", ["Content-Type"] = "application/json", ["Idempotency-Key"] = key }, body)
end
RUN = $(date +%s)
LUA
} > "$TMP/checkout.lua"

wrk -t2 -c64 -d"${DURATION}s" --latency -s "$TMP/checkout.lua" "$BASE" > "$TMP/http.txt"
echo "== HTTP checkout"; grep -E "Requests/sec|Latency|50%|99%|Non-2xx|Socket errors" "$TMP/http.txt" | sed 's/^/   /'
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=

"$BIN_DIR/o2o-bench" orders checkout --database "$DB" --skus "$TMP/skus.txt" --seconds "$DURATION" | tee "$TMP/raw.txt"
"$BIN_DIR/o2o" inventory verify --db "$DB" | tail -1

h=$(awk '/Requests\/sec/ {print $2}' "$TMP/http.txt")
r=$(sed -E 's/.* = ([0-9]+) \/s.*/\1/' "$TMP/raw.txt")
printf '\ncheckout  HTTP %8s orders/s   in process %8s /s   HTTP/in-process %s%%\n' "$h" "$r" "$(python3 -c "print(round(100*$h/$r,1))")"
if [ "$ENGINE" = postgres ]; then psql "$O2O_TEST_POSTGRES_URL" -qc "DROP DATABASE $NAME WITH (FORCE)" >/dev/null || true; fi
