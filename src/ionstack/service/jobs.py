"""Creating jobs: the rules between a valid request and a durable job row (design.md steps 2–3).

A request that passes the schema checks is parsed by the quantum core; a circuit it rejects
makes a job that is created ``failed`` (semantics.md §5.2, §5.4). Otherwise the job row — and
one child row per circuit of a multi-circuit job — is written in one transaction, ``ready`` for
the workers (or ``completed`` at once for a dry run). The caller commits, then wakes workers.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ionstack import ids
from ionstack.catalog import Backend, Catalog, Timing
from ionstack.errors import BadRequest, JobFailure
from ionstack.logs import job_event
from ionstack.quantum.circuit import Circuit, parse_input
from ionstack.quantum.compile import gate_counts
from ionstack.quantum.program import Program
from ionstack.quantum.qasm3 import parse_program
from ionstack.service import billing, functions, sessions
from ionstack.service.accounts import Caller
from ionstack.service.circuits import MODEL_FAMILY
from ionstack.service.submission import (
    QASM3_JOB,
    JobRequest,
    Limits,
    check_request,
    parse_payload,
)
from ionstack.service.timing import (
    DEBIAS_VARIANT_OVERHEAD_US,
    circuit_qct_us,
    timing_for,
    variant_count,
)
from ionstack.settings import Settings
from ionstack.store import jobs as repo
from ionstack.store.tables import Job

logger = logging.getLogger(__name__)

NATIVE_2Q = {"ms": "ms", "zz": "zz"}
MAX_IDEMPOTENCY_KEY_LEN = 200  #: the width of ``jobs.idempotency_key``
#: widest circuit each noise model emulates (semantics.md §4)
MODEL_MAX_QUBITS = {
    "aria-1": 25,
    "aria-2": 25,
    "harmony": 11,
    "harmony-1": 11,
    "harmony-2": 11,
    "forte-1": 36,
    "forte-enterprise-1": 36,
}


@dataclass(frozen=True, kw_only=True)
class Created:
    """What ``POST /jobs`` answers (201)."""

    id: str
    session_id: str | None
    replayed: bool = False  #: an Idempotency-Key retry of an earlier request


def limits_from(settings: Settings) -> Limits:
    return Limits(
        max_shots=settings.max_shots,
        max_circuits=settings.max_circuits,
        max_total_gates=settings.max_total_gates,
        debias_min_shots=settings.debias_min_shots,
        default_shots=settings.default_shots,
    )


def submit(
    db: Session,
    body: object,
    *,
    caller: Caller,
    catalog: Catalog,
    settings: Settings,
    now: datetime,
    idempotency_key: str | None = None,
) -> Created:
    """Validate a job request and write its rows (not committed: the caller commits)."""
    if idempotency_key is not None and len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LEN:
        raise BadRequest(
            f'"idempotency-key" must be at most {MAX_IDEMPOTENCY_KEY_LEN} characters',
            keys=["idempotency-key"],
            source="headers",
        )
    if idempotency_key:
        earlier = repo.by_idempotency_key(db, caller.project_id, idempotency_key)
        if earlier is not None:
            return Created(id=earlier.id, session_id=earlier.session_id, replayed=True)
    try:
        # Everything this submission writes is in a savepoint of its own: a refusal (400, …)
        # or a lost race leaves the caller's transaction as it was, so several submissions
        # can share one transaction (group commit, api/submissions.py).
        with db.begin_nested():
            return _create(
                db,
                body,
                caller=caller,
                catalog=catalog,
                settings=settings,
                now=now,
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        # A concurrent retry with the same Idempotency-Key won the race (PostgreSQL).
        if idempotency_key:
            earlier = repo.by_idempotency_key(db, caller.project_id, idempotency_key)
            if earlier is not None:
                return Created(id=earlier.id, session_id=earlier.session_id, replayed=True)
        raise


def _create(
    db: Session,
    body: object,
    *,
    caller: Caller,
    catalog: Catalog,
    settings: Settings,
    now: datetime,
    idempotency_key: str | None,
) -> Created:
    limits = limits_from(settings)
    payload = parse_payload(body, limits=limits)
    request = check_request(
        payload,
        catalog=catalog,
        limits=limits,
        qpu_access=caller.qpu_access,
        draw_seed=lambda: secrets.randbelow(2**31 - 1) + 1,
    )
    # --- sessions (service/sessions.py): 400 when the session cannot take this job
    session = None
    if payload.session_id is not None:
        session = sessions.admit(
            db, payload.session_id, caller=caller, backend=request.backend.name, now=now
        )
    timing = timing_for(db, request.backend, catalog)
    program: Program | None = None
    try:
        if payload.type == QASM3_JOB:
            circuits = []
            program = _program(request)
            _check_width(request, program.qubits, settings)
            one, two = program.gate_counts()
            stats = _stats(request, [({"1q": one, "2q": two}, program.qubits)], timing, settings)
        else:
            circuits = _parse(request)
            _check_limits(request, circuits, settings)
            counted = [(gate_counts(c), c.qubits) for c in circuits]
            stats = _stats(request, counted, timing, settings)
        failure = None
    except JobFailure as exc:
        circuits, stats, failure = [], {}, exc.failure()
    # --- cost (service/billing.py): price, session cost limit, budget reservation
    rates = billing.rates_for(db, request.backend.name)
    estimate = 0.0
    if failure is None:
        estimate = billing.job_price(rates, stats=stats, shots=request.shots, em=request.debiasing)
    if session is not None and not payload.dry_run:
        sessions.check_cost(db, session, estimate)
    if failure is None and not payload.dry_run:
        failure = billing.check_funds(
            db,
            project_id=caller.project_id,
            organization_id=caller.organization_id,
            amount=estimate,
        )
    job = _job_row(request, caller=caller, now=now, stats=stats, failure=failure)
    job.idempotency_key = idempotency_key
    job.estimated_cost = estimate
    if session is not None:
        job.session_id = session.id
        job.priority = sessions.SESSION_PRIORITY
    if circuits and payload.type == "ionq.circuit.v1":
        job.input = {**request.circuits_raw[0], "qubits": circuits[0].qubits}
    if program is not None:
        # ``dynamic`` is ours (not echoed): whether a flat native gate list can hold it
        job.input = {
            **request.circuits_raw[0],
            "qubits": program.qubits,
            "dynamic": program.dynamic,
        }
    children: list[Job] = []
    if failure is None and payload.type == "ionq.multi-circuit.v1":
        children = [
            _child_row(job, raw, index=i, circuit=c, timing=timing, settings=settings)
            for i, (raw, c) in enumerate(zip(request.circuits_raw, circuits, strict=True))
        ]
        job.child_ids = [c.id for c in children]
        billing.price_children(rates, children)
    repo.insert_new(db, job)  # written now; ``job`` stays out of the session (one statement)
    if children:
        db.add_all(children)
    if session is not None:
        sessions.joined(db, session, job, now=now)
    db.flush()
    _log_created(job, caller=caller)
    return Created(id=job.id, session_id=job.session_id)


def _log_created(job: Job, *, caller: Caller) -> None:
    """One line for the submission; one more when the job is already terminal."""
    project, backend = caller.project_id, job.backend
    job_event(
        logger,
        "job_submitted",
        job_id=job.id,
        project_id=project,
        backend=backend,
        session_id=job.session_id,
        dry_run=job.dry_run or None,
    )
    if job.status == "failed":
        code = (job.failure or {}).get("code")
        job_event(
            logger, "job_failed", job_id=job.id, project_id=project, backend=backend, code=code
        )
    elif job.status == "completed":
        job_event(
            logger,
            "job_completed",
            job_id=job.id,
            project_id=project,
            backend=backend,
            duration_ms=0,
        )


def _parse(request: JobRequest) -> list[Circuit]:
    inp: dict[str, Any] = request.payload.input
    if request.payload.type in functions.FUNCTION_TYPES:
        return functions.accounting_circuits(request.payload.type, inp)
    return parse_input(inp, job_type=request.payload.type)


def emulated_family(request_backend: Backend, noise_model: str | None) -> tuple[str, ...]:
    """The native entangling gates a job may use (semantics.md §1.2 backend support)."""
    if request_backend.is_qpu:
        return request_backend.native_2q
    if noise_model in MODEL_FAMILY:
        return (MODEL_FAMILY[noise_model],)
    return ("ms", "zz")


def _program(request: JobRequest) -> Program:
    raw = request.circuits_raw[0]
    return parse_program(str(raw["data"]), qubits=raw.get("qubits"))


def _check_width(request: JobRequest, qubits: int, settings: Settings) -> None:
    backend = request.backend
    if backend.is_qpu and request.shots > settings.qpu_max_shots:
        raise JobFailure(
            "TooManyShots",
            f"{request.shots} shots exceed the limit of {settings.qpu_max_shots} "
            f"for {backend.name}.",
        )
    max_qubits = _max_qubits(request, settings)
    if qubits > max_qubits:
        raise JobFailure(
            "NotEnoughQubits",
            f"The circuit uses {qubits} qubits; {_target(request)} has {max_qubits}.",
        )


def _check_limits(request: JobRequest, circuits: Sequence[Circuit], settings: Settings) -> None:
    backend = request.backend
    allowed = emulated_family(backend, request.noise_model)
    for circuit in circuits:
        _check_width(request, circuit.qubits, settings)
        used = sorted({g.name for g in circuit.gates if g.name in NATIVE_2Q} - set(allowed))
        if circuit.gateset == "native" and used:
            raise JobFailure(
                "UnsupportedGate",
                f"Gate types [{', '.join(used)}] are not supported by this backend",
            )
        if backend.is_qpu:
            widest = max((len(g.controls) for g in circuit.gates), default=0)
            if widest > settings.qpu_max_controls:
                raise JobFailure(
                    "TooManyControls",
                    f"A gate has {widest} controls; {backend.name} allows at most "
                    f"{settings.qpu_max_controls}.",
                )


def _target(request: JobRequest) -> str:
    if request.backend.is_qpu:
        return request.backend.name
    return f"the {request.noise_model} simulator"


def _max_qubits(request: JobRequest, settings: Settings) -> int:
    if request.backend.is_qpu:
        return min(request.backend.qubits, settings.emulation_max_qubits)
    model = request.noise_model or "ideal"
    if model == "ideal":
        return settings.simulator_max_qubits
    return min(
        MODEL_MAX_QUBITS.get(model, settings.emulation_max_qubits), settings.emulation_max_qubits
    )


def _stats(
    request: JobRequest,
    counted: Sequence[tuple[dict[str, int], int]],
    timing: Timing,
    settings: Settings,
) -> dict[str, Any]:
    """Stats of the job from each circuit's (gate counts, width)."""
    totals = {"1q": 0, "2q": 0}
    qct = 0.0
    for counts, _width in counted:
        totals["1q"] += counts.get("1q", 0)
        totals["2q"] += counts.get("2q", 0)
        qct += circuit_qct_us(counts, request.shots, timing)
    if request.debiasing:
        qct += variant_count(request.shots) * DEBIAS_VARIANT_OVERHEAD_US
    predicted_us = math.ceil(qct)
    if predicted_us > settings.max_predicted_hours * 3600e6:
        raise JobFailure(
            "TooLongPredictedExecutionTime",
            f"The predicted execution time ({predicted_us / 3600e6:.1f} h) exceeds "
            f"{settings.max_predicted_hours:g} h.",
        )
    kw = request.backend.kw or 0.0
    return {
        "qubits": max((width for _counts, width in counted), default=0),
        "circuits": len(counted),
        "gate_counts": totals,
        "kwh": kw * predicted_us / 3600e6,
        "predicted_quantum_compute_time_us": predicted_us,
    }


