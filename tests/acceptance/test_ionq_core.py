"""ionq-core, unchanged, against ionstack (clients.md §4).

Configuration exactly as the README shows: ``IonQClient(api_key=KEY, base_url=BASE)`` (no
environment variable for the URL). ionq-core is generated from a newer IonQ spec than v0.4 and
parses strictly: every required job key, ``next`` on listings, 201 on create, UUID ``key_id``.
"""

from __future__ import annotations

import itertools
import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from ionq_core import (
    AuthenticatedClient,
    AuthenticationError,
    BadRequestError,
    IonQClient,
    NotFoundError,
    SessionManager,
    gates,
    iter_jobs,
    wait_for_job,
)
from ionq_core.api.backends import get_backend, get_backends
from ionq_core.api.characterizations import (
    get_characterization,
    get_characterizations_for_backend,
)
from ionq_core.api.default import (
    cancel_job,
    cancel_jobs,
    clone_job,
    create_job,
    delete_job,
    delete_jobs,
    estimate_job_cost,
    get_job,
    get_job_artifact,
    get_job_cost,
    get_job_probabilities,
    get_jobs,
    move_job,
)
from ionq_core.api.schemas import get_format_schema
from ionq_core.api.whoami import get_whoami
from ionq_core.models import (
    CircuitJobCreationPayload,
    CloneJobPayload,
    JobsBulkOperationRequest,
    JSONMultiCircuitJob,
)

from conftest import Server, hold_worker

POLL = 0.05  # wait_for_job's first interval (default 1 s, x1.5 each poll)

BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "target": 1, "control": 0}]
GHZ = [*BELL, {"gate": "cnot", "target": 2, "control": 1}]


@pytest.fixture
def client(server: Server) -> Iterator[AuthenticatedClient]:
    with pytest.warns(UserWarning, match="HTTPS"):  # loopback http: ionq-core warns, rightly
        made = IonQClient(api_key=server.key, base_url=server.url)
    with made as c:
        yield c


def circuit_job(circuit: list[dict[str, Any]], qubits: int, **extra: Any) -> dict[str, Any]:
    return {
        "backend": "simulator",
        "type": "ionq.circuit.v1",
        "input": {"qubits": qubits, "gateset": "qis", "circuit": circuit},
        **extra,
    }


def submit(client: AuthenticatedClient, body: dict[str, Any]) -> str:
    created = create_job.sync(client=client, body=CircuitJobCreationPayload.from_dict(body))
    assert created is not None and created.status == "submitted"
    return str(created.id)


def probabilities(client: AuthenticatedClient, job_id: str, **kw: Any) -> dict[int, float]:
    got = get_job_probabilities.sync(job_id, client=client, **kw)
    assert got is not None
    return {int(k): float(v) for k, v in got.additional_properties.items()}


def approx(got: dict[int, float], expected: dict[int, float]) -> bool:
    keys = set(got) | set(expected)
    return all(math.isclose(got.get(k, 0.0), expected.get(k, 0.0), abs_tol=1e-9) for k in keys)


# --- identity and backends ---------------------------------------------------------------------


def test_whoami(client: AuthenticatedClient) -> None:
    me = get_whoami.sync(client=client)
    assert me is not None and isinstance(me.key_id, uuid.UUID)


def test_bad_key_is_an_authentication_error(server: Server) -> None:
    with pytest.warns(UserWarning, match="HTTPS"):
        stranger = IonQClient(api_key="isk_not_a_key", base_url=server.url)
    with stranger, pytest.raises(AuthenticationError):
        get_whoami.sync(client=stranger)


def test_backends_and_characterizations(client: AuthenticatedClient) -> None:
    backends = get_backends.sync(client=client)
    assert backends is not None
    names = {b.backend for b in backends}
    assert {"simulator", "qpu.aria-1", "qpu.forte-1"} <= names
    forte = get_backend.sync("qpu.forte-1", client=client)
    assert forte is not None and forte.qubits == 36 and forte.status == "available"
    page = get_characterizations_for_backend.sync("qpu.forte-1", client=client, limit=1)
    assert page is not None and len(page.characterizations) == 1
    newest = page.characterizations[0]
    assert str(newest.id) == forte.characterization_id
    assert 0.9 < newest.fidelity.spam.median <= 1
    again = get_characterization.sync("qpu.forte-1", newest.id, client=client)
    assert again is not None and again.id == newest.id and again.qubits == 36


