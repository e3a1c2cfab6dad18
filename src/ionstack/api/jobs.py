"""The job endpoints: submit, read, list, cancel, delete, results, variants, circuits, cost.

Handlers map HTTP to service calls; every rule lives in ``service/``. Bodies are read leniently
(clients.md §0 item 5): JSON without a Content-Type, empty bodies on PUT/DELETE, JSON bodies on
GET are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ionstack.api.bodies import json_body as _json_body
from ionstack.api.deps import Authorization, State, as_caller
from ionstack.api.responses import Json
from ionstack.api.state import AppState
from ionstack.api.submissions import Submissions
from ionstack.errors import BadRequest, NotFound
from ionstack.metrics import Metrics
from ionstack.service import accounts, artifacts, billing, lifecycle, results
from ionstack.service.circuits import compiled_circuit
from ionstack.store.database import transaction
from ionstack.store.tables import Job
from ionstack.times import iso_z

router = APIRouter(tags=["jobs"])

JobKind = Literal["probabilities", "histogram", "shots"]


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return iso_z(moment) if moment is not None else None


def job_wire(job: Job, *, listing: bool = False, wait_ms: int = 0) -> dict[str, Any]:
    """A job in the spec's shape (``GetCircuitJobResponse``; ``BaseJob`` in listings)."""
    terminal = job.status in ("completed", "failed", "canceled")
    out: dict[str, Any] = {
        "id": job.id,
        "status": job.status,
        "type": job.type,
        "backend": job.backend,
        "dry_run": job.dry_run,
        "submitter_id": job.submitter_id,
        "project_id": job.project_id,
        "parent_job_id": job.parent_id,
        "session_id": job.session_id,
        "metadata": job.job_metadata,
        "name": job.name,
        "submitted_at": _iso(job.submitted_at),
        "started_at": _iso(job.started_at),
        "completed_at": _iso(job.completed_at),
        "predicted_wait_time_ms": None if terminal else wait_ms,
        "predicted_execution_duration_ms": None if terminal else job.predicted_execution_ms,
        "execution_duration_ms": job.execution_duration_ms,
        "shots": job.shots,
        "failure": job.failure,
        "output": _output(job),
        "settings": job.settings or {},
        "stats": job.stats or {},
        "results": results.result_urls(job),
    }
    if job.noise is not None:
        out["noise"] = job.noise
    if job.shots is None:
        del out["shots"]
    if not listing:
        out["child_job_ids"] = job.child_ids
    return out


def _output(job: Job) -> dict[str, Any]:
    """The stored ``output``, plus the compiled circuits of a completed leaf circuit or qasm3
    job as artifact descriptors (``output.compilation.compiled_circuits``, IonQ's newer
    revision; qiskit-ionq's ``job.compiled_circuit()``)."""
    output: dict[str, Any] = dict(job.output or {})
    if job.status == "completed":
        compiled = artifacts.compiled_descriptors(job)
        if compiled:
            compilation = dict(output.get("compilation") or {})
            compilation["compiled_circuits"] = compiled
            output["compilation"] = compilation
    return output


