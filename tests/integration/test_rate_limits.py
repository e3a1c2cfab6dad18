"""Rate limits per key over real HTTP: 429 in the spec body with Retry-After."""

from __future__ import annotations

import uuid

import httpx

from support import spec
from support.server import Server, cli_json

SERVER_WORKERS = 0
SERVER_ENV = {"IONSTACK_RATE_LIMIT": "5/minute"}


def test_a_key_over_its_limit_gets_429_and_others_do_not(
    client: httpx.Client, server: Server
) -> None:
    statuses = [client.get("/whoami").status_code for _ in range(6)]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    refused = client.get("/whoami")
    assert refused.status_code == 429
    spec.validate(refused.json(), spec.schema("Error"))
    assert refused.json()["error"] == "Too Many Requests"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-request-id"]
    # another key has its own budget
    made = cli_json(server, "keys", "create", "--name", f"k-{uuid.uuid4().hex[:6]}")
    other = httpx.get(f"{server.url}/whoami", headers={"Authorization": f"apiKey {made['key']}"})  # type: ignore[index]
    assert other.status_code == 200
    # health checks are never limited
    assert all(httpx.get(f"{server.root}/health").status_code == 200 for _ in range(10))