# --- jobs on the ideal simulator ---------------------------------------------------------------


def test_bell_and_ghz_ideal(client: AuthenticatedClient) -> None:
    bell = submit(
        client, circuit_job(BELL, 2, shots=1000, name="core-bell", metadata={"suite": "accept"})
    )
    ghz = submit(client, circuit_job(GHZ, 3, shots=1000))
    job = wait_for_job(client, bell, poll_interval=POLL)
    assert job.status == "completed" and job.name == "core-bell"
    assert job.metadata.to_dict() == {"suite": "accept"}
    assert job.child_job_ids is None
    assert approx(probabilities(client, bell), {0: 0.5, 3: 0.5})
    wait_for_job(client, ghz, poll_interval=POLL)
    assert approx(probabilities(client, ghz), {0: 0.5, 7: 0.5})
    cost = get_job_cost.sync(bell, client=client)
    assert cost is not None and cost.dry_run is False


def _state(ops: list[tuple[np.ndarray, tuple[int, ...]]], qubits: int) -> np.ndarray:
    """Apply gates to |0...0> with numpy; index bit q = qubit q (little-endian like the API)."""
    state = np.zeros(2**qubits, dtype=complex)
    state[0] = 1
    tensor = state.reshape([2] * qubits)  # axis k = qubit qubits-1-k
    for matrix, targets in ops:
        axes = [qubits - 1 - t for t in targets]
        k = len(targets)
        m = matrix.reshape([2] * (2 * k))
        tensor = np.tensordot(m, tensor, axes=(list(range(k, 2 * k)), axes))
        tensor = np.moveaxis(tensor, list(range(k)), axes)
    return tensor.reshape(-1)


def test_native_gates_match_the_client_matrices(client: AuthenticatedClient) -> None:
    # ionq-core's own gate matrices (turns), with the pair written as |q0 q1> (q0 the high bit).
    circuit = [
        {"gate": "gpi2", "target": 0, "phase": 0},
        {"gate": "gpi2", "target": 1, "phase": 0.25},
        {"gate": "zz", "targets": [0, 1], "angle": 0.125},
        {"gate": "gpi", "target": 1, "phase": 0.1},
        {"gate": "ms", "targets": [0, 1], "phases": [0, 0], "angle": 0.25},
        {"gate": "gpi2", "target": 0, "phase": 0.5},
    ]
    ops = [
        (np.array(gates.gpi2_matrix(0)), (0,)),
        (np.array(gates.gpi2_matrix(0.25)), (1,)),
        (np.array(gates.zz_matrix(0.125)), (0, 1)),
        (np.array(gates.gpi_matrix(0.1)), (1,)),
        (np.array(gates.ms_matrix(0, 0, 0.25)), (0, 1)),
        (np.array(gates.gpi2_matrix(0.5)), (0,)),
    ]
    state = _state(ops, 2)
    expected = {i: float(abs(a) ** 2) for i, a in enumerate(state) if abs(a) ** 2 > 1e-12}
    body = circuit_job(circuit, 2, shots=1000)
    body["input"]["gateset"] = "native"
    job_id = submit(client, body)
    wait_for_job(client, job_id, poll_interval=POLL)
    assert approx(probabilities(client, job_id), expected), expected


def test_multi_circuit_job_and_its_children(client: AuthenticatedClient) -> None:
    body = {
        "backend": "simulator",
        "type": "ionq.multi-circuit.v1",
        "name": "core-multi",
        "shots": 500,
        "input": {
            "gateset": "native",
            "qubits": 2,
            "circuits": [
                {"name": "qis override", "gateset": "qis", "circuit": BELL},
                {"name": "native", "circuit": [{"gate": "gpi", "target": 1, "phase": 0}]},
            ],
        },
    }
    created = create_job.sync(client=client, body=JSONMultiCircuitJob.from_dict(body))
    assert created is not None
    parent = wait_for_job(client, str(created.id), poll_interval=POLL)
    assert parent.status == "completed" and len(parent.child_job_ids) == 2
    first, second = (str(c) for c in parent.child_job_ids)
    assert approx(probabilities(client, first), {0: 0.5, 3: 0.5})
    assert approx(probabilities(client, second), {2: 1.0})
    # The parent's probabilities are keyed by child id, in circuit order.
    whole = get_job_probabilities.sync(str(created.id), client=client)
    assert list(whole.additional_properties) == [first, second]
    children = get_jobs.sync(client=client, parent_job_id=str(created.id))
    assert children is not None and {str(j.id) for j in children.jobs} == {first, second}
    by_ids = get_jobs.sync(client=client, ids=[first, second])  # ?ids=a&ids=b
    assert {str(j.id) for j in by_ids.jobs} == {first, second}


