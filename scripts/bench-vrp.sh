#!/usr/bin/env bash
# Vehicle-route planner benchmark on CVRPLIB (release build): for each instance, cost, gap to the
# best-known solution and time for O2O's planner, and for PyVRP at the same time limit in the
# same run (installed from PyPI into .venv-bench). Data: ../shared/data/cvrplib beside the repo.
#   scripts/bench-vrp.sh [seconds per instance, default 10] [extra o2o-bench vrp options...]
# e.g. scripts/bench-vrp.sh 10 --filter 'X-n(1[0-4][0-9]|204|251|313|393)-'
# O2O_BIN_DIR=DIR runs the o2o-bench in DIR instead of building it.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-10}
shift || true
DATA=${O2O_SHARED_DATA:-../shared/data}/cvrplib/X
[ -d "$DATA" ] || { echo "no CVRPLIB data at $DATA" >&2; exit 1; }
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install --quiet pyvrp vrplib
fi
BIN_DIR=${O2O_BIN_DIR:-}
if [ -z "$BIN_DIR" ]; then
  swift build -c release --product o2o-bench >&2
  BIN_DIR=$(swift build -c release --show-bin-path)
fi
PATH="$PWD/.venv-bench/bin:$PATH" "$BIN_DIR/o2o-bench" vrp --instances "$DATA" --set X --time-limit "$SECONDS_EACH" --pyvrp "$@"
