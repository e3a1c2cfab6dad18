"""Organization usage over real HTTP: the report, its access rules and its bad queries.

Windows across day, ISO-week and month boundaries are tested with an injected clock in
``tests/store/test_costs_usage_sessions.py``; here jobs complete now, for real.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from support import spec
from support.server import BOOTSTRAP_KEY, Server, cli_json, submit, wait_for_job

SERVER_WORKERS = 1

BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]
ARIA_MINIMUM = 12.4166
USAGE = "/organizations/{organization_id}/usage"


def _job(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": 100,
        "input": {"gateset": "qis", "qubits": 2, "circuit": BELL},
    }
    body.update(changes)
    return body


def _org(client: httpx.Client) -> str:
    org: str = client.get("/sessions").json()["organization_id"]
    return org


def _window() -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {
        "start_date": (today - timedelta(days=1)).isoformat(),
        "end_date": (today + timedelta(days=2)).isoformat(),
    }


@pytest.fixture(scope="module")
def ran(server: Server) -> dict[str, Any]:
    """Jobs of this module: one billed Aria job, one free simulator job, one failed job."""
    with httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"apiKey {BOOTSTRAP_KEY}"},
        timeout=30,
    ) as client:
        aria = wait_for_job(client, submit(client, _job(backend="qpu.aria-1", name="paid")))
        free = wait_for_job(client, submit(client, _job(name="free")))
        broken = _job(
            input={"gateset": "qis", "qubits": 1, "circuit": [{"gate": "h", "target": 5}]}
        )
        failed = wait_for_job(client, submit(client, broken))
        assert (aria["status"], free["status"], failed["status"]) == (
            "completed",
            "completed",
            "failed",
        )
        return {"aria": aria, "free": free, "failed": failed}


@pytest.mark.parametrize("modality", ["daily", "weekly", "monthly"])
@pytest.mark.parametrize("group_by", ["job", "project", "user"])
def test_usage_report(
    client: httpx.Client, ran: dict[str, Any], group_by: str, modality: str
) -> None:
    org = _org(client)
    params = {**_window(), "group_by": group_by, "modality": modality}
    response = client.get(f"/organizations/{org}/usage", params=params)
    assert response.status_code == 200, response.text
    report = response.json()
    spec.validate(report, spec.response_schema(USAGE))
    assert report["organization"] == org
    assert report["group_type"] == group_by and report["modality"] == modality
    assert report["usage_unit"] == "USD"
    assert report["usage_from"] == f"{params['start_date']}T00:00:00Z"
    assert report["usage_to"] == f"{params['end_date']}T00:00:00Z"
    # the module's jobs are in (other modules' servers are other databases)
    assert report["job_count"] >= 2
    assert report["amount_total"] >= ARIA_MINIMUM
    assert report["job_count"] == sum(u["job_count"] for u in report["usage_data"])
    assert report["amount_total"] == pytest.approx(sum(u["amount"] for u in report["usage_data"]))
    froms = [u["from"] for u in report["usage_data"]]
    assert froms == sorted(froms, reverse=True)  # newest first
    for bucket in report["usage_data"]:
        assert len(bucket["group_usages"]) <= 5
        amounts = [g["amount"] for g in bucket["group_usages"]]
        assert amounts == sorted(amounts, reverse=True)
    groups = [g for u in report["usage_data"] for g in u["group_usages"]]
    if group_by == "job":
        ids = {g["group_id"] for g in groups}
        assert ran["aria"]["id"] in ids
        assert ran["failed"]["id"] not in ids  # nothing billed
        paid = next(g for g in groups if g["group_id"] == ran["aria"]["id"])
        assert paid["group_name"] == "paid" and paid["amount"] == ARIA_MINIMUM
        assert paid["job_count"] == 1 and paid["time_us"] > 0
    elif group_by == "project":
        assert "Default Project" in {g["group_name"] for g in groups}
    else:
        assert "owner@localhost" in {g["group_name"] for g in groups}


def test_usage_access(server: Server, client: httpx.Client, ran: dict[str, Any]) -> None:
    org = _org(client)
    params = {**_window(), "group_by": "project", "modality": "daily"}
    # a plain member of the organization: 403
    user = cli_json(
        server,
        "users",
        "create",
        f"u-{uuid.uuid4().hex[:8]}@example.org",
        "--project",
        "Default Project",
    )
    assert isinstance(user, dict)
    key = cli_json(server, "keys", "create", "--user", user["email"], "--name", "u")
    assert isinstance(key, dict)
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"apiKey {key['key']}"}, timeout=30
    ) as member:
        forbidden = member.get(f"/organizations/{org}/usage", params=params)
        assert forbidden.status_code == 403 and forbidden.json()["error"] == "Forbidden"
    # the owner of another organization: 404 for ours, 200 for theirs
    name = f"Other {uuid.uuid4().hex[:8]}"
    other = cli_json(server, "orgs", "create", name, "--owner", f"b-{uuid.uuid4().hex[:8]}@x.org")
    assert isinstance(other, dict)
    their_key = cli_json(server, "keys", "create", "--org", name, "--name", "o")
    assert isinstance(their_key, dict)
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"apiKey {their_key['key']}"}, timeout=30
    ) as foreign:
        assert foreign.get(f"/organizations/{org}/usage", params=params).status_code == 404
        theirs = foreign.get(f"/organizations/{other['id']}/usage", params=params)
        assert theirs.status_code == 200 and theirs.json()["job_count"] == 0
    assert client.get(f"/organizations/{other['id']}/usage", params=params).status_code == 404
    for unknown in (str(uuid.uuid4()), "com.my.org"):
        assert client.get(f"/organizations/{unknown}/usage", params=params).status_code == 404


@pytest.mark.parametrize(
    ("params", "keys"),
    [
        ({"start_date": None}, ["start_date"]),
        ({"end_date": "2026-02-30"}, ["end_date"]),
        ({"start_date": "01/01/2026"}, ["start_date"]),
        ({"start_date": "2026-03-01", "end_date": "2026-02-01"}, ["start_date", "end_date"]),
        ({"group_by": "team"}, ["group_by"]),
        ({"modality": None}, ["modality"]),
        ({"modality": "yearly"}, ["modality"]),
    ],
)
def test_bad_usage_queries(client: httpx.Client, params: dict[str, Any], keys: list[str]) -> None:
    query = {
        "start_date": "2026-01-01",
        "end_date": "2026-02-01",
        "group_by": "job",
        "modality": "daily",
        **params,
    }
    query = {k: v for k, v in query.items() if v is not None}
    response = client.get(f"/organizations/{_org(client)}/usage", params=query)
    assert response.status_code == 400, response.text
    assert response.json()["validation"] == {"source": "query", "keys": keys}


def test_usage_needs_a_key(client: httpx.Client, anonymous: httpx.Client) -> None:
    org = _org(client)
    response = anonymous.get(
        f"/organizations/{org}/usage",
        params={
            "start_date": "2026-01-01",
            "end_date": "2026-02-01",
            "group_by": "job",
            "modality": "daily",
        },
    )
    assert response.status_code == 401
