"""``ionq.qasm3.v1`` jobs, artifacts, format schemas and clone over HTTP (issue 15).

A real server with one worker. The physics of dynamic circuits is checked in
``tests/quantum/test_quantum_dynamic.py``; here: what a client sees — the results map of
artifact descriptors, each artifact against its format's JSON Schema from the spec, the
per-register bits of a feed-forward program, the compiled circuits, bad programs as failed
jobs, and clones that repeat a seeded run byte for byte.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from support.server import Server, cli_json, submit, wait_for_job

SERVER_WORKERS = 1
ROOT = Path(__file__).resolve().parents[2]
SPEC = json.loads((ROOT / "spec" / "ionq-openapi-v0.4-2026-09.json").read_text())
FORMATS = SPEC["components"]["schemas"]["Formats"]["enum"]
V2 = (
    "ionq.result.shots.json.v2",
    "ionq.result.histogram.json.v2",
    "ionq.result.probabilities.json.v2",
)

#: measure q0 into c[0]; if it was 1 flip q1; measure q1 into c[1]: c[1] == c[0] every shot.
#: ``flag`` (a second register) records a reset-and-flip: always 1.
FEED_FORWARD = """OPENQASM 3.0;
include "stdgates.inc";
bit[2] c;
bit[1] flag;
qubit[3] q;
h q[0];
c[0] = measure q[0];
if (c[0]) {
  x q[1];
}
c[1] = measure q[1];
reset q[2];
x q[2];
flag[0] = measure q[2];
"""


def qasm3_job(data: str = FEED_FORWARD, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "ionq.qasm3.v1",
        "backend": "simulator",
        "shots": 300,
        "input": {"qubits": 3, "data": data},
        "noise": {"model": "ideal"},
    }
    body.update(changes)
    return body


def _artifact(client: httpx.Client, job_id: str, descriptor: dict[str, str]) -> Any:
    response = client.get(f"/jobs/{job_id}/artifacts/{descriptor['id']}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(descriptor["media_type"])
    return response.json()


def _schema(client: httpx.Client, fmt: str) -> dict[str, Any]:
    response = client.get(f"/schemas/formats/{fmt}")
    assert response.status_code == 200, response.text
    schema: dict[str, Any] = response.json()
    return schema


@pytest.fixture(scope="module")
def feed_forward(server: Server) -> dict[str, Any]:
    """A completed feed-forward job (shared by the tests that only read it)."""
    with httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"apiKey {server.env['IONSTACK_BOOTSTRAP_KEY']}"},
    ) as client:
        job_id = submit(client, qasm3_job())
        return wait_for_job(client, job_id)


def test_a_qasm3_job_answers_with_artifact_descriptors(
    client: httpx.Client, feed_forward: dict[str, Any]
) -> None:
    assert feed_forward["status"] == "completed", feed_forward
    assert feed_forward["type"] == "ionq.qasm3.v1"
    results = feed_forward["results"]
    assert sorted(results) == sorted(V2)
    for fmt, descriptor in results.items():
        assert set(descriptor) == {"id", "format", "media_type"}
        assert descriptor["format"] == fmt
        assert descriptor["media_type"] == "application/json"
        uuid.UUID(descriptor["id"])
    assert len({d["id"] for d in results.values()}) == 3


def test_every_artifact_matches_its_format_schema(
    client: httpx.Client, feed_forward: dict[str, Any]
) -> None:
    job_id = str(feed_forward["id"])
    descriptors = {
        **feed_forward["results"],
        **feed_forward["output"]["compilation"]["compiled_circuits"],
    }
    for fmt, descriptor in descriptors.items():
        document = _artifact(client, job_id, descriptor)
        if fmt == "ionq.qasm3.v1":  # program source: the spec's Formats enum has no schema
            assert isinstance(document, str) and document.startswith("OPENQASM 3")
            continue
        jsonschema.validate(document, _schema(client, fmt))


def test_feed_forward_bits_per_register(client: httpx.Client, feed_forward: dict[str, Any]) -> None:
    job_id = str(feed_forward["id"])
    shots = _artifact(client, job_id, feed_forward["results"]["ionq.result.shots.json.v2"])
    rows = [shot["registers"] for shot in shots["shots"]]
    assert len(rows) == 300
    assert {tuple(sorted(r)) for r in rows} == {("c", "flag", "output_all")}
    assert all(r["c"][1] == r["c"][0] for r in rows)  # feed-forward: c[1] copies c[0]
    assert all(r["flag"] == [1] for r in rows)  # reset then x
    assert all(r["output_all"] == [r["c"][0], r["c"][1], 1] for r in rows)  # final state
    ones = sum(r["c"][0] for r in rows)
    assert 0 < ones < 300  # h on q0: both outcomes occur (p of one missing: 2·2⁻³⁰⁰)

    histogram = _artifact(client, job_id, feed_forward["results"]["ionq.result.histogram.json.v2"])
    counts = histogram["histogram"]["registers"]
    assert counts["c"] == {"00": 300 - ones, "11": ones}  # bit 0 is the rightmost character
    assert counts["flag"] == {"1": 300}
    probabilities = _artifact(
        client, job_id, feed_forward["results"]["ionq.result.probabilities.json.v2"]
    )["probabilities"]["registers"]
    assert probabilities["c"] == {"00": (300 - ones) / 300, "11": ones / 300}

    # the v1 results stay meaningful: the final qubit states (output_all), decimal keys
    legacy = client.get(f"/jobs/{job_id}/results/histogram").json()
    assert legacy == {str(0b100): 300 - ones, str(0b111): ones}


def test_artifacts_are_404_for_other_ids_and_other_jobs(
    client: httpx.Client, feed_forward: dict[str, Any]
) -> None:
    job_id = str(feed_forward["id"])
    assert client.get(f"/jobs/{job_id}/artifacts/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/jobs/{job_id}/artifacts/not-an-id").status_code == 404
    other = wait_for_job(client, submit(client, qasm3_job(shots=10)))
    shots_id = feed_forward["results"]["ionq.result.shots.json.v2"]["id"]
    response = client.get(f"/jobs/{other['id']}/artifacts/{shots_id}")  # the other job's id
    assert response.status_code == 404
    assert response.json()["error"] == "Not Found Error"


def test_schemas_of_every_format(client: httpx.Client) -> None:
    for fmt in FORMATS:
        schema = _schema(client, fmt)
        assert schema["$id"] == fmt
        jsonschema.Draft7Validator.check_schema(schema)
        for example in schema.get("examples", []):  # the spec's own example validates
            jsonschema.validate(example, schema)
    assert client.get("/schemas/formats/ionq.result.nope.v9").status_code == 404


def test_the_schema_file_is_generated_from_the_spec() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "format-schemas"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("program", "construct"),
    [
        ("OPENQASM 3.0;\nqubit[1] q;\nh q[0]\nbit b;\n", "line 4"),  # missing ';' on line 3
        ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nfoo q[0];\n', "foo"),
        (
            'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nbit[1] c;\n'
            "while (c[0]) {\n  x q[0];\n}\n",
            "line 5",
        ),
    ],
    ids=["syntax", "unknown-gate", "while"],
)
def test_a_bad_program_makes_a_failed_job_naming_the_line(
    client: httpx.Client, program: str, construct: str
) -> None:
    job = wait_for_job(client, submit(client, qasm3_job(data=program)))
    assert job["status"] == "failed"
    failure = job["failure"]
    assert isinstance(failure, dict)
    assert failure["code"] == "InvalidInput"
    assert construct in failure["message"], failure


@pytest.mark.parametrize(
    ("inp", "key"),
    [
        ({"qubits": 2}, "input.data"),
        ({"data": 7}, "input.data"),
        ({"data": "x", "qubits": "2"}, "input.qubits"),
    ],
)
def test_a_malformed_qasm3_input_is_a_400(
    client: httpx.Client, inp: dict[str, Any], key: str
) -> None:
    response = client.post("/jobs", json=qasm3_job(input=inp))
    assert response.status_code == 400, response.text
    assert key in response.text


def test_debiasing_a_qasm3_job_is_a_400(client: httpx.Client) -> None:
    body = qasm3_job(
        backend="qpu.aria-1", shots=1000, settings={"error_mitigation": {"debiasing": True}}
    )
    body.pop("noise")
    response = client.post("/jobs", json=body)
    assert response.status_code == 400, response.text


def test_compiled_circuits_of_a_circuit_job(client: httpx.Client) -> None:
    body = {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "input": {
            "qubits": 2,
            "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}],
        },
    }
    job = wait_for_job(client, submit(client, body))
    compiled = job["output"]["compilation"]["compiled_circuits"]
    assert sorted(compiled) == ["ionq.native.v1", "ionq.qasm3.v1"]
    native = _artifact(client, str(job["id"]), compiled["ionq.native.v1"])
    assert native == json.loads(client.get(f"/jobs/{job['id']}/circuits/native").json())
    jsonschema.validate(native, _schema(client, "ionq.native.v1"))
    qasm = _artifact(client, str(job["id"]), compiled["ionq.qasm3.v1"])
    assert qasm == client.get(f"/jobs/{job['id']}/circuits/qasm3").json()
    assert job["results"]["probabilities"] == {
        "url": f"/v0.4/jobs/{job['id']}/results/probabilities"
    }  # circuit jobs keep the {url} results every client reads


def test_a_dynamic_program_has_no_flat_native_form(
    client: httpx.Client, feed_forward: dict[str, Any]
) -> None:
    compiled = feed_forward["output"]["compilation"]["compiled_circuits"]
    assert list(compiled) == ["ionq.qasm3.v1"]
    program = _artifact(client, str(feed_forward["id"]), compiled["ionq.qasm3.v1"])
    assert "measure" in program and "if" in program  # the control flow survives compilation
    assert client.get(f"/jobs/{feed_forward['id']}/circuits/native").status_code == 404


# --- clone -------------------------------------------------------------------------------------


def _shots(client: httpx.Client, job: dict[str, Any]) -> bytes:
    aid = job["results"]["ionq.result.shots.json.v2"]["id"]
    return client.get(f"/jobs/{job['id']}/artifacts/{aid}").content


def test_a_clone_of_a_seeded_noisy_run_repeats_it_byte_for_byte(client: httpx.Client) -> None:
    original = wait_for_job(
        client, submit(client, qasm3_job(noise={"model": "aria-1", "seed": 11}, name="first"))
    )
    response = client.post(f"/jobs/{original['id']}/clone", json={})
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"id", "status", "session_id"}
    clone = wait_for_job(client, response.json()["id"])
    assert clone["id"] != original["id"]
    assert (clone["name"], clone["noise"], clone["shots"]) == ("first", original["noise"], 300)
    assert _shots(client, clone) == _shots(client, original)

    reseeded = client.post(
        f"/jobs/{original['id']}/clone",
        json={"noise": {"model": "aria-1", "seed": 12}, "shots": 120, "name": "second"},
    )
    assert reseeded.status_code == 201, reseeded.text
    changed = wait_for_job(client, reseeded.json()["id"])
    assert (changed["name"], changed["shots"], changed["noise"]["seed"]) == ("second", 120, 12)
    assert _shots(client, changed) != _shots(client, original)
    assert wait_for_job(client, str(original["id"]))["results"] == original["results"]


def test_a_clone_to_another_backend_goes_through_its_checks(client: httpx.Client) -> None:
    circuit = {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "input": {"qubits": 27, "circuit": [{"gate": "h", "target": 26}]},
    }
    original = wait_for_job(client, submit(client, circuit))
    assert original["status"] == "completed"
    clone = client.post(f"/jobs/{original['id']}/clone", json={"backend": "qpu.aria-1"})
    assert clone.status_code == 201, clone.text
    moved = wait_for_job(client, clone.json()["id"])
    assert moved["backend"] == "qpu.aria-1"
    assert moved["status"] == "failed"
    assert moved["failure"]["code"] == "NotEnoughQubits"  # aria-1 has 25 qubits
    assert "noise" not in moved  # a simulator option, dropped for a QPU


@pytest.mark.parametrize(
    "body", [{"shots": 0}, {"colour": "red"}, {"backend": "qpu.nowhere"}, [1, 2]]
)
def test_a_bad_clone_body_is_a_400(client: httpx.Client, body: Any) -> None:
    original = submit(client, qasm3_job(shots=10))
    response = client.post(f"/jobs/{original}/clone", json=body)
    assert response.status_code == 400, response.text
    assert set(response.json()) >= {"error", "message", "statusCode"}


def test_another_projects_job_cannot_be_cloned_or_moved(
    client: httpx.Client, server: Server
) -> None:
    org = cli_json(
        server,
        "orgs",
        "create",
        f"clone-{uuid.uuid4().hex[:6]}",
        "--owner",
        f"{uuid.uuid4().hex[:6]}@other.example",
    )
    key = cli_json(server, "keys", "create", "--org", org["name"])  # type: ignore[index]
    mine = submit(client, qasm3_job(shots=10))
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"apiKey {key['key']}"}
    ) as other:  # type: ignore[index]
        for action in ("clone", "move"):
            assert other.post(f"/jobs/{mine}/{action}", json={}).status_code == 404
        assert other.post(f"/jobs/{uuid.uuid4()}/clone", json={}).status_code == 404


# --- symmetry verification (the newer revision's error-mitigation setting) ----------------------


def _noisy_ghz(**settings: Any) -> dict[str, Any]:
    return {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": 2000,
        "noise": {"model": "harmony", "seed": 3},
        **({"settings": {"error_mitigation": settings}} if settings else {}),
        "input": {
            "qubits": 4,
            "circuit": [
                {"gate": "h", "target": 0},
                {"gate": "cnot", "control": 0, "target": 1},
                {"gate": "cnot", "control": 1, "target": 2},
                {"gate": "cnot", "control": 2, "target": 3},
            ],
        },
    }


def test_symmetry_verification_keeps_the_shots_that_respect_the_ghz_parities(
    client: httpx.Client,
) -> None:
    raw = wait_for_job(client, submit(client, _noisy_ghz()))
    raw_hist = client.get(f"/jobs/{raw['id']}/results/histogram").json()
    assert set(raw_hist) > {"0", "15"}  # harmony's noise gives other outcomes too

    job = wait_for_job(client, submit(client, _noisy_ghz(symmetry_verification=True)))
    assert job["settings"]["error_mitigation"] == {"symmetry_verification": True}
    report = job["output"]["error_mitigation"]["symmetry_verification"]
    assert report == {"num_allowed_states": 2, "applied": True}
    hist = client.get(f"/jobs/{job['id']}/results/histogram").json()
    assert set(hist) == {"0", "15"}
    assert hist == {k: raw_hist[k] for k in ("0", "15")}  # same seed: the same shots, filtered
    shots = client.get(f"/jobs/{job['id']}/results/shots").json()
    assert len(shots) == sum(hist.values())


def test_a_quantum_function_job_clones_to_the_same_energy(client: httpx.Client) -> None:
    body = {
        "type": "quantum-function",
        "backend": "simulator",
        "input": {
            "data": {
                "type": "hamiltonian-energy",
                "data": {
                    "hamiltonian": [
                        {"pauli_string": "ZZ", "coefficient": 1.0},
                        {"pauli_string": "XX", "coefficient": -0.5},
                    ],
                    "ansatz": {
                        "format": "qasm",
                        "data": 'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float[64] t;\n'
                        "qubit[2] q;\nry(t) q[0];\ncx q[0], q[1];",
                    },
                },
            },
            "params": [0.4],
        },
    }
    original = wait_for_job(client, submit(client, body))
    response = client.post(f"/jobs/{original['id']}/clone", json={"name": "again"})
    assert response.status_code == 201, response.text
    clone = wait_for_job(client, response.json()["id"])
    assert clone["status"] == "completed" and clone["name"] == "again"
    assert clone["results"]["value"] == original["results"]["value"]
