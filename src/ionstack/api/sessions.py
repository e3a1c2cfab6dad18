"""The session endpoints (semantics.md §7). Every rule lives in ``service/sessions.py``.

Reads run in a write transaction: evaluating a session's limits may end it (and cancel its
queued jobs) on the spot.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ionstack.api.bodies import json_body
from ionstack.api.deps import State
from ionstack.api.jobs import job_wire
from ionstack.api.state import AppState
from ionstack.service import accounts, lifecycle
from ionstack.service import sessions as service
from ionstack.store.database import transaction

router = APIRouter(tags=["sessions"])


def _now() -> datetime:
    return datetime.now(UTC)


@router.post("/sessions", status_code=201, operation_id="CreateSession")
async def create_session(request: Request, state: State) -> JSONResponse:
    """Open a session on a backend, optionally with limits. 201 with the Session."""
    body = await json_body(request, required=True)
    authorization = request.headers.get("authorization")
    wire = await run_in_threadpool(_create, state, body, authorization)
    return JSONResponse(wire, status_code=201)


def _create(state: AppState, body: object, authorization: str | None) -> dict[str, Any]:
    with transaction(state.sessions, write=True) as db:
        caller = accounts.authenticate(db, authorization)
        row = service.create(
            db,
            body,
            caller=caller,
            catalog=state.backends.catalog,
            settings=state.settings,
            now=_now(),
        )
        return service.wire(row)


@router.get("/sessions", operation_id="GetSessions")
def get_sessions(request: Request, state: State, active: bool | None = None) -> JSONResponse:
    """The sessions of the key's project, newest first; ``active`` filters."""
    with transaction(state.sessions, write=True) as db:
        caller = accounts.authenticate(db, request.headers.get("authorization"))
        rows = service.listing(db, caller, active=active, now=_now())
        usage = service.usage_times(db, [r.id for r in rows])
        body = {
            "organization_id": caller.organization_id,
            "sessions": [service.wire(r, usage_time_ms=usage.get(r.id, 0)) for r in rows],
        }
    return JSONResponse(body)


@router.get("/sessions/{session_id}", operation_id="GetSession")
def get_session(session_id: str, request: Request, state: State) -> JSONResponse:
    """One session (404 if unknown or of another project)."""
    with transaction(state.sessions, write=True) as db:
        caller = accounts.authenticate(db, request.headers.get("authorization"))
        row = service.get(db, caller, session_id, now=_now())
        body = service.wire(row, usage_time_ms=service.usage_times(db, [row.id]).get(row.id, 0))
    return JSONResponse(body)


@router.post("/sessions/{session_id}/end", operation_id="EndSession")
def end_session(session_id: str, request: Request, state: State) -> JSONResponse:
    """End a session: it accepts no more jobs; jobs already submitted still run. Idempotent."""
    with transaction(state.sessions, write=True) as db:
        caller = accounts.authenticate(db, request.headers.get("authorization"))
        row = service.end(db, caller, session_id, now=_now())
        body = service.wire(row, usage_time_ms=service.usage_times(db, [row.id]).get(row.id, 0))
    return JSONResponse(body)


@router.get("/sessions/{session_id}/jobs", operation_id="GetSessionJobs")
def get_session_jobs(
    session_id: str,
    request: Request,
    state: State,
    ids: Annotated[list[str] | None, Query()] = None,
    status: str | None = None,
    target: str | None = None,
    parent_job_id: str | None = None,
    submitter_id: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    next: str | None = None,
) -> JSONResponse:
    """The session's jobs, like ``GET /jobs?session_id=…``."""
    with transaction(state.sessions, write=True) as db:
        caller = accounts.authenticate(db, request.headers.get("authorization"))
        found = service.get(db, caller, session_id, now=_now())
        page = lifecycle.list_jobs(
            db,
            caller,
            ids=ids,
            status=status,
            target=target,
            parent_job_id=parent_job_id,
            session_id=found.id,
            submitter_id=submitter_id,
            limit=limit,
            next_id=next,
        )
        body = {"jobs": [job_wire(j, listing=True) for j in page.jobs], "next": page.next}
    return JSONResponse(body)
