#!/usr/bin/env bash
# Catalog benchmark of a release build, on SQLite and then on PostgreSQL:
#   1. CSV import of 100,000 SKUs (rows/s, peak memory, latency of reads and writes running beside it);
#   2. POST /api/v1/prices/resolve over HTTP with 100 SKUs per request against 500 price lists;
#   3. product search (substring queries, Chinese and Latin) through the service and GET /api/v1/products.
#
#   scripts/bench-catalog.sh [o2o-bench catalog options…]     e.g. --requests 1000, --json
#
# Builds the release binary once; each engine gets a fresh database (a temporary SQLite file; a
# new database on the throwaway server scripts/with-postgres.sh starts), dropped afterwards.
# PostgreSQL needs its server binaries (apt-get install postgresql); without them only SQLite runs.
set -euo pipefail
cd "$(dirname "$0")/.."

swift build -c release --product o2o-bench >&2
BIN="$(swift build -c release --show-bin-path)/o2o-bench"

echo "==================== SQLite ===================="
"$BIN" catalog --engine sqlite "$@"
echo
echo "==================== PostgreSQL ===================="
O2O_PG_DURABLE=1 scripts/with-postgres.sh "$BIN" catalog --engine postgres "$@"
