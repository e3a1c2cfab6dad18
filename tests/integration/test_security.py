"""Security over real HTTP, on both databases: tenants are kept apart, keys are secret and die
at once when revoked, credentials are never echoed, and absurd requests are refused cleanly.

Tenants (created with the admin CLI against the server's database):

- ``owner``: the bootstrap key, owner of the default organization, default project;
- ``neighbour``: a plain user with a key in *another project of the same organization*;
- ``member``: a plain user (not an owner) with a key in the *same* default project;
- ``stranger``: the owner of *another organization*.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, select

from ionstack import ids
from ionstack.errors import PayloadTooLarge
from ionstack.store.database import make_engine
from support import spec
from support.server import BOOTSTRAP_KEY, Server, cli, cli_json, submit, wait_for_job

SERVER_WORKERS = 1
# Debug logging: the most the server ever writes, so "never logged" is checked at its widest.
SERVER_ENV = {"IONSTACK_LOG_LEVEL": "debug"}

BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]
QCTRL_SECRET = "qctrl-secret-" + uuid.uuid4().hex
MAX_BODY = 10 * 1024 * 1024
NOT_FOUND = {
    "statusCode": 404,
    "error": "Not Found Error",
    "message": "Resource not found. See https://docs.ionq.com/ for details, "
    "or email support@ionq.co for help.",
}


def _job(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": 100,
        "input": {"gateset": "qis", "qubits": 2, "circuit": BELL},
    }
    body.update(changes)
    return body


def _client(server: Server, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"apiKey {key}"}, timeout=60)


@dataclass
class Tenants:
    server: Server
    keys: dict[str, str]  #: role -> secret
    organization_id: str  #: the owner's organization
    other_organization_id: str
    job_id: str  #: the owner's completed job
    session_id: str  #: the owner's session (with that job)

    def client(self, who: str) -> httpx.Client:
        return _client(self.server, self.keys[who])


@pytest.fixture(scope="module")
def tenants(server: Server) -> Iterator[Tenants]:
    tag = uuid.uuid4().hex[:8]
    neighbour_project = cli_json(server, "projects", "create", f"neighbour-{tag}")
    assert isinstance(neighbour_project, dict)
    cli_json(
        server, "users", "create", f"neighbour-{tag}@lab.example", "--project", f"neighbour-{tag}"
    )
    neighbour = cli_json(
        server,
        "keys",
        "create",
        "--project",
        f"neighbour-{tag}",
        "--user",
        f"neighbour-{tag}@lab.example",
    )
    cli_json(server, "users", "create", f"member-{tag}@lab.example")
    member = cli_json(server, "keys", "create", "--user", f"member-{tag}@lab.example")
    other = cli_json(server, "orgs", "create", f"Other Lab {tag}", "--owner", f"o-{tag}@x.example")
    assert isinstance(other, dict)
    stranger = cli_json(server, "keys", "create", "--org", other["id"])
    assert isinstance(neighbour, dict) and isinstance(member, dict) and isinstance(stranger, dict)
    keys = {
        "owner": BOOTSTRAP_KEY,
        "neighbour": neighbour["key"],
        "member": member["key"],
        "stranger": stranger["key"],
    }
    with _client(server, BOOTSTRAP_KEY) as owner:
        organization_id = owner.get("/sessions").json()["organization_id"]
        session = owner.post("/sessions", json={"backend": "simulator"})
        assert session.status_code == 201, session.text
        noisy = _job(session_id=session.json()["id"], noise={"model": "aria-1", "seed": 7})
        job_id = submit(owner, noisy)
        assert wait_for_job(owner, job_id)["status"] == "completed"
    yield Tenants(
        server=server,
        keys=keys,
        organization_id=organization_id,
        other_organization_id=other["id"],
        job_id=job_id,
        session_id=session.json()["id"],
    )


def _server_logs(server: Server) -> str:
    return "".join(
        p.read_text(errors="replace") for p in sorted(server.log_path.parent.glob("*.log"))
    )


def _database_dump(server: Server) -> str:
    """Every row of every table of the server's database, as text."""
    engine = make_engine(server.env["IONSTACK_DATABASE_URL"], pool_size=1, max_overflow=0)
    try:
        meta = MetaData()
        meta.reflect(engine)
        lines: list[str] = []
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                for row in conn.execute(select(table)):
                    lines.append(f"{table.name}: {row!r}")
        return "\n".join(lines)
    finally:
        engine.dispose()


