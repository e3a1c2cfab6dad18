"""Endpoints of IonQ's newer v0.4 revision (September 2026) beside the older contract: job
artifacts, format schemas, clone and move (issue 15; README "IonQ's newer v0.4 revision")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ionstack.api.bodies import json_body
from ionstack.api.deps import Authorization, State, as_caller
from ionstack.api.jobs import job_id_param
from ionstack.api.responses import Json
from ionstack.errors import NotFound
from ionstack.service import accounts, artifacts, clones, formats, lifecycle
from ionstack.service.jobs import Created

router = APIRouter(tags=["jobs"])


@router.get("/jobs/{UUID}/artifacts/{artifactId}", operation_id="GetJobArtifact")
async def get_job_artifact(
    UUID: str, artifactId: str, state: State, authorization: Authorization
) -> Json:
    """An artifact named by one of the job's ``ArtifactDescriptor``s (its results, its
    compiled circuits); 404 for an id the job does not name."""

    def work(db: Session, caller: accounts.Caller) -> Json:
        job = lifecycle.get_job(db, caller, job_id_param(UUID))
        return Json(artifacts.render(db, job, artifactId))

    return await as_caller(state, authorization, work)


@router.get("/schemas/formats/{format}", operation_id="GetFormatSchema")
async def get_format_schema(format: str, state: State, authorization: Authorization) -> Json:
    """The JSON Schema (draft-07) of an artifact format of the spec's ``Formats`` enum."""

    def work(db: Session, caller: accounts.Caller) -> Json:
        schema = formats.schema(format)
        if schema is None:
            raise NotFound(f"Unknown format {format!r}; known: {', '.join(formats.known())}.")
        return Json(schema)

    return await as_caller(state, authorization, work)


def _created(created: Created) -> Json:
    return Json(
        {"id": created.id, "status": "submitted", "session_id": created.session_id},
        status_code=201,
    )


@router.post("/jobs/{UUID}/clone", status_code=201, operation_id="CloneJob")
async def clone_job(UUID: str, request: Request, state: State) -> Json:
    """A new job from this job's request, with the body's fields in place of its own (README
    "Clone and move")."""
    body: Any = await json_body(request, required=False)
    authorization = request.headers.get("authorization")
    idempotency_key = request.headers.get("idempotency-key") or None
    job_id = job_id_param(UUID)

    def work(db: Session, caller: accounts.Caller) -> Created:
        return clones.clone(
            db,
            job_id,
            body,
            caller=caller,
            catalog=state.backends.catalog,
            settings=state.settings,
            now=datetime.now(UTC),
            idempotency_key=idempotency_key,
        )

    created = await as_caller(state, authorization, work, write=True)
    if not created.replayed:
        await run_in_threadpool(state.wakeup.notify)
    return _created(created)


@router.post("/jobs/{UUID}/move", status_code=201, operation_id="MoveJob")
async def move_job(UUID: str, request: Request, state: State) -> Json:
    """Re-submit a job that has not started with the body's changes (another backend,
    session, shots…) and cancel the original, in one transaction (README "Clone and move")."""
    body: Any = await json_body(request, required=False)
    authorization = request.headers.get("authorization")
    job_id = job_id_param(UUID)

    def work(db: Session, caller: accounts.Caller) -> tuple[Created, list[str]]:
        return clones.move(
            db,
            job_id,
            body,
            caller=caller,
            catalog=state.backends.catalog,
            settings=state.settings,
            now=datetime.now(UTC),
        )

    created, changed = await as_caller(state, authorization, work, write=True)
    await run_in_threadpool(state.wakeup.notify)
    await run_in_threadpool(state.wakeup.finished, changed)
    return _created(created)