def test_listing_follows_next(client: AuthenticatedClient) -> None:
    made = [submit(client, circuit_job(BELL, 2, shots=10)) for _ in range(3)]
    first = get_jobs.sync(client=client, limit=2)
    assert first is not None and len(first.jobs) == 2 and first.next_
    second = get_jobs.sync(client=client, limit=2, next_=first.next_)
    assert second is not None
    listed = [str(j.id) for j in first.jobs + second.jobs]
    assert set(listed[:3]) == set(made)  # newest first (same-millisecond ids in any order)
    for job_id in made:
        wait_for_job(client, job_id, poll_interval=POLL)
    done = list(itertools.islice(iter_jobs(client, status="completed", limit=2), 5))
    assert len(done) == 5 and all(j.status == "completed" for j in done)
    assert len({j.id for j in done}) == 5  # iter_jobs follows next without repeats


# --- noise, QPU emulation ----------------------------------------------------------------------


def test_noisy_ghz_forte_is_seeded_and_shows_errors(client: AuthenticatedClient) -> None:
    body = circuit_job(GHZ, 3, shots=2000, noise={"model": "forte-1", "seed": 42})
    runs = [submit(client, body) for _ in range(2)]
    for job_id in runs:
        job = wait_for_job(client, job_id, poll_interval=POLL)
        assert job.noise.model == "forte-1" and job.noise.seed == 42
    first, second = (probabilities(client, job_id) for job_id in runs)
    assert first == second
    good = first.get(0, 0) + first.get(7, 0)
    assert 0.8 < good < 1.0, first


def test_aria_debiased_and_sharpened(client: AuthenticatedClient) -> None:
    body = circuit_job(BELL, 2, shots=600, settings={"error_mitigation": {"debiasing": True}})
    body["backend"] = "qpu.aria-1"
    job_id = submit(client, body)
    job = wait_for_job(client, job_id, poll_interval=POLL)
    assert job.backend == "qpu.aria-1" and job.status == "completed"
    averaged = probabilities(client, job_id, sharpen=False)
    sharpened = probabilities(client, job_id, sharpen=True)
    assert 0.8 < averaged.get(0, 0) + averaged.get(3, 0) <= 1.0 + 1e-9, averaged
    assert set(sharpened) <= {0, 3} and math.isclose(sum(sharpened.values()), 1.0)


# --- cancel, delete, dry run -------------------------------------------------------------------


def test_cancel_and_delete(client: AuthenticatedClient, api: httpx.Client) -> None:
    holder = hold_worker(api)
    try:
        one, two, three = (submit(client, circuit_job(BELL, 2, shots=10)) for _ in range(3))
        canceled = cancel_job.sync(one, client=client)
        assert canceled is not None and canceled.status == "canceled"
        bulk = cancel_jobs.sync(client=client, body=JobsBulkOperationRequest(ids=[two, three]))
        assert bulk is not None and set(bulk.ids) == {two, three}
        for job_id in (one, two, three):
            job = wait_for_job(client, job_id, poll_interval=POLL)
            assert job.status == "canceled" and job.results is None
    finally:
        api.put(f"/jobs/{holder}/status/cancel")
    deleted = delete_job.sync(one, client=client)
    assert deleted is not None and deleted.status == "deleted"
    with pytest.raises(NotFoundError):
        get_job.sync(one, client=client)
    gone = delete_jobs.sync(client=client, body=JobsBulkOperationRequest(ids=[two, three]))
    assert gone is not None and set(gone.ids) == {two, three}
    with pytest.raises(NotFoundError):
        get_job.sync(three, client=client)


