#!/usr/bin/env python3
"""Solve one CVRPLIB instance with PyVRP and print the result as one JSON object.

Usage: pyvrp_solve.py INSTANCE.vrp SECONDS [SEED [VEHICLES]]

Distances are rounded to the nearest integer (round_func="round"), which is how
CVRPLIB defines EUC_2D costs, so the reported cost compares with the BKS. VEHICLES fixes the fleet size (the classic
sets' k); without it the fleet is unlimited, as the X set defines.
Output: {"cost": int|null, "runtime": seconds, "feasible": bool, "routes": int}
"""
import json
import sys
import time

import pyvrp
from pyvrp.stop import MaxRuntime


def main() -> int:
    if len(sys.argv) < 3:
        print("usage: pyvrp_solve.py INSTANCE.vrp SECONDS [SEED [VEHICLES]]", file=sys.stderr)
        return 2
    path, seconds = sys.argv[1], float(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    data = pyvrp.read(path, round_func="round")
    if len(sys.argv) > 4:
        vehicles = int(sys.argv[4])
        data = data.replace(vehicle_types=[data.vehicle_type(0).replace(num_available=vehicles)])
    started = time.perf_counter()
    result = pyvrp.solve(data, stop=MaxRuntime(seconds), seed=seed, collect_stats=False, display=False)
    runtime = time.perf_counter() - started
    best = result.best
    feasible = bool(best.is_feasible())
    cost = int(round(best.distance())) if feasible else None
    print(json.dumps({"cost": cost, "runtime": runtime, "feasible": feasible, "routes": best.num_routes()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
