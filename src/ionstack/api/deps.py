"""Typed FastAPI dependencies: the app state, a database session, the authenticated caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session

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