def _settings_echo(request: JobRequest) -> dict[str, Any]:
    """The job's ``settings`` as echoed (semantics.md §5.12)."""
    if request.payload.type in functions.FUNCTION_TYPES:
        return functions.settings_echo(request.debiasing, request.external)
    payload_settings = request.payload.settings
    compilation: dict[str, Any] = {}
    if payload_settings and payload_settings.compilation:
        compilation = payload_settings.compilation.model_dump(
            include={"opt", "precision", "gate_basis", "service_version"}, exclude_none=True
        )
    mitigation: dict[str, Any] = {}
    em = payload_settings.error_mitigation if payload_settings else None
    if em is not None and em.symmetry_verification is not None:
        mitigation["symmetry_verification"] = em.symmetry_verification
    if request.backend.is_qpu:
        compilation["gate_basis"] = request.backend.gate_basis
        return {
            "compilation": compilation,
            "error_mitigation": {"debiasing": request.debiasing, **mitigation},
        }
    if mitigation:
        return {"compilation": compilation, "error_mitigation": mitigation}
    return {"compilation": compilation}


def _job_row(
    request: JobRequest,
    *,
    caller: Caller,
    now: datetime,
    stats: dict[str, Any],
    failure: dict[str, str] | None,
) -> Job:
    payload = request.payload
    multi = payload.type == "ionq.multi-circuit.v1"
    status = "failed" if failure else ("completed" if payload.dry_run else "ready")
    predicted = stats.get("predicted_quantum_compute_time_us")
    return Job(
        id=ids.uuid7(),
        project_id=caller.project_id,
        submitter_id=caller.user_id,
        key_id=caller.key_id,
        type=payload.type,
        backend=request.backend.name,
        status=status,
        is_parent=multi and failure is None,
        priority=1,
        dry_run=payload.dry_run,
        name=payload.name,
        job_metadata=payload.metadata,
        shots=request.shots,
        noise=_noise_echo(request),
        settings=_settings_echo(request),
        input=payload.input if multi else request.circuits_raw[0],
        child_ids=[] if multi else None,
        stats=stats,
        output={},
        failure=failure,
        predicted_execution_ms=None if predicted is None else math.ceil(predicted / 1000),
        submitted_at=now,
        completed_at=now if status in ("failed", "completed") else None,
        execution_duration_ms=0 if payload.dry_run and not failure else None,
        attempts=0,
    )


