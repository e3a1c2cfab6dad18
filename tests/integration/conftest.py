"""A real ``ionstack serve`` process per database kind, shared by a test module."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from support import postgres
from support.postgres import DATABASES
from support.server import BOOTSTRAP_KEY, Server, server_env


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