# --- tenants are kept apart -------------------------------------------------------------------

FOREIGN_READS = [
    "/jobs/{job}",
    "/jobs/{job}/results/probabilities",
    "/jobs/{job}/results/histogram",
    "/jobs/{job}/results/shots",
    "/jobs/{job}/variants/" + str(uuid.uuid4()) + "/results/probabilities",
    "/jobs/{job}/circuits/native",
    "/jobs/{job}/circuits/qasm3",
    "/jobs/{job}/cost",
    "/jobs/{job}/artifacts/{native}",
    "/sessions/{session}",
    "/sessions/{session}/jobs",
]


@pytest.mark.parametrize("who", ["neighbour", "stranger"])
@pytest.mark.parametrize("path", FOREIGN_READS)
def test_another_projects_resources_are_404(tenants: Tenants, who: str, path: str) -> None:
    native = uuid.uuid5(uuid.UUID(tenants.job_id), "ionq.native.v1")  # its compiled circuit
    url = path.format(job=tenants.job_id, session=tenants.session_id, native=native)
    if "/variants/" not in url:  # (no such variant: 404 for everyone)
        with tenants.client("owner") as owner:
            assert owner.get(url).status_code == 200  # it exists, for its own project
    with tenants.client(who) as intruder:
        response = intruder.get(url)
    assert response.status_code == 404, response.text
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("who", ["neighbour", "stranger"])
def test_another_projects_jobs_and_sessions_are_not_listed(tenants: Tenants, who: str) -> None:
    with tenants.client(who) as intruder:
        listed = intruder.get("/jobs", params={"limit": 100}).json()["jobs"]
        by_id = intruder.get("/jobs", params={"ids": [tenants.job_id]}).json()["jobs"]
        by_session = intruder.get("/jobs", params={"session_id": tenants.session_id}).json()
        sessions = intruder.get("/sessions").json()["sessions"]
    assert tenants.job_id not in {j["id"] for j in listed}
    assert by_id == []
    assert by_session["jobs"] == []
    assert tenants.session_id not in {s["id"] for s in sessions}


@pytest.mark.parametrize("who", ["neighbour", "stranger"])
def test_another_projects_jobs_and_sessions_cannot_be_changed(tenants: Tenants, who: str) -> None:
    job, session = tenants.job_id, tenants.session_id
    with tenants.client(who) as intruder:
        assert intruder.put(f"/jobs/{job}/status/cancel").status_code == 404
        assert intruder.delete(f"/jobs/{job}").status_code == 404
        assert intruder.post(f"/jobs/{job}/clone", json={}).status_code == 404
        assert intruder.post(f"/jobs/{job}/move", json={}).status_code == 404
        bulk_cancel = intruder.put("/jobs/status/cancel", json={"ids": [job]})
        bulk_delete = intruder.request("DELETE", "/jobs", json={"ids": [job]})
        assert intruder.post(f"/sessions/{session}/end").status_code == 404
        joined = intruder.post("/jobs", json=_job(session_id=session))
    assert bulk_cancel.status_code == 200 and bulk_cancel.json()["ids"] == []
    assert bulk_delete.status_code == 200 and bulk_delete.json()["ids"] == []
    assert joined.status_code == 400
    assert joined.json()["validation"]["keys"] == ["session_id"]
    with tenants.client("owner") as owner:
        assert owner.get(f"/jobs/{job}").json()["status"] == "completed"
        assert owner.get(f"/sessions/{session}").json()["status"] != "ended"
        assert owner.get(f"/sessions/{session}/jobs").json()["jobs"][0]["id"] == job