def _noise_echo(request: JobRequest) -> dict[str, Any] | None:
    if request.backend.is_qpu:
        return None
    echo: dict[str, Any] = {"model": request.noise_model or "ideal"}
    if request.noise_seed is not None:
        echo["seed"] = request.noise_seed
    return echo


def _child_row(
    parent: Job,
    raw: dict[str, Any],
    *,
    index: int,
    circuit: Circuit,
    timing: Timing,
    settings: Settings,
) -> Job:
    counts = gate_counts(circuit)
    qct = math.ceil(circuit_qct_us(counts, parent.shots or 0, timing))
    return Job(
        id=ids.uuid7(),
        project_id=parent.project_id,
        submitter_id=parent.submitter_id,
        key_id=parent.key_id,
        parent_id=parent.id,
        circuit_index=index,
        session_id=parent.session_id,
        type="ionq.circuit.v1",
        backend=parent.backend,
        status=parent.status,
        is_parent=False,
        priority=parent.priority,
        dry_run=parent.dry_run,
        name=raw.get("name"),
        job_metadata=None,
        shots=parent.shots,
        noise=parent.noise,
        settings=parent.settings,
        input={**raw, "qubits": circuit.qubits},
        child_ids=None,
        stats={
            "qubits": circuit.qubits,
            "circuits": 1,
            "gate_counts": counts,
            "kwh": 0.0,
            "predicted_quantum_compute_time_us": qct,
        },
        output={},
        failure=None,
        predicted_execution_ms=math.ceil(qct / 1000),
        submitted_at=parent.submitted_at,
        completed_at=parent.completed_at,
        execution_duration_ms=parent.execution_duration_ms,
        attempts=0,
    )
