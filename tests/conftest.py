"""Shared fixtures: databases (SQLite file and a real PostgreSQL), servers, keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ionstack.store.database import make_engine, make_sessionmaker, migrate
from support import postgres
from support.server import BOOTSTRAP_KEY, Server, server_env

# Tests never read the developer's configuration (procrastinate strips its env the same way).
for _name in [
    n for n in os.environ if n.startswith("IONSTACK_") and n != "IONSTACK_TEST_POSTGRES_URL"
]:
    del os.environ[_name]

DATABASES = postgres.DATABASES


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A real PostgreSQL started for this test session (superuser URL)."""
    with postgres.cluster() as url:
        postgres.wait_ready(url)
        yield url


def _new_database_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'ionstack.db'}"
    admin: str = request.getfixturevalue("postgres_admin_url")
    return postgres.create_database(admin)


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind."""
    return _new_database_url(request.param, tmp_path, request)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url, pool_size=2, max_overflow=2)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


# --- real servers (integration and contract tests) ---------------------------------------


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("server")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'ionstack.db'}"
    else:
        url = postgres.create_database(request.getfixturevalue("postgres_admin_url"))
    extra_env: dict[str, str] = getattr(request.module, "SERVER_ENV", {})
    running = Server(
        env=server_env(database_url=url, data_dir=tmp, bootstrap_key=BOOTSTRAP_KEY, **extra_env),
        log_path=tmp / "server.log",
        workers=getattr(request.module, "SERVER_WORKERS", 0),
    ).start()
    yield running
    running.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"apiKey {BOOTSTRAP_KEY}"}, timeout=30
    ) as c:
        yield c


@pytest.fixture
def anonymous(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c
