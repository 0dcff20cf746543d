#!/usr/bin/env python3
"""Zero oversell across processes: two `o2o serve` processes share one PostgreSQL database (the
server O2O_TEST_POSTGRES_URL names; a fresh database is made and dropped). 100 units of one SKU
are received at a store, then 200 requests reserving one unit each go to the two servers at once.
Checks: exactly 100 answered 201 and 100 answered 409 insufficient-stock, the store's balance is
100 reserved of 100, retries of a key never reserve twice, and `o2o inventory verify` agrees.
Prints `oversell-smoke: N passed, M failed`."""
import argparse, concurrent.futures, json, os, socket, subprocess, sys, time, urllib.parse, uuid
from o2o_http import call

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--stock", type=int, default=100)
    a = ap.parse_args()
    server = os.environ.get("O2O_TEST_POSTGRES_URL")
    if not server:
        print("O2O_TEST_POSTGRES_URL is not set (run through scripts/with-postgres.sh)")
        print("oversell-smoke: 0 passed, 1 failed"); return 1
    name = "o2o_oversell_" + uuid.uuid4().hex[:10]
    subprocess.run(["psql", server, "-qc", f"CREATE DATABASE {name}"], check=True)
    url = urllib.parse.urlunparse(urllib.parse.urlparse(server)._replace(path="/" + name))
    env = dict(os.environ, O2O_DEMO_PASSWORD="oversell-pass-1", O2O_LOG_LEVEL="warning")
    procs, failures, passed = [], [], 0
    def check(ok, what):
        nonlocal passed
        if ok: passed += 1
        else: failures.append(what)
    try:
        subprocess.run([a.bin, "demo", "--db", url], env=env, check=True, stdout=subprocess.DEVNULL)
        bases = []
        for _ in range(2):
            port = free_port()
            procs.append(subprocess.Popen([a.bin, "serve", "--db", url, "--port", str(port)], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            for _ in range(300):
                try:
                    if call(base, "GET", "/health")[0] == 200: break
                except OSError: pass
                time.sleep(0.1)
        status, body = call(bases[0], "POST", "/api/v1/auth/login", body={"username": "ops", "password": "oversell-pass-1"})
        token = json.loads(body)["token"]
        store = json.loads(call(bases[0], "GET", "/api/v1/locations?kind=store&limit=1", token)[1])["items"][0]["id"]
        sku = json.loads(call(bases[0], "GET", "/api/v1/skus?limit=1", token)[1])["items"][0]["id"]
        # A SKU the demo did not stock at this store starts from zero; top it up to exactly --stock.
        have = json.loads(call(bases[0], "GET", f"/api/v1/inventory/balances?sku={sku}&locationId={store}", token)[1])["items"]
        on_hand = have[0]["onHand"] if have else 0
        reserved = have[0]["reserved"] if have else 0
        check(reserved == 0, f"fresh store reserves nothing ({reserved})")
        if on_hand < a.stock:
            s, b = call(bases[0], "POST", "/api/v1/inventory/movements", token,
                        {"locationId": store, "kind": "receipt", "lines": [{"sku": sku, "quantity": a.stock - on_hand}]})
            check(s == 201, f"receipt: {s} {b[:200]}")
        # The demo keeps one unit back everywhere; this run sells every unit.
        s, b = call(bases[1], "POST", "/api/v1/inventory/safety-stock", token, {"quantity": 0})
        check(s == 200, f"safety stock: {s} {b[:200]}")
        run = uuid.uuid4().hex[:6]
        def reserve(i):
            body = {"reference": {"type": "order", "id": f"OS-{run}-{i}"}, "lines": [{"sku": sku, "locationId": store, "quantity": 1}]}
            return i, call(bases[i % 2], "POST", "/api/v1/inventory/reservations", token, body, key=f"os-{run}-{i}")
        with concurrent.futures.ThreadPoolExecutor(64) as pool:
            results = [f.result() for f in [pool.submit(reserve, i) for i in range(a.requests)]]
            statuses = [s for _, (s, _) in results]
            ok = statuses.count(201); short = statuses.count(409)
            check(ok == a.stock, f"{ok} reservations succeeded, expected {a.stock}")
            check(short == a.requests - a.stock, f"{short} answered 409, expected {a.requests - a.stock}")
            check(all(s in (201, 409) for s in statuses), f"other statuses: {sorted(set(statuses))}")
            check(all("insufficient-stock" in b for _, (s, b) in results if s == 409), "409 without insufficient-stock")
            # Retries of successful keys, sent to the other server, replay and reserve nothing more.
            won = [i for i, (s, _) in results if s == 201][:20]
            def retry(i):
                body = {"reference": {"type": "order", "id": f"OS-{run}-{i}"}, "lines": [{"sku": sku, "locationId": store, "quantity": 1}]}
                return call(bases[(i + 1) % 2], "POST", "/api/v1/inventory/reservations", token, body, key=f"os-{run}-{i}")
            retries = list(pool.map(retry, won))
            check(all(s == 201 for s, _ in retries), f"retries: {[s for s, _ in retries]}")
        bal = json.loads(call(bases[0], "GET", f"/api/v1/inventory/balances?sku={sku}&locationId={store}", token)[1])["items"][0]
        check(bal["onHand"] == a.stock and bal["reserved"] == a.stock and bal["available"] == 0, f"balance {bal}")
        for p in procs: p.terminate()
        for p in procs: p.wait(timeout=30)
        v = subprocess.run([a.bin, "inventory", "verify", "--db", url], env=env, capture_output=True, text=True)
        check(v.returncode == 0, f"inventory verify: {v.stdout[-500:]}")
    finally:
        for p in procs:
            if p.poll() is None: p.kill()
        subprocess.run(["psql", server, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False)
    for f in failures: print("FAIL", f)
    print(f"oversell-smoke: {passed} passed, {len(failures)} failed")
    return 1 if failures else 0

if __name__ == "__main__":
    sys.exit(main())
