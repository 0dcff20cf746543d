#!/usr/bin/env bash
# Builds the release binary and puts it under concurrent load (Tests/release/load_smoke.py):
# the optimiser has broken code that debug tests passed, so CI runs the shipped build once too.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product o2o
BIN=$(swift build -c release --show-bin-path)/o2o
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
export O2O_DEMO_PASSWORD=${O2O_DEMO_PASSWORD:-o2o-demo-pass}
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
"$BIN" serve --demo --db "sqlite:$TMP/load.sqlite" --port "$PORT" >"$TMP/serve.log" 2>&1 &
PID=$!
for _ in $(seq 1 200); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done
if ! python3 Tests/release/load_smoke.py --base-url "http://127.0.0.1:$PORT" --password "$O2O_DEMO_PASSWORD"; then
  echo "--- server log"; tail -n 200 "$TMP/serve.log"; exit 1
fi
kill -0 "$PID" || { echo "server died"; tail -n 200 "$TMP/serve.log"; exit 1; }
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
# Zero oversell with two server processes on one PostgreSQL database.
scripts/with-postgres.sh python3 Tests/release/oversell.py --bin "$BIN"