def test_project_member_sees_the_projects_jobs(tenants: Tenants) -> None:
    # The control for the 404s above: a plain user of the same project does see the job.
    with tenants.client("member") as member:
        assert member.get(f"/jobs/{tenants.job_id}").status_code == 200


def test_usage_is_for_the_organizations_owners_only(tenants: Tenants) -> None:
    query = {
        "start_date": "2026-01-01",
        "end_date": "2027-01-01",
        "group_by": "project",
        "modality": "monthly",
    }
    own = f"/organizations/{tenants.organization_id}/usage"
    with tenants.client("owner") as owner:
        assert owner.get(own, params=query).status_code == 200
    for who in ("member", "neighbour"):
        with tenants.client(who) as user:
            response = user.get(own, params=query)
        assert response.status_code == 403, (who, response.text)
        spec.validate(response.json(), spec.schema("Error"))
        assert response.json()["error"] == "Forbidden"
    with tenants.client("stranger") as stranger:
        response = stranger.get(own, params=query)
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
        mine = stranger.get(f"/organizations/{tenants.other_organization_id}/usage", params=query)
        assert mine.status_code == 200
    with tenants.client("owner") as owner:
        theirs = f"/organizations/{tenants.other_organization_id}/usage"
        assert owner.get(theirs, params=query).status_code == 404


# --- keys -----------------------------------------------------------------------------------


def test_revoked_key_is_refused_at_once_by_every_api_process(
    tenants: Tenants, tmp_path: Path
) -> None:
    server = tenants.server
    made = cli_json(server, "keys", "create", "--name", "to-revoke")
    assert isinstance(made, dict)
    tenants.keys["revoked"] = made["key"]
    second = Server(env=server.env, log_path=tmp_path / "second-api.log", workers=0).start()
    try:
        headers = {"Authorization": f"apiKey {made['key']}"}
        for api in (server, second):
            assert httpx.get(f"{api.url}/whoami", headers=headers).status_code == 200
        with _client(second, made["key"]) as warm:  # a kept-alive connection, a used key
            assert warm.get("/jobs").status_code == 200
            cli(server, "keys", "revoke", made["id"])
            for api in (server, second):
                for method, path, body in (
                    ("GET", "/whoami", None),
                    ("GET", "/jobs", None),
                    ("GET", f"/jobs/{tenants.job_id}", None),
                    ("POST", "/jobs", _job()),
                    ("POST", "/sessions", {"backend": "simulator"}),
                ):
                    response = httpx.request(method, f"{api.url}{path}", headers=headers, json=body)
                    assert response.status_code == 401, (api.port, method, path, response.text)
                    assert response.json()["error"] == "Unauthorized Error"
            assert warm.get("/jobs").status_code == 401
    finally:
        second.stop()


def test_keys_are_never_stored_in_clear(tenants: Tenants) -> None:
    dump = _database_dump(tenants.server)
    assert "api_keys" in dump  # the dump does cover the keys table
    for who, key in tenants.keys.items():
        assert ids.hash_key(key) in dump, who  # stored, as its hash
        assert key not in dump, f"the {who} key is in the database in clear"
        assert key[len(ids.KEY_PREFIX) :] not in dump, who


def test_keys_are_never_logged(tenants: Tenants) -> None:
    wrong = "isk_" + uuid.uuid4().hex  # an unknown key: refused, and not logged either
    with _client(tenants.server, wrong) as bad:
        assert bad.get("/whoami").status_code == 401
        assert bad.post("/jobs", json=_job()).status_code == 401
    with tenants.client("owner") as owner:
        assert owner.post("/jobs", json={"type": "nope"}).status_code == 400
    logs = _server_logs(tenants.server)
    assert "serving" in logs  # the log file is the server's
    for who, key in {**tenants.keys, "wrong": wrong}.items():
        assert key not in logs, f"the {who} key appears in the server's log"
        assert key[len(ids.KEY_PREFIX) :] not in logs, who