def job_id_param(value: str) -> str:
    """The ``UUID`` path parameter, normalized; 400 when it is not a UUID."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise BadRequest('"UUID" must be a valid UUID', keys=["UUID"], source="params") from None


# --- create ------------------------------------------------------------------------------------


@router.post("/jobs", status_code=201, operation_id="CreateJob")
async def create_job(request: Request) -> Json:
    """Submit a job. 201 ``{"id","status":"submitted","session_id"}`` once it is durable."""
    body = await _json_body(request, required=True)
    authorization = request.headers.get("authorization")
    idempotency_key = request.headers.get("idempotency-key") or None
    submissions: Submissions = request.app.state.submissions
    created = await submissions.submit(
        body, authorization=authorization, idempotency_key=idempotency_key
    )
    return Json(
        {"id": created.id, "status": "submitted", "session_id": created.session_id},
        status_code=201,
    )


# --- read and list -----------------------------------------------------------------------------


@router.get("/jobs", operation_id="GetJobs")
async def get_jobs(
    state: State,
    authorization: Authorization,
    ids: Annotated[list[str] | None, Query()] = None,
    id: Annotated[list[str] | None, Query(description="Alias of ids")] = None,
    status: str | None = None,
    target: str | None = None,
    parent_job_id: str | None = None,
    session_id: str | None = None,
    submitter_id: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    next: str | None = None,
    search: Annotated[
        str | None,
        Query(
            max_length=200,
            description="ionstack extension: jobs whose name contains it or whose id starts "
            "with it",
        ),
    ] = None,
) -> Json:
    """Jobs of the key's project, newest first; ``next`` is always present (null at the end)."""

    def work(db: Session, caller: accounts.Caller) -> Json:
        page = lifecycle.list_jobs(
            db,
            caller,
            ids=(ids or []) + (id or []) or None,
            status=status,
            target=target,
            parent_job_id=parent_job_id,
            session_id=session_id,
            submitter_id=submitter_id,
            limit=limit,
            next_id=next,
            search=search,
        )
        jobs = [job_wire(j, listing=True) for j in page.jobs]
        return Json({"jobs": jobs, "next": page.next})

    return await as_caller(state, authorization, work)


@router.get("/jobs/{UUID}", operation_id="GetJob")
async def get_job(
    UUID: str,
    request: Request,
    state: State,
    authorization: Authorization,
    include: Annotated[
        str | None,
        Query(description="ionstack extension: `input` adds the job's input as submitted"),
    ] = None,
) -> Json:
    """One job. On a job that has not finished (and is predicted to finish soon) the answer
    waits up to ``IONSTACK_POLL_HOLD_S`` for it to finish, so a client's first status poll
    after its POST finds a small job completed (README "Jobs", held polls)."""

    def read() -> tuple[dict[str, Any], bool]:
        return _read_job(state, authorization, UUID, include=include)

    hold = state.settings.poll_hold_s
    key = _uuid_or_none(UUID)
    if key is None or hold <= 0:
        body, _ = await run_in_threadpool(read)
        return Json(body)
    with state.completions.watch(key) as finished:  # registered before the first read
        body, holdable = await run_in_threadpool(read)
        if holdable:
            metrics: Metrics | None = getattr(request.app.state, "metrics", None)
            waiting = metrics.held_polls_waiting if metrics is not None else None
            if waiting is not None:
                waiting.inc()
            try:
                body, outcome = await _hold(
                    read, finished, hold_s=hold, recheck_s=state.settings.poll_recheck_s
                )
            finally:
                if waiting is not None:
                    waiting.dec()
            if metrics is not None:
                metrics.held_polls.labels(outcome=outcome).inc()
    return Json(body)


async def _hold(
    read: Callable[[], tuple[dict[str, Any], bool]],
    finished: asyncio.Event,
    *,
    hold_s: float,
    recheck_s: float,
) -> tuple[dict[str, Any], str]:
    """Wait for the job to finish (its signal, or a re-read on the timer), up to ``hold_s``.
    Returns the job as it stands then, and how the hold ended (the metric's outcome)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + hold_s
    while True:
        signalled = False
        left = deadline - loop.time()
        if left > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), timeout=min(left, recheck_s))
            signalled = finished.is_set()
            finished.clear()
        body, holdable = await run_in_threadpool(read)
        if not holdable:
            return body, "finished" if signalled else "rechecked"
        if deadline - loop.time() <= 0:
            return body, "expired"


def _read_job(
    state: AppState, authorization: str | None, raw_id: str, *, include: str | None
) -> tuple[dict[str, Any], bool]:
    """The job's wire body, and whether a poll on it may be held (one short transaction)."""
    with transaction(state.sessions) as db:
        caller = accounts.authenticate(db, authorization)
        job = lifecycle.read_job(db, caller, job_id_param(raw_id))
        queued = job.status in ("submitted", "ready")
        wait = lifecycle.predicted_wait_ms(db, job) if queued else 0
        body = job_wire(job, wait_ms=wait)
        if include and "input" in (part.strip() for part in include.split(",")):
            body["input"] = {k: v for k, v in job.input.items() if k != "dynamic"}
        return body, lifecycle.finishes_within(
            job,
            wait_ms=wait,
            seconds=state.settings.poll_hold_s,
            emulate_qpu_duration=state.settings.emulate_qpu_duration,
            now=_now(),
        )


