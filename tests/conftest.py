"""Shared fixtures: databases (SQLite file and a real PostgreSQL), servers, keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ionstack.store.database import make_engine, make_sessionmaker, migrate
from support import logwatch, postgres
from support.server import BOOTSTRAP_KEY, Server, server_env

# Tests never read the developer's configuration (procrastinate strips its env the same way).
for _name in [
    n for n in os.environ if n.startswith("IONSTACK_") and n != "IONSTACK_TEST_POSTGRES_URL"
]:
    del os.environ[_name]

DATABASES = postgres.DATABASES

# Property tests draw the same examples on every run and machine (a failure replays as it is,
# and Hypothesis prints the falsifying example); `--hypothesis-profile=explore` draws new ones.
# Other random tests seed numpy or `random` from fixed values in their source.
hypothesis_settings.register_profile("fixed", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, database=None, print_blob=True)
hypothesis_settings.load_profile("fixed")


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


# --- tracebacks in the logs of servers and workers fail the test ----------------------------


class _LastTest:
    """The test that ran last, and whether it was allowed its tracebacks (late log lines)."""

    nodeid = "the start of the session"
    allowed = False


def _allowed_reason(node: pytest.Item | pytest.Module) -> str | None:
    marker = node.get_closest_marker("allow_tracebacks")
    if marker is None:
        return None
    reason = marker.args[0] if marker.args else marker.kwargs.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise pytest.UsageError(
            f'{node.nodeid}: @pytest.mark.allow_tracebacks("reason") needs a reason'
        )
    return reason


def _fail_if_any(found: list[logwatch.Found], when: str) -> None:
    if found:
        pytest.fail(logwatch.report(found, when), pytrace=False)


@pytest.fixture(autouse=True)
def _no_tracebacks_in_logs(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test during which a server or worker it started logged a traceback.

    Text logged between two tests (a module-scoped server starting, a late line of the test
    before) is charged to the previous test unless that one was allowed its tracebacks.
    """
    allowed = _allowed_reason(request.node) is not None
    before = logwatch.scan()
    previous, previous_allowed = _LastTest.nodeid, _LastTest.allowed
    _LastTest.nodeid, _LastTest.allowed = request.node.nodeid, allowed
    if not previous_allowed:
        _fail_if_any(
            before,
            f"before this test started (after {previous}, or while its "
            "module-scoped fixtures started)",
        )
    yield
    after = logwatch.scan()
    if not allowed:
        _fail_if_any(after, "while this test ran")


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
    # The module's last test is over: what the server logged since is charged to its shutdown.
    if not _LastTest.allowed and _allowed_reason(request.node) is None:
        _fail_if_any(
            logwatch.scan(), f"after {_LastTest.nodeid}, while the module's server stopped"
        )


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