def test_dry_run_and_its_cost(client: AuthenticatedClient) -> None:
    body = circuit_job(BELL, 2, shots=1000, dry_run=True)
    body["backend"] = "qpu.aria-1"
    job_id = submit(client, body)
    job = wait_for_job(client, job_id, poll_interval=POLL)
    assert job.dry_run is True and job.status == "completed" and job.results is None
    cost = get_job_cost.sync(job_id, client=client)
    assert cost is not None and cost.dry_run is True and cost.cost.value == 0
    assert cost.estimated_cost.unit == "usd" and cost.estimated_cost.value >= 0


def test_bad_payload_is_a_bad_request(client: AuthenticatedClient) -> None:
    body = circuit_job(BELL, 2, shots=0)
    with pytest.raises(BadRequestError):
        submit(client, body)


# --- not yet served (issue 6) ------------------------------------------------------------------


def test_cost_estimate(client: AuthenticatedClient) -> None:
    estimate = estimate_job_cost.sync(
        client=client,
        backend="qpu.aria-1",
        qubits=2,
        shots=100,
        field_1q_gates=4,
        field_2q_gates=1,
    )
    assert estimate is not None
    assert estimate.estimate_context.backend == "qpu.aria-1"
    assert estimate.estimated_total_cost > 0


def test_session(client: AuthenticatedClient) -> None:
    with SessionManager(client, "qpu.aria-1", max_jobs=3) as session:
        assert session.session_id
        body = circuit_job(BELL, 2, shots=100, session_id=session.session_id)
        job_id = submit(client, {**body, "backend": "qpu.aria-1"})
        wait_for_job(client, job_id, poll_interval=POLL)
        assert session.status() in ("created", "started")
    assert session.status() == "ended"


# --- IonQ's newer revision: qasm3 jobs, artifacts, schemas, clone and move (issue 15) ----------

RESET_AND_FEED_FORWARD = """OPENQASM 3.0;
include "stdgates.inc";
bit[2] c;
qubit[2] q;
x q[0];
c[0] = measure q[0];
reset q[0];
if (c[0]) {
  x q[1];
}
c[1] = measure q[1];
"""


def test_qasm3_job_artifacts_and_schemas(client: AuthenticatedClient) -> None:
    body = {
        "backend": "simulator",
        "type": "ionq.qasm3.v1",
        "shots": 50,
        "input": {"qubits": 2, "data": RESET_AND_FEED_FORWARD},
    }
    job_id = submit(client, body)
    job = wait_for_job(client, job_id, poll_interval=POLL)
    assert job.status == "completed" and job.type_ == "ionq.qasm3.v1"
    results = job.results  # parsed strictly as ArtifactDescriptors
    assert results is not None
    descriptor = results["ionq.result.shots.json.v2"]
    assert descriptor.format_ == "ionq.result.shots.json.v2"
    response = get_job_artifact.sync_detailed(job_id, descriptor.id, client=client)
    assert response.status_code == 200
    document = json.loads(response.content)
    assert len(document["shots"]) == 50
    assert all(s["registers"]["c"] == [1, 1] for s in document["shots"])  # fed forward
    assert all(s["registers"]["output_all"] == [0, 1] for s in document["shots"])  # q0 reset
    schema = get_format_schema.sync("ionq.result.shots.json.v2", client=client)
    assert schema is not None


def test_clone_and_move(client: AuthenticatedClient, api: httpx.Client) -> None:
    original = submit(client, circuit_job(BELL, 2, shots=100, name="to-clone"))
    wait_for_job(client, original, poll_interval=POLL)
    cloned = clone_job.sync(original, client=client, body=CloneJobPayload.from_dict({"shots": 40}))
    assert cloned is not None and cloned.status == "submitted"
    job = wait_for_job(client, str(cloned.id), poll_interval=POLL)
    assert (job.name, job.shots) == ("to-clone", 40)

    holder = hold_worker(api)
    try:
        queued = submit(client, circuit_job(BELL, 2, shots=100))
        moved = move_job.sync(queued, client=client, body=CloneJobPayload.from_dict({"name": "m"}))
        assert moved is not None and moved.status == "submitted"
        assert wait_for_job(client, queued, poll_interval=POLL).status == "canceled"
    finally:
        api.put(f"/jobs/{holder}/status/cancel")
    done = wait_for_job(client, str(moved.id), poll_interval=POLL)
    assert done.status == "completed" and done.name == "m"