def _uuid_or_none(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


# --- cancel and delete -------------------------------------------------------------------------


@router.put("/jobs/{UUID}/status/cancel", operation_id="CancelJob")
async def cancel_job(UUID: str, state: State, authorization: Authorization) -> Json:
    """Cancel a job that has not finished; on a finished job this is a no-op (200)."""

    def work(db: Session, caller: accounts.Caller) -> tuple[str, list[str]]:
        job = lifecycle.get_job(db, caller, job_id_param(UUID))
        return job.id, lifecycle.cancel(db, job, now=_now())

    job_id, changed = await as_caller(state, authorization, work, write=True)
    await run_in_threadpool(state.wakeup.finished, changed)
    return Json({"id": job_id, "status": "canceled"})


@router.put("/jobs/status/cancel", operation_id="CancelJobs")
async def cancel_jobs(request: Request, state: State) -> Json:
    """Cancel many jobs; unknown or foreign ids are skipped."""
    ids = _bulk_ids(await _json_body(request, required=True))
    authorization = request.headers.get("authorization")
    done = await run_in_threadpool(_bulk, state, ids, authorization=authorization, delete=False)
    return Json({"ids": done, "status": "canceled"})


@router.delete("/jobs/{UUID}", operation_id="DeleteJob")
async def delete_job(UUID: str, state: State, authorization: Authorization) -> Json:
    """Delete a job (cancelling it first if needed); it is 404 from then on."""

    def work(db: Session, caller: accounts.Caller) -> tuple[str, list[str]]:
        job = lifecycle.get_job(db, caller, job_id_param(UUID))
        return job.id, lifecycle.delete(db, job, now=_now())

    job_id, changed = await as_caller(state, authorization, work, write=True)
    await run_in_threadpool(state.wakeup.finished, changed)
    return Json({"id": job_id, "status": "deleted"})


@router.delete("/jobs", operation_id="DeleteJobs")
async def delete_jobs(request: Request, state: State) -> Json:
    """Delete many jobs; unknown or foreign ids are skipped."""
    ids = _bulk_ids(await _json_body(request, required=True))
    authorization = request.headers.get("authorization")
    done = await run_in_threadpool(_bulk, state, ids, authorization=authorization, delete=True)
    return Json({"ids": done, "status": "deleted"})


def _bulk_ids(body: Any) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("ids"), list):
        raise BadRequest('"ids" is required', keys=["ids"], source="payload")
    extra = sorted(set(body) - {"ids"})
    if extra:
        raise BadRequest(f'"{extra[0]}" is not allowed', keys=extra, source="payload")
    if not all(isinstance(i, str) for i in body["ids"]):
        raise BadRequest('"ids" must be an array of strings', keys=["ids"], source="payload")
    if len(body["ids"]) > 1000:
        raise BadRequest('"ids" must contain at most 1000 ids', keys=["ids"], source="payload")
    return list(body["ids"])


def _bulk(state: AppState, ids: list[str], *, authorization: str | None, delete: bool) -> list[str]:
    done: list[str] = []
    changed: list[str] = []
    with transaction(state.sessions, write=True) as db:
        caller = accounts.authenticate(db, authorization)
        for raw in ids:
            try:
                job = lifecycle.get_job(db, caller, raw)
            except NotFound:
                continue
            if delete:
                changed += lifecycle.delete(db, job, now=_now())
            else:
                changed += lifecycle.cancel(db, job, now=_now())
            done.append(job.id)
    state.wakeup.finished(changed)
    return done


