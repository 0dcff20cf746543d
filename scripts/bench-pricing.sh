#!/usr/bin/env bash
# Cart pricing through the API: POST /api/v1/pricing/carts with a 20-line cart for a member
# holding 10 coupons, against 1,000 active web-shop promotions (scripts/bench_pricing_setup.py
# creates them through the API on the demo), at 16 connections (wrk); prints wrk's latency
# distribution. The in-process figure is `o2o-bench promotions`.
#   scripts/bench-pricing.sh [seconds, default 15] [connections, default 16]
# O2O_BIN_DIR=DIR runs the o2o binary in DIR instead of building it. Needs wrk and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-15}
CONNECTIONS=${2:-16}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
BIN_DIR=${O2O_BIN_DIR:-}
if [ -z "$BIN_DIR" ]; then
  swift build -c release --product o2o >&2
  BIN_DIR=$(swift build -c release --show-bin-path)
fi
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
export O2O_DEMO_PASSWORD=bench-password-1 O2O_LOG_LEVEL=warning
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
"$BIN_DIR/o2o" demo --db "sqlite:$TMP/bench.sqlite" >/dev/null
"$BIN_DIR/o2o" serve --db "sqlite:$TMP/bench.sqlite" --port "$PORT" 2>"$TMP/serve.log" &
PID=$!
until curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; do sleep 0.05; done
BASE="http://127.0.0.1:$PORT"
echo "setting up promotions, a member with 10 coupons and a 20-line cart through the API..." >&2
python3 scripts/bench_pricing_setup.py "$BASE" "$O2O_DEMO_PASSWORD" > "$TMP/cart.json"
TOKEN=$(curl -fsS -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"clerk\",\"password\":\"$O2O_DEMO_PASSWORD\"}" | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
curl -fsS -X POST "$BASE/api/v1/pricing/carts" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  --data @"$TMP/cart.json" | python3 -c '
import sys, json
c = json.load(sys.stdin)
print("cart: %d lines, subtotal %d, total %d; %d applied, %d not applied, %d near misses" % (
    len(c["lines"]), c["subtotal"], c["total"], len(c["applied"]), len(c["notApplied"]), len(c["nearMisses"])))'
python3 - "$TMP/cart.json" "$TOKEN" > "$TMP/pricing.lua" <<'PY'
import json, sys
body = open(sys.argv[1]).read().strip()
print('wrk.method = "POST"')
print('wrk.headers["content-type"] = "application/json"')
print(f'wrk.headers["authorization"] = "Bearer {sys.argv[2]}"')
print(f'wrk.body = {json.dumps(body)}')
print('''done = function(summary, latency, requests)
  io.write(string.format("pricing over HTTP: %d requests, %.1f/s; latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f; non-2xx %d\\n",
    summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, summary.errors.status))
end''')
PY
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$TMP/pricing.lua" "$BASE/api/v1/pricing/carts" | tail -1