# --- credentials in job bodies ----------------------------------------------------------------

QCTRL_JOB: dict[str, Any] = {
    "type": "qctrl.qaoa.v1",
    "backend": "simulator",
    "shots": 100,
    "input": {
        "problem_type": "maxcut",
        "problem": {
            "directed": False,
            "multigraph": False,
            "graph": [],
            "nodes": [{"id": 0}, {"id": 1}, {"id": 2}],
            "adjacency": [[{"id": 1}, {"id": 2}], [{"id": 0}, {"id": 2}], [{"id": 0}, {"id": 1}]],
        },
    },
    "external_settings": {"api_credentials": QCTRL_SECRET, "external_organization": "lab"},
}


def test_external_settings_credentials_are_never_echoed_stored_or_logged(
    tenants: Tenants,
) -> None:
    seen: list[str] = []
    with tenants.client("owner") as owner:
        created = owner.post("/jobs", json=QCTRL_JOB)
        assert created.status_code == 201, created.text
        seen.append(created.text)
        job_id = created.json()["id"]
        job = wait_for_job(owner, job_id)
        assert job["status"] == "completed", job
        settings = job["settings"]
        assert isinstance(settings, dict)
        assert settings["external_settings"] == {"external_organization": "lab"}
        for path in ("", "?include=input", "/results/probabilities", "/cost"):
            seen.append(owner.get(f"/jobs/{job_id}{path}").text)
        seen.append(owner.get("/jobs", params={"limit": 100}).text)
        # Refused bodies do not quote the credential back either.
        for body in (
            {**_job(), "external_settings": QCTRL_JOB["external_settings"]},
            {**QCTRL_JOB, "external_settings": {"api_credentials": {"key": QCTRL_SECRET}}},
            {**QCTRL_JOB, "shots": 10**9},
        ):
            refused = owner.post("/jobs", json=body)
            assert refused.status_code == 400, refused.text
            seen.append(refused.text)
    for text in seen:
        assert QCTRL_SECRET not in text
    assert QCTRL_SECRET not in _server_logs(tenants.server)
    assert QCTRL_SECRET not in _database_dump(tenants.server)


# --- absurd requests --------------------------------------------------------------------------


def _healthy(server: Server) -> None:
    assert httpx.get(f"{server.root}/health").status_code == 200
    with _client(server, BOOTSTRAP_KEY) as owner:
        job_id = submit(owner, _job())
        assert wait_for_job(owner, job_id)["status"] == "completed"


def _peak_rss_bytes(server: Server) -> int:
    """The API process's peak resident memory (``VmHWM``), from /proc."""
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_bodies_over_the_limit_are_413_in_the_spec_body(tenants: Tenants) -> None:
    server = tenants.server
    expected = PayloadTooLarge().body()
    over = b"x" * (MAX_BODY + 1)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(11):
            yield b" " * (1024 * 1024)

    with tenants.client("owner") as owner, httpx.Client(base_url=server.url) as anonymous:
        for response in (
            owner.post("/jobs", content=over),
            owner.post("/sessions", content=over),
            owner.put("/jobs/status/cancel", content=over),
            anonymous.post("/jobs", content=over),  # before authentication
            owner.post("/jobs", content=chunks()),
        ):
            assert response.status_code == 413, response.text
            assert response.json() == expected
            spec.validate(response.json(), spec.schema("Error"))
    _healthy(server)


