"""The foundation over real HTTP: auth, errors, backends and characterizations."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
import pytest

from support import spec
from support.server import BOOTSTRAP_KEY, Server, cli, cli_json

UNAUTHORIZED = {
    "statusCode": 401,
    "error": "Unauthorized Error",
    "message": "Invalid key provided. See https://docs.ionq.com/#authentication for details, "
    "or email support@ionq.co for help.",
}


def test_health(server: Server) -> None:
    response = httpx.get(f"{server.root}/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_whoami_returns_the_key_and_project(client: httpx.Client) -> None:
    response = client.get("/whoami")
    assert response.status_code == 200
    body = response.json()
    spec.validate(body, spec.response_schema("/whoami"))
    assert body["key_name"] == "bootstrap"
    uuid.UUID(body["key_id"])
    uuid.UUID(body["project_id"])


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "apiKey"},
        {"Authorization": "Bearer " + BOOTSTRAP_KEY},
        {"Authorization": "apiKey not-a-real-key"},
        {"Authorization": "apiKey \u00e9\u00e9".encode("latin-1")},  # type: ignore[dict-item]
    ],
    ids=["missing", "empty-key", "wrong-scheme", "unknown-key", "non-ascii"],
)
def test_bad_keys_get_401_in_the_spec_body(
    anonymous: httpx.Client, headers: dict[str, str]
) -> None:
    response = anonymous.get("/whoami", headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    spec.validate(response.json(), spec.schema("Error"))


def test_created_key_works_and_revoked_key_is_refused_at_once(server: Server) -> None:
    project = cli_json(server, "projects", "create", f"proj-{uuid.uuid4().hex[:8]}")
    assert isinstance(project, dict)
    made = cli_json(server, "keys", "create", "--project", project["name"], "--name", "ci")
    assert isinstance(made, dict)
    headers = {"Authorization": f"apiKey {made['key']}"}
    whoami = httpx.get(f"{server.url}/whoami", headers=headers).json()
    assert whoami == {"key_id": made["id"], "key_name": "ci", "project_id": project["id"]}
    listed = cli_json(server, "keys", "list")
    assert isinstance(listed, list)
    assert made["key"] not in str(listed)  # listings never show secrets
    assert any(row["id"] == made["id"] for row in listed)
    cli(server, "keys", "revoke", made["id"])
    assert httpx.get(f"{server.url}/whoami", headers=headers).status_code == 401


def test_plain_key_create_prints_only_the_key(server: Server) -> None:
    key = cli(server, "keys", "create").strip()
    assert key.startswith("isk_") and "\n" not in key
    response = httpx.get(f"{server.url}/whoami", headers={"Authorization": f"apiKey {key}"})
    assert response.status_code == 200


def test_backends_listing_needs_no_key_and_matches_the_spec(anonymous: httpx.Client) -> None:
    response = anonymous.get("/backends")
    assert response.status_code == 200
    body = response.json()
    spec.validate(body, spec.response_schema("/backends"))
    by_name = {b["backend"]: b for b in body}
    assert by_name["simulator"]["qubits"] == 29
    assert by_name["qpu.aria-2"]["status"] == "retired"
    assert "degraded" not in by_name["qpu.forte-enterprise-1"]
    assert by_name["qpu.aria-1"]["characterization_id"]


@pytest.mark.parametrize("name", ["simulator", "qpu.aria-1", "qpu.forte-1"])
def test_get_backend_without_a_key(anonymous: httpx.Client, name: str) -> None:
    response = anonymous.get(f"/backends/{name}")
    assert response.status_code == 200
    spec.validate(response.json(), spec.response_schema("/backends/{backend}"))
    assert response.json()["backend"] == name


@pytest.mark.parametrize("name", ["qpu.qpu", "qpu", "nope", "qpu.aria-9"])
def test_unknown_backend_is_a_json_404(anonymous: httpx.Client, name: str) -> None:
    response = anonymous.get(f"/backends/{name}")
    assert response.status_code == 404
    spec.validate(response.json(), spec.schema("Error"))
    assert response.json()["statusCode"] == 404


def test_characterizations_page_validates_and_ids_resolve(
    anonymous: httpx.Client, client: httpx.Client
) -> None:
    response = anonymous.get("/backends/qpu.aria-1/characterizations", params={"limit": 2})
    assert response.status_code == 200
    body = response.json()
    spec.validate(body, spec.response_schema("/backends/{backend}/characterizations"))
    assert len(body["characterizations"]) == 2
    assert body["pages"] >= 1
    newest, older = body["characterizations"]
    assert newest["date"] > older["date"]
    assert newest["fidelity"]["spam"]["median"] > 0.99
    assert newest["timing"]["2q"] == pytest.approx(600e-6)
    assert len(newest["connectivity"]) == 25 * 24 // 2
    backend = anonymous.get("/backends/qpu.aria-1").json()
    assert backend["characterization_id"] == newest["id"]
    one = client.get(f"/backends/qpu.aria-1/characterizations/{newest['id']}")
    assert one.status_code == 200
    spec.validate(one.json(), spec.response_schema("/backends/{backend}/characterizations/{UUID}"))
    assert one.json() == newest


def test_characterization_by_id_needs_a_key(anonymous: httpx.Client) -> None:
    newest = anonymous.get("/backends/qpu.forte-1").json()["characterization_id"]
    assert anonymous.get(f"/backends/qpu.forte-1/characterizations/{newest}").status_code == 401


def test_characterization_of_another_backend_or_absent_is_404(client: httpx.Client) -> None:
    aria = client.get("/backends/qpu.aria-1").json()["characterization_id"]
    assert client.get(f"/backends/qpu.forte-1/characterizations/{aria}").status_code == 404
    absent = uuid.uuid4()
    assert client.get(f"/backends/qpu.aria-1/characterizations/{absent}").status_code == 404


def test_malformed_characterization_id_is_400(client: httpx.Client) -> None:
    response = client.get("/backends/qpu.aria-1/characterizations/not-a-uuid")
    assert response.status_code == 400
    assert response.json()["validation"] == {"source": "params", "keys": ["UUID"]}


def test_simulator_has_no_characterizations(anonymous: httpx.Client) -> None:
    response = anonymous.get("/backends/simulator/characterizations")
    assert response.json() == {"characterizations": [], "pages": 0}


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 11}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"page": 0}, "page"),
        ({"start": "yesterday"}, "start"),
        ({"end": "2026-13-45"}, "end"),
    ],
    ids=["limit-0", "limit-11", "limit-text", "page-0", "start-junk", "end-junk"],
)
def test_bad_pagination_is_400_from_query(
    anonymous: httpx.Client, params: dict[str, object], key: str
) -> None:
    response = anonymous.get("/backends/qpu.aria-1/characterizations", params=params)
    assert response.status_code == 400
    body = response.json()
    spec.validate(body, spec.schema("BadRequestError"))
    assert body["validation"] == {"source": "query", "keys": [key]}


def test_date_window_filters(anonymous: httpx.Client) -> None:
    page = anonymous.get("/backends/qpu.aria-1/characterizations", params={"limit": 10}).json()
    dates = [c["date"][:10] for c in page["characterizations"]]
    window = anonymous.get(
        "/backends/qpu.aria-1/characterizations",
        params={"start": dates[4], "end": dates[1]},
    ).json()
    assert [c["date"][:10] for c in window["characterizations"]] == dates[2:5]


def test_unknown_route_and_wrong_method(client: httpx.Client) -> None:
    missing = client.get("/no/such/thing")
    assert missing.status_code == 404
    assert missing.json()["error"] == "Not Found Error"
    wrong = client.delete("/backends")
    assert wrong.status_code == 405
    assert wrong.json()["statusCode"] == 405


def test_oversized_body_is_413_and_server_stays_healthy(
    client: httpx.Client, server: Server
) -> None:
    response = client.post("/whoami", content=b"x" * (10 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.json()["error"] == "Request Entity Too Large"
    assert httpx.get(f"{server.root}/health").status_code == 200


def test_every_response_carries_a_request_id(client: httpx.Client, anonymous: httpx.Client) -> None:
    for response in (
        client.get("/whoami"),
        anonymous.get("/whoami"),
        client.get("/nope"),
        anonymous.get("/backends"),
    ):
        assert response.headers.get("x-request-id")
    echoed = client.get("/whoami", headers={"x-request-id": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"


def test_docs_and_openapi_are_served(server: Server) -> None:
    assert httpx.get(f"{server.root}/docs").status_code == 200
    schema = httpx.get(f"{server.root}/openapi.json").json()
    assert "/v0.4/whoami" in schema["paths"]


def test_characterization_ids_are_stable_across_restarts(server: Server) -> None:
    before = httpx.get(f"{server.url}/backends/qpu.aria-1/characterizations").json()
    server.restart()
    after = httpx.get(f"{server.url}/backends/qpu.aria-1/characterizations").json()
    assert [c["id"] for c in after["characterizations"]] == [
        c["id"] for c in before["characterizations"]
    ]
    response = httpx.get(
        f"{server.url}/whoami", headers={"Authorization": f"apiKey {BOOTSTRAP_KEY}"}
    )
    assert response.status_code == 200


def test_absurd_page_numbers_are_empty_pages(anonymous: httpx.Client) -> None:
    response = anonymous.get(
        "/backends/qpu.aria-1/characterizations", params={"page": 25241888272678563872768}
    )
    assert response.status_code == 200
    assert response.json() == {"characterizations": [], "pages": 0}


def test_legacy_characterization_paths(client: httpx.Client, anonymous: httpx.Client) -> None:
    """The v0.3-style paths the ionq SDK and cirq-ionq read (clients.md §2, §5): same data as
    v0.4's characterizations, in the legacy shapes; outside the published OpenAPI document."""
    newest = client.get("/backends/qpu.aria-1/characterizations", params={"limit": 1}).json()
    v04 = newest["characterizations"][0]
    current = client.get("/characterizations/backends/qpu.aria-1/current").json()
    assert current["id"] == v04["id"] and current["qubits"] == v04["qubits"]
    midnight = datetime.fromisoformat(v04["date"].replace("Z", "+00:00"))
    assert current["date"] == int(midnight.timestamp())
    assert current["fidelity"]["2q"]["mean"] == v04["fidelity"]["2q"]["median"]
    by_id = client.get(f"/characterizations/{v04['id']}").json()
    assert by_id == current
    assert anonymous.get(f"/characterizations/{v04['id']}").status_code == 401
    calibration = client.get("/calibrations/current").json()
    assert calibration["target"] == "qpu.aria-1" and calibration["date"] == v04["date"]
    day_ms = int(midnight.timestamp() * 1000)
    window = client.get("/calibrations", params={"start": day_ms - 86_400_000, "end": day_ms + 1})
    assert [c["date"] for c in window.json()["calibrations"]] == [
        v04["date"],
        (midnight - timedelta(days=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    ]
    assert "next" not in window.json()  # cirq pages until `next` is absent
    bad = client.get("/calibrations", params={"start": "yesterday"})
    assert bad.status_code == 400 and bad.json()["validation"]["keys"] == ["start"]
    assert client.get("/characterizations/backends/qpu.nope/current").status_code == 404
