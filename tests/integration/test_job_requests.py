"""POST /jobs and the queued-job lifecycle over real HTTP, with no workers running.

Without workers every accepted job stays queued, so these tests see the states before a run:
synchronous 400s versus created-then-failed jobs, idempotency, listing, cancel and delete of
queued jobs, dry runs and compiled circuits, and cross-project isolation.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from support import spec
from support.server import Server, cli_json, submit

SERVER_WORKERS = 0
# nothing runs jobs here: status polls answer at once (held polls: test_held_polls.py)
SERVER_ENV = {"IONSTACK_POLL_HOLD_S": "0"}

BELL = {
    "type": "ionq.circuit.v1",
    "backend": "simulator",
    "shots": 1000,
    "input": {
        "gateset": "qis",
        "qubits": 2,
        "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}],
    },
}


def _with(**changes: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(BELL))
    body.update(changes)
    return body


def _input(circuit: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"gateset": "qis", "circuit": circuit, **extra}


def test_accepted_job_is_201_submitted_and_readable(client: httpx.Client) -> None:
    response = client.post("/jobs", json=BELL)
    assert response.status_code == 201
    body = response.json()
    spec.validate(body, spec.response_schema("/jobs", "post", "201"))
    assert body["status"] == "submitted" and body["session_id"] is None
    job = client.get(f"/jobs/{body['id']}").json()
    spec.validate(job, spec.response_schema("/jobs/{UUID}"))
    assert job["status"] == "ready"
    assert job["results"] is None and job["failure"] is None and job["child_job_ids"] is None
    assert job["stats"]["gate_counts"] == {"1q": 1, "2q": 1}
    assert job["stats"]["qubits"] == 2 and job["stats"]["circuits"] == 1
    assert job["noise"] == {"model": "ideal"}
    assert job["settings"] == {"compilation": {}}
    assert job["submitted_at"].endswith("Z") and job["started_at"] is None


def test_lenient_client_encodings_are_accepted(client: httpx.Client, server: Server) -> None:
    # cirq: string shots, "lang", targets lists, cnot with control; metadata control chars.
    cirq = {
        "backend": "simulator",
        "type": "ionq.circuit.v1",
        "lang": "json",
        "input": {
            "gateset": "qis",
            "qubits": 2,
            "circuit": [{"gate": "h", "targets": [0]}, {"gate": "cnot", "control": 0, "target": 1}],
        },
        "metadata": {"measurement0": "x\u001f0,1", "shots": "1000"},
        "shots": "1000",
    }
    job_id = submit(client, cirq)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["shots"] == 1000
    assert job["metadata"] == {"measurement0": "x\u001f0,1", "shots": "1000"}
    # qiskit: null seed; x with controls.
    qiskit = _with(
        noise={"model": "ideal", "seed": None},
        input=_input(
            [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]
        ),
    )
    assert client.post("/jobs", json=qiskit).status_code == 201
    # pennylane: JSON without a Content-Type header.
    raw = httpx.post(
        f"{server.url}/jobs",
        content=json.dumps(BELL).encode(),
        headers={"Authorization": client.headers["Authorization"]},
    )
    assert raw.status_code == 201


def test_metadata_is_echoed_byte_for_byte(client: httpx.Client) -> None:
    metadata = {
        "qiskit_header": "H4sIAAAAAAAC/" + "A" * 2000 + "==",
        "unicode": "ψ ⟩ \u001e\u001f",
        "json": '{"a": [1, 2]}',
    }
    job_id = submit(client, _with(metadata=metadata, name="echo"))
    job = client.get(f"/jobs/{job_id}").json()
    assert job["metadata"] == metadata and job["name"] == "echo"
    assert list(job["metadata"]) == list(metadata)


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (_with(shots=0), "shots"),
        (_with(shots=10_000_000), "shots"),
        (_with(shots="many"), "shots"),
        (_with(shots=True), "shots"),
        (_with(backend="qpu.nope"), "backend"),
        (_with(backend="qpu.aria-2"), "backend"),
        (_with(type="ionq.qir.v1"), "type"),
        (_with(type="ionq.qasm3.v1"), "input.data"),
        (_with(type="quantum-function"), "input.data"),
        (_with(extra_key=1), "extra_key"),
        (_with(metadata={"k": 5}), "metadata.k"),
        (_with(metadata={f"k{i}": "v" for i in range(11)}), "metadata"),
        (_with(noise={"model": "aria-1", "seed": 0}), "noise.seed"),
        (_with(noise={"model": "nope"}), "noise.model"),
        (_with(name=12), "name"),
        (_with(input={"gateset": "qis", "circuit": "h"}), "input.circuit"),
        ({**BELL, "input": {**BELL["input"], "circuits": [{"circuit": []}]}}, "input.circuit"),
        (
            _with(type="ionq.multi-circuit.v1", input={"gateset": "qis", "circuits": []}),
            "input.circuits",
        ),
        (
            _with(
                type="ionq.multi-circuit.v1",
                input={"gateset": "qis", "circuits": [{"circuit": []}] * 5001},
            ),
            "input.circuits",
        ),
        (_with(input=_input([{"gate": "x", "target": 0}] * 150_001)), "input"),
        (
            _with(
                backend="qpu.aria-1", shots=100, settings={"error_mitigation": {"debiasing": True}}
            ),
            "settings.error_mitigation.debiasing",
        ),
        (_with(session_id=str(uuid.uuid4())), "session_id"),
        ({"backend": "simulator", "input": BELL["input"]}, "type"),
        ({"type": "ionq.circuit.v1", "input": BELL["input"]}, "backend"),
    ],
    ids=[
        "shots-0",
        "shots-10M",
        "shots-text",
        "shots-bool",
        "unknown-backend",
        "retired-backend",
        "qir-not-submittable",
        "qasm3-without-data",
        "later-type",
        "unknown-key",
        "metadata-not-string",
        "metadata-11-keys",
        "seed-0",
        "unknown-noise-model",
        "name-not-string",
        "circuit-not-list",
        "circuit-and-circuits",
        "no-circuits",
        "5001-circuits",
        "150001-gates",
        "debias-under-500",
        "unknown-session",
        "missing-type",
        "missing-backend",
    ],
)
def test_schema_errors_are_400_with_the_key(
    client: httpx.Client, body: dict[str, Any], key: str
) -> None:
    response = client.post("/jobs", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    spec.validate(error, spec.schema("BadRequestError"))
    assert error["error"] == "Bad Request"
    assert key in error["validation"]["keys"], error


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b"[1, 2]", b"null", "\u00ff".encode("latin-1")],
    ids=["malformed", "empty", "array", "null", "not-utf8"],
)
def test_unreadable_bodies_are_400(client: httpx.Client, raw: bytes) -> None:
    response = client.post("/jobs", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["statusCode"] == 400


@pytest.mark.parametrize(
    ("circuit", "code", "where"),
    [
        ([{"gate": "foo", "target": 0}], "PreflightError", "input.circuit[0]"),
        ([{"gate": "h", "target": 5}], "InvalidInput", "input.circuit[0].target"),
        ([{"gate": "rx", "target": 0}], "InvalidInput", "input.circuit[0]"),
        ([{"gate": "cnot", "control": 0, "target": 0}], "InvalidInput", "input.circuit[0]"),
        ([{"gate": "h", "target": -1}], "InvalidInput", "input.circuit[0].target"),
        (["h"], "InvalidInput", "input.circuit[0]"),
    ],
    ids=[
        "unknown-gate",
        "out-of-range",
        "missing-rotation",
        "control-is-target",
        "negative",
        "gate-not-object",
    ],
)
def test_circuit_problems_make_a_failed_job(
    client: httpx.Client, circuit: list[Any], code: str, where: str
) -> None:
    job_id = submit(client, _with(input=_input(circuit, qubits=2)))
    job = client.get(f"/jobs/{job_id}").json()
    spec.validate(job, spec.response_schema("/jobs/{UUID}"))
    assert job["status"] == "failed"
    assert job["failure"]["code"] == code
    assert job["failure"]["message"].startswith(where)
    assert job["results"] is None and job["completed_at"] is not None
    assert client.get(f"/jobs/{job_id}/results/probabilities").status_code == 404


def test_native_gate_of_the_other_family_is_unsupported(client: httpx.Client) -> None:
    body = _with(
        backend="qpu.forte-1",
        shots=100,
        input={
            "gateset": "native",
            "qubits": 2,
            "circuit": [{"gate": "ms", "targets": [0, 1], "phases": [0, 0]}],
        },
    )
    job = client.get(f"/jobs/{submit(client, body)}").json()
    assert job["failure"] == {
        "code": "UnsupportedGate",
        "message": "Gate types [ms] are not supported by this backend",
    }


def test_qpu_limits_fail_the_job(client: httpx.Client) -> None:
    too_many_shots = client.get(f"/jobs/{submit(client, _with(backend='qpu.aria-1', shots=20000))}")
    assert too_many_shots.json()["failure"]["code"] == "TooManyShots"
    wide = _with(backend="qpu.aria-1", input=_input([{"gate": "h", "target": 25}]))
    assert (
        client.get(f"/jobs/{submit(client, wide)}").json()["failure"]["code"] == "NotEnoughQubits"
    )


def test_idempotency_key_returns_the_same_job(client: httpx.Client) -> None:
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first = submit(client, BELL, headers=key)
    second = submit(client, BELL, headers=key)
    assert first == second
    assert submit(client, BELL) != first


def test_qpu_job_echoes_effective_settings_and_no_noise(client: httpx.Client) -> None:
    body = _with(backend="qpu.aria-1", shots=600, noise={"model": "forte-1"})
    job = client.get(f"/jobs/{submit(client, body)}").json()
    assert "noise" not in job
    assert job["settings"]["error_mitigation"] == {"debiasing": True}
    assert job["settings"]["compilation"]["gate_basis"] == "MS"
    assert job["stats"]["predicted_quantum_compute_time_us"] > 0
    small = client.get(f"/jobs/{submit(client, _with(backend='qpu.forte-1', shots=100))}").json()
    assert small["settings"]["error_mitigation"] == {"debiasing": False}
    assert small["settings"]["compilation"]["gate_basis"] == "ZZ"


def test_unseeded_noisy_job_echoes_a_drawn_seed(client: httpx.Client) -> None:
    job = client.get(f"/jobs/{submit(client, _with(noise={'model': 'aria-1'}))}").json()
    assert job["noise"]["model"] == "aria-1"
    assert 1 <= job["noise"]["seed"] <= 2**31 - 1


def test_multi_circuit_parent_and_children(client: httpx.Client) -> None:
    body = {
        "type": "ionq.multi-circuit.v1",
        "backend": "simulator",
        "shots": 500,
        "name": "core-multi",
        "input": {
            "gateset": "native",
            "qubits": 2,
            "circuits": [
                {
                    "name": "qis override",
                    "gateset": "qis",
                    "circuit": [
                        {"gate": "h", "target": 0},
                        {"gate": "cnot", "target": 1, "control": 0},
                    ],
                },
                {
                    "name": "native from parent",
                    "circuit": [{"gate": "gpi", "target": 1, "phase": 0}],
                },
            ],
        },
    }
    parent_id = submit(client, body)
    parent = client.get(f"/jobs/{parent_id}").json()
    spec.validate(parent, spec.response_schema("/jobs/{UUID}"))
    assert parent["type"] == "ionq.multi-circuit.v1"
    assert parent["stats"]["circuits"] == 2
    kids = parent["child_job_ids"]
    assert len(kids) == 2
    listed = client.get("/jobs", params={"parent_job_id": parent_id}).json()
    assert sorted(j["id"] for j in listed["jobs"]) == sorted(kids)
    first = client.get(f"/jobs/{kids[0]}").json()
    assert first["parent_job_id"] == parent_id and first["name"] == "qis override"
    assert first["type"] == "ionq.circuit.v1" and first["shots"] == 500
    assert first["stats"]["gate_counts"] == {"1q": 1, "2q": 1}


def test_listing_pages_with_next_and_filters(client: httpx.Client, server: Server) -> None:
    project = cli_json(server, "projects", "create", f"list-{uuid.uuid4().hex[:6]}")
    key = cli_json(server, "keys", "create", "--project", project["name"])  # type: ignore[index]
    headers = {"Authorization": f"apiKey {key['key']}"}  # type: ignore[index]
    with httpx.Client(base_url=server.url, headers=headers) as own:
        made = [submit(own, BELL) for _ in range(5)]
        made.append(submit(own, _with(backend="qpu.forte-1", shots=100)))
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2}
            if cursor:
                params["next"] = cursor
            page = own.get("/jobs", params=params).json()
            spec.validate(page, spec.response_schema("/jobs"))
            assert "next" in page
            seen += [j["id"] for j in page["jobs"]]
            cursor = page["next"]
            if cursor is None:
                break
        assert seen == list(reversed(made))  # newest first, each once
        by_ids = own.get("/jobs", params=[("ids", made[0]), ("ids", made[1])]).json()
        assert sorted(j["id"] for j in by_ids["jobs"]) == sorted(made[:2])
        forte = own.get("/jobs", params={"target": "qpu.forte-1"}).json()
        assert [j["id"] for j in forte["jobs"]] == [made[-1]]
        ready = own.get("/jobs", params={"status": "ready", "limit": 100}).json()
        assert len(ready["jobs"]) == 6  # larger limits are clamped to 25, not refused
        empty = own.get("/jobs", params={"status": "completed"}).json()
        assert empty == {"jobs": [], "next": None}
        bad = own.get("/jobs", params={"status": "sleeping"})
        assert bad.status_code == 400 and bad.json()["validation"]["source"] == "query"
        # a JSON body on GET (cirq) is ignored
        assert own.request("GET", "/jobs", json={"limit": 1000}).status_code == 200


def test_cancel_queued_job_and_no_op_on_terminal(client: httpx.Client) -> None:
    job_id = submit(client, BELL)
    response = client.put(f"/jobs/{job_id}/status/cancel")
    assert response.status_code == 200
    spec.validate(response.json(), spec.response_schema("/jobs/{UUID}/status/cancel", "put"))
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "canceled" and job["completed_at"] is not None
    again = client.put(f"/jobs/{job_id}/status/cancel")  # terminal: a 200 no-op
    assert again.status_code == 200
    assert client.get(f"/jobs/{job_id}").json()["status"] == "canceled"
    failed = submit(client, _with(input=_input([{"gate": "foo", "target": 0}])))
    client.put(f"/jobs/{failed}/status/cancel")
    assert client.get(f"/jobs/{failed}").json()["status"] == "failed"


def test_cancel_parent_cancels_children(client: httpx.Client) -> None:
    body = _with(
        type="ionq.multi-circuit.v1",
        input={"gateset": "qis", "circuits": [{"circuit": [{"gate": "h", "target": 0}]}] * 3},
    )
    parent_id = submit(client, body)
    client.put(f"/jobs/{parent_id}/status/cancel")
    parent = client.get(f"/jobs/{parent_id}").json()
    assert parent["status"] == "canceled"
    assert {client.get(f"/jobs/{k}").json()["status"] for k in parent["child_job_ids"]} == {
        "canceled"
    }


def test_bulk_cancel_and_delete_skip_unknown_ids(client: httpx.Client) -> None:
    a, b = submit(client, BELL), submit(client, BELL)
    unknown = str(uuid.uuid4())
    cancel = client.put("/jobs/status/cancel", json={"ids": [a, b, unknown, "junk"]})
    assert cancel.status_code == 200
    spec.validate(cancel.json(), spec.response_schema("/jobs/status/cancel", "put"))
    assert cancel.json() == {"ids": [a, b], "status": "canceled"}
    deleted = client.request("DELETE", "/jobs", json={"ids": [a, unknown]})
    spec.validate(deleted.json(), spec.response_schema("/jobs", "delete"))
    assert deleted.json() == {"ids": [a], "status": "deleted"}
    assert client.get(f"/jobs/{a}").status_code == 404
    assert client.put("/jobs/status/cancel", json={}).status_code == 400


def test_deleted_job_is_gone_everywhere(client: httpx.Client) -> None:
    job_id = submit(client, BELL)
    response = client.delete(f"/jobs/{job_id}")
    assert response.status_code == 200
    spec.validate(response.json(), spec.response_schema("/jobs/{UUID}", "delete"))
    assert response.json() == {"id": job_id, "status": "deleted"}
    for path in ("", "/results/probabilities", "/cost", "/circuits/native", "/status/cancel"):
        method = "PUT" if path == "/status/cancel" else "GET"
        assert client.request(method, f"/jobs/{job_id}{path}").status_code == 404
    assert job_id not in {j["id"] for j in client.get("/jobs").json()["jobs"]}
    assert client.delete(f"/jobs/{job_id}").status_code == 404


def test_malformed_and_unknown_job_ids(client: httpx.Client) -> None:
    assert client.get("/jobs/not-a-uuid").status_code == 400
    assert client.get(f"/jobs/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/jobs/{uuid.uuid4()}/results/probabilities").status_code == 404


def test_results_are_404_before_completion(client: httpx.Client) -> None:
    job_id = submit(client, BELL)
    for kind in ("probabilities", "histogram", "shots"):
        response = client.get(f"/jobs/{job_id}/results/{kind}")
        assert response.status_code == 404
        spec.validate(response.json(), spec.schema("Error"))


def test_dry_run_completes_without_results_and_compiles(client: httpx.Client) -> None:
    job_id = submit(client, _with(dry_run=True, backend="qpu.aria-1", shots=100))
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "completed" and job["dry_run"] is True
    assert job["results"] is None and job["started_at"] is None
    assert job["stats"]["gate_counts"] == {"1q": 1, "2q": 1}
    native = client.get(f"/jobs/{job_id}/circuits/native")
    assert native.status_code == 200
    program = json.loads(native.json())
    assert program["qubits"] == 2
    assert {g["gate"] for g in program["circuit"]} <= {"gpi", "gpi2", "ms"}
    qasm = client.get(f"/jobs/{job_id}/circuits/qasm3").json()
    assert qasm.startswith("OPENQASM 3.0;") and "ms(" in qasm
    cost = client.get(f"/jobs/{job_id}/cost").json()
    spec.validate(cost, spec.response_schema("/jobs/{UUID}/cost"))
    assert cost["dry_run"] is True and cost["cost"]["value"] == 0
    assert client.get(f"/jobs/{job_id}/circuits/python").status_code == 400


def test_native_input_is_returned_unchanged(client: httpx.Client) -> None:
    circuit = [
        {"gate": "gpi2", "target": 0, "phase": 0.25},
        {"gate": "zz", "targets": [0, 1], "angle": 0.125},
    ]
    job_id = submit(
        client,
        _with(
            backend="qpu.forte-1",
            shots=100,
            input={"gateset": "native", "qubits": 2, "circuit": circuit},
        ),
    )
    program = json.loads(client.get(f"/jobs/{job_id}/circuits/native").json())
    assert program == {"qubits": 2, "circuit": circuit}


def test_another_projects_jobs_are_404(client: httpx.Client, server: Server) -> None:
    org = cli_json(
        server,
        "orgs",
        "create",
        f"other-{uuid.uuid4().hex[:6]}",
        "--owner",
        f"{uuid.uuid4().hex[:6]}@other.example",
    )
    key = cli_json(server, "keys", "create", "--org", org["name"])  # type: ignore[index]
    mine = submit(client, BELL)
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"apiKey {key['key']}"}
    ) as other:  # type: ignore[index]
        for method, path in (
            ("GET", ""),
            ("GET", "/results/probabilities"),
            ("GET", "/cost"),
            ("PUT", "/status/cancel"),
            ("DELETE", ""),
            ("GET", "/circuits/qasm3"),
        ):
            assert other.request(method, f"/jobs/{mine}{path}").status_code == 404
        assert mine not in {j["id"] for j in other.get("/jobs").json()["jobs"]}
        assert other.put("/jobs/status/cancel", json={"ids": [mine]}).json()["ids"] == []
    assert client.get(f"/jobs/{mine}").json()["status"] == "ready"


def test_organization_without_qpu_access_gets_403(server: Server) -> None:
    org = cli_json(
        server,
        "orgs",
        "create",
        f"noqpu-{uuid.uuid4().hex[:6]}",
        "--owner",
        f"{uuid.uuid4().hex[:6]}@noqpu.example",
        "--no-qpu-access",
    )
    key = cli_json(server, "keys", "create", "--org", org["name"])  # type: ignore[index]
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"apiKey {key['key']}"}
    ) as other:  # type: ignore[index]
        denied = other.post("/jobs", json=_with(backend="qpu.aria-1", shots=100))
        assert denied.status_code == 403 and denied.json()["error"] == "Forbidden"
        assert other.post("/jobs", json=BELL).status_code == 201  # the simulator stays free


def test_accepted_job_survives_a_restart(client: httpx.Client, server: Server) -> None:
    job_id = submit(client, BELL)
    server.restart()
    assert client.get(f"/jobs/{job_id}").json()["status"] == "ready"


def test_predicted_wait_counts_the_jobs_ahead(client: httpx.Client) -> None:
    body = _with(backend="qpu.forte-enterprise-1", shots=100)
    first = client.get(f"/jobs/{submit(client, body)}").json()
    second = client.get(f"/jobs/{submit(client, body)}").json()
    assert first["predicted_wait_time_ms"] == 0
    assert first["predicted_execution_duration_ms"] > 0
    assert second["predicted_wait_time_ms"] == first["predicted_execution_duration_ms"]