def test_a_circuit_just_under_the_body_limit_is_refused_cleanly(tenants: Tenants) -> None:
    server = tenants.server
    gate = b'{"gate":"x","target":0}'
    head = b'{"type":"ionq.circuit.v1","backend":"simulator","input":{"qubits":1,"circuit":['
    count = (MAX_BODY - len(head) - 8) // (len(gate) + 1)
    body = head + b",".join([gate] * count) + b"]}}"
    assert len(body) <= MAX_BODY and count > 400_000
    with tenants.client("owner") as owner:
        response = owner.post("/jobs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["validation"] == {"source": "payload", "keys": ["input"]}
    assert f"({count} given)" in response.json()["message"]
    # Parsing ~10 MB of JSON costs memory, but bounded: far from exhausting the machine.
    assert _peak_rss_bytes(server) < 1024**3
    _healthy(server)


@pytest.mark.parametrize("shots", [10**12, 10**30, 2**31, 0, -1])
def test_absurd_shots_are_400(tenants: Tenants, shots: int) -> None:
    with tenants.client("owner") as owner:
        for backend in ("simulator", "qpu.aria-1"):
            response = owner.post("/jobs", json=_job(backend=backend, shots=shots))
            assert response.status_code == 400, response.text
            assert response.json()["validation"] == {"source": "payload", "keys": ["shots"]}
        estimate = owner.get(
            "/jobs/estimate",
            params={"backend": "qpu.aria-1", "shots": shots, "1q_gates": 1, "2q_gates": 1},
        )
        assert estimate.status_code == 400
        assert "shots" in estimate.json()["validation"]["keys"]


@pytest.mark.parametrize("qubits", [10**9, 2**31 - 1, 10**30])
@pytest.mark.parametrize("backend", ["simulator", "qpu.aria-1"])
def test_absurd_qubit_counts_fail_the_job_without_allocating(
    tenants: Tenants, qubits: int, backend: str
) -> None:
    # A qubit count is a circuit property: the job is created and fails NotEnoughQubits
    # (semantics.md §5.3), checked before any state vector exists.
    body = _job(backend=backend, input={"qubits": qubits, "circuit": [{"gate": "h", "target": 0}]})
    with tenants.client("owner") as owner:
        job = wait_for_job(owner, submit(owner, body))
    assert job["status"] == "failed"
    assert isinstance(job["failure"], dict) and job["failure"]["code"] == "NotEnoughQubits"
    _healthy(tenants.server)


def test_too_many_circuits_or_gates_are_400(tenants: Tenants) -> None:
    one = {"circuit": [{"gate": "x", "target": 0}]}
    many_circuits = {"gateset": "qis", "qubits": 1, "circuits": [one] * 5001}
    many_gates = {
        "gateset": "qis",
        "qubits": 1,
        "circuits": [{"circuit": [one["circuit"][0]] * 50_001}] * 3,
    }
    with tenants.client("owner") as owner:
        for inp, key in ((many_circuits, "input.circuits"), (many_gates, "input")):
            response = owner.post("/jobs", json=_job(type="ionq.multi-circuit.v1", input=inp))
            assert response.status_code == 400, response.text
            assert response.json()["validation"]["keys"] == [key]


def test_deeply_nested_json_is_400_not_500(tenants: Tenants) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    nested_settings = (
        '{"type":"ionq.circuit.v1","backend":"simulator","settings":{"compilation":{"x":%s}},'
        '"input":{"qubits":1,"circuit":[{"gate":"h","target":0}]}}'
    )
    with tenants.client("owner") as owner:
        for method, path in (
            ("POST", "/jobs"),
            ("POST", "/sessions"),
            ("PUT", "/jobs/status/cancel"),
            ("DELETE", "/jobs"),
        ):
            response = owner.request(method, path, content=deep)
            assert response.status_code == 400, (path, response.text)
            spec.validate(response.json(), spec.schema("Error"))
        response = owner.post("/jobs", content=nested_settings % deep)
        assert response.status_code == 400
        # Moderate nesting in a free-form object is stored, run and echoed on both databases.
        moderate = "[" * 200 + "]" * 200
        job_id = submit_raw(owner, nested_settings % moderate)
        assert wait_for_job(owner, job_id)["status"] == "completed"
    _healthy(tenants.server)


def submit_raw(client: httpx.Client, body: str) -> str:
    response = client.post("/jobs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id
