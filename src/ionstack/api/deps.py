"""Typed FastAPI dependencies: the app state, a database session, the authenticated caller.

Hot routes (job reads, results) use :func:`as_caller` instead of the ``Db``/``Caller``
dependencies: FastAPI runs each sync dependency and the sync handler in its own thread-pool hop,
while :func:`as_caller` authenticates and does the route's work in one hop, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ionstack.api.state import AppState
from ionstack.service import accounts
from ionstack.store.database import transaction

api_key_header = APIKeyHeader(
    name="Authorization",
    scheme_name="apiKeyAuth",
    description="`Authorization: apiKey YOUR-KEY`",
    auto_error=False,
)


async def get_state(request: Request) -> AppState:
    # async: FastAPI runs plain ``def`` dependencies in the thread pool, a hop for nothing here
    state: AppState = request.app.state.ionstack
    return state


State = Annotated[AppState, Depends(get_state)]


def get_db(state: State) -> Iterator[Session]:
    with transaction(state.sessions) as db:
        yield db


Db = Annotated[Session, Depends(get_db)]


def get_caller(
    db: Db, authorization: Annotated[str | None, Depends(api_key_header)]
) -> accounts.Caller:
    return accounts.authenticate(db, authorization)


Caller = Annotated[accounts.Caller, Depends(get_caller)]


#: the ``Authorization`` header (declares the API-key security scheme in the OpenAPI document)
Authorization = Annotated[str | None, Depends(api_key_header)]

T = TypeVar("T")


async def as_caller(
    state: AppState,
    authorization: str | None,
    work: Callable[[Session, accounts.Caller], T],
    *,
    write: bool = False,
) -> T:
    """Authenticate and run ``work(db, caller)`` in one transaction, in one thread-pool hop."""

    def run() -> T:
        with transaction(state.sessions, write=write) as db:
            return work(db, accounts.authenticate(db, authorization))

    return await run_in_threadpool(run)
