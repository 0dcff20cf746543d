"""The one HTTP call the release smoke tests make: JSON in and out, a bearer token and an
Idempotency-Key when given; answers (status, body text), 4xx and 5xx included."""
import json, urllib.error, urllib.request

def call(base, method, path, token=None, body=None, key=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if key:
        req.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
