"""Sets up the pricing benchmark through the API of a running demo server: 1,000 active web-shop
promotions of every kind the engine has (spread over categories and SKUs, priorities apart so no
two exclusive ones collide), a member holding 10 coupons, and a 20-line cart of published web
SKUs. Prints the cart request body (JSON) on stdout.

    python3 scripts/bench_pricing_setup.py BASE_URL PASSWORD [PROMOTIONS]
"""
import json
import random
import sys
import urllib.request

BASE, PASSWORD = sys.argv[1], sys.argv[2]
COUNT = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
random.seed(2026)


def call(method, path, body=None, token=None):
    req = urllib.request.Request(BASE + "/api/v1" + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"{}")


token = call("POST", "/auth/login", {"username": "hq_admin", "password": PASSWORD})["token"]
listed = call("GET", "/listings?channelId=WEB&limit=200", token=token)["items"]
skus = [l["skuId"] for l in listed if l["published"]][:200]
categories = sorted({call("GET", "/products/" + call("GET", "/skus/" + s, token=token)["productId"], token=token)["categoryId"]
                     for s in skus[:40]})
when = {"validFrom": "2020-01-01T00:00:00Z", "validTo": "2099-01-01T00:00:00Z"}
kinds = [
    lambda i: {"kind": "percentOff", "percentOff": 1 + i % 30},
    lambda i: {"kind": "amountOff", "amountOff": 100 + i % 500, "perUnit": True},
    lambda i: {"kind": "threshold", "tiers": [{"minimum": 20000 + 1000 * (i % 50), "amountOff": 2000},
                                               {"minimum": 60000 + 1000 * (i % 50), "amountOff": 8000}]},
    lambda i: {"kind": "buyXGetY", "buyQuantity": 2, "getQuantity": 1},
    lambda i: {"kind": "specialPrice", "price": 5000 + i % 5000},
    lambda i: {"kind": "bundlePrice", "quantity": 3, "price": 19900},
    lambda i: {"kind": "freeShipping", "minimum": 9900},
    lambda i: {"kind": "pointsMultiplier", "multiplier": 2},
]
for i in range(COUNT):
    target = {"categoryIds": [random.choice(categories)]} if i % 2 else {"skuIds": random.sample(skus, 5)}
    p = call("POST", "/promotions", {
        "name": f"bench {i}", "when": when, "which": {"target": target}, "what": kinds[i % len(kinds)](i),
        "where": {"channels": ["WEB"]}, "priority": i, "stackGroup": f"g{i % 40}",
    }, token)
    call("POST", f"/promotions/{p['id']}/status", {"status": "active"}, token)

member = call("POST", "/members", {"phone": "+86 139 0000 0001", "channel": "web"}, token)["id"]
template = call("POST", "/coupon-templates", {
    "name": "bench coupon", "benefit": {"kind": "amountOff", "amountOff": 1000}, "conditions": {"minAmount": 10000},
    "validFrom": when["validFrom"], "validTo": when["validTo"], "perMemberLimit": 10}, token)["id"]
for code in call("POST", f"/coupon-templates/{template}/codes", {"count": 10}, token)["codes"]:
    call("POST", "/coupons/claim", {"code": code, "memberId": member}, token)

lines = [{"sku": s, "quantity": 1 + random.randrange(3)} for s in random.sample(skus, 20)]
print(json.dumps({"channelId": "WEB", "memberId": member, "lines": lines}))
