#!/usr/bin/env python3
"""Concurrent load against a running o2o server (release build in CI): creates locations with
Idempotency-Keys, replays some keys while the first request may still run, and reads back.
Checks the invariants: every create answered 201 once per key, replays identical, one row per key,
no 5xx, server still healthy. Loopback only. Prints `load-smoke: N passed, M failed`."""
import argparse, concurrent.futures, json, sys, uuid
from o2o_http import call

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--keys", type=int, default=300)
    ap.add_argument("--workers", type=int, default=32)
    a = ap.parse_args()
    status, body = call(a.base_url, "POST", "/api/v1/auth/login", body={"username": "hq_admin", "password": a.password})
    if status != 200:
        print(f"login failed: {status} {body}")
        print("load-smoke: 0 passed, 1 failed")
        return 1
    token = json.loads(body)["token"]
    run = uuid.uuid4().hex[:8]

    def create(i):
        code = f"LOAD-{run}-{i}"
        payload = {"code": code, "name": f"压测门店 {i}", "kind": "store",
                   "address": {"line1": "南京西路 1 号", "provinceCode": "310000", "cityCode": "310100", "districtCode": "310106"},
                   "coordinates": {"lat": 31.2235, "lng": 121.4457}}
        return i, call(a.base_url, "POST", "/api/v1/locations", token, payload, key=code)

    failures = []
    with concurrent.futures.ThreadPoolExecutor(a.workers) as pool:
        # Each key is sent twice at once: one does the work, the other gets the same answer.
        jobs = [pool.submit(create, i) for i in range(a.keys)] + [pool.submit(create, i) for i in range(a.keys)]
        answers = {}
        for f in concurrent.futures.as_completed(jobs):
            i, (status, body) = f.result()
            if status != 201:
                failures.append(f"key {i}: {status} {body[:200]}")
            answers.setdefault(i, []).append(body)
        for i, bodies in answers.items():
            if len(bodies) == 2 and json.loads(bodies[0]).get("id") != json.loads(bodies[1]).get("id"):
                failures.append(f"key {i}: two different records for one key")
        reads = [pool.submit(call, a.base_url, "GET", f"/api/v1/locations?q=LOAD-{run}&limit=200", token) for _ in range(50)]
        for f in reads:
            status, _ = f.result()
            if status != 200:
                failures.append(f"list: {status}")

    found, cursor = 0, None
    while True:
        path = f"/api/v1/locations?q=LOAD-{run}&limit=200" + (f"&cursor={cursor}" if cursor else "")
        status, body = call(a.base_url, "GET", path, token)
        page = json.loads(body)
        found += len(page["items"])
        cursor = page.get("nextCursor")
        if not cursor:
            break
    if found != a.keys:
        failures.append(f"expected {a.keys} locations, found {found}")
    status, _ = call(a.base_url, "GET", "/health")
    if status != 200:
        failures.append(f"/health after load: {status}")
    for f in failures[:20]:
        print("FAIL", f)
    ok = not failures
    print(f"load: {2 * a.keys} creates (each key twice, concurrently), 50 lists, {found} rows")
    print(f"load-smoke: {1 if ok else 0} passed, {0 if ok else 1} failed")
    return 0 if ok else 1

if __name__ == "__main__":
    sys.exit(main())