# --- results -----------------------------------------------------------------------------------


async def _results(
    state: AppState,
    authorization: str | None,
    UUID: str,
    kind: JobKind,
    sharpen: str | None,
    aggregation: str | None,
) -> Json:
    def work(db: Session, caller: accounts.Caller) -> Json:
        job = lifecycle.read_job(db, caller, job_id_param(UUID))
        how = results.aggregation_of(sharpen, aggregation)
        return Json(results.job_results(db, job, kind, aggregation=how))

    return await as_caller(state, authorization, work)


@router.get("/jobs/{UUID}/results/probabilities", operation_id="GetJobProbabilities")
async def get_probabilities(
    UUID: str,
    state: State,
    authorization: Authorization,
    sharpen: str | None = None,
    aggregation: str | None = None,
) -> Json:
    """Outcome probabilities (decimal keys, qubit 0 least significant); a multi-circuit parent
    gives ``{child_id: {...}}`` in circuit order. 404 until the job has completed."""
    return await _results(state, authorization, UUID, "probabilities", sharpen, aggregation)


@router.get("/jobs/{UUID}/results/probabilities/aggregated", include_in_schema=False)
async def get_probabilities_aggregated(
    UUID: str,
    state: State,
    authorization: Authorization,
    sharpen: str | None = None,
    aggregation: str | None = None,
) -> Json:
    """Alias used by cirq-ionq's batch results."""
    return await _results(state, authorization, UUID, "probabilities", sharpen, aggregation)


@router.get("/jobs/{UUID}/results/histogram", operation_id="GetJobHistogram")
async def get_histogram(UUID: str, state: State, authorization: Authorization) -> Json:
    """Counts per outcome, summing to the shots run (sampled jobs only)."""
    return await _results(state, authorization, UUID, "histogram", None, None)


@router.get("/jobs/{UUID}/results/shots", operation_id="GetJobShots")
async def get_shots(UUID: str, state: State, authorization: Authorization) -> Json:
    """Every shot's outcome in execution order (sampled jobs only)."""
    return await _results(state, authorization, UUID, "shots", None, None)


@router.get("/jobs/{UUID}/variants/{variantId}/results/{kind}", operation_id="GetVariantResults")
async def get_variant_results(
    UUID: str,
    variantId: str,
    kind: JobKind,
    state: State,
    authorization: Authorization,
) -> Json:
    """One debiasing variant's results."""

    def work(db: Session, caller: accounts.Caller) -> Json:
        job = lifecycle.get_job(db, caller, job_id_param(UUID))
        return Json(results.variant_results(db, job, variantId, kind))

    return await as_caller(state, authorization, work)


# --- compiled circuits and cost ----------------------------------------------------------------


@router.get("/jobs/{UUID}/circuits/{lang}", operation_id="GetCompiledFile")
async def get_compiled_file(
    UUID: str,
    lang: Literal["native", "qasm3"],
    state: State,
    authorization: Authorization,
) -> Json:
    """The circuit the job ran (or would run): native JSON or OpenQASM 3, as a JSON string."""

    def work(db: Session, caller: accounts.Caller) -> Json:
        job = lifecycle.get_job(db, caller, job_id_param(UUID))
        return Json(compiled_circuit(job, lang))

    return await as_caller(state, authorization, work)


@router.get("/jobs/{UUID}/cost", operation_id="GetJobCost")
async def get_job_cost(UUID: str, state: State, authorization: Authorization) -> Json:
    """Estimated cost from creation; the charged cost once the job is terminal."""

    def work(db: Session, caller: accounts.Caller) -> Json:
        return Json(billing.cost_body(lifecycle.read_job(db, caller, job_id_param(UUID))))

    return await as_caller(state, authorization, work)
