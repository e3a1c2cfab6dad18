"""The harness itself: a traceback in a watched log fails the test that was running.

An inner pytest session (a subprocess, so the watched-log state of this session is untouched)
loads this suite's own ``tests/conftest.py`` and writes tracebacks into a watched directory the
way a server or a worker would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parents[1]

TRACEBACK = (
    "ERROR ionstack.runtime.worker: job run crashed\n"
    "Traceback (most recent call last):\n"
    '  File "worker.py", line 1, in run\n'
    "ZeroDivisionError: division by zero\n"
)

INNER = r"""
from __future__ import annotations

from pathlib import Path

import pytest

from support import logwatch

TRACEBACK = TRACEBACK_TEXT


def _log(directory: Path, name: str, text: str) -> None:
    logwatch.watch(directory)
    with (directory / name).open("a") as fh:
        fh.write(text)


def test_clean(tmp_path: Path) -> None:
    _log(tmp_path, "server.log", "INFO all is well\n")


def test_worker_traceback_fails(tmp_path: Path) -> None:
    _log(tmp_path, "worker-a.log", TRACEBACK + "2026-12-01 10:00:00,000 INFO x: a later record\n")


@pytest.mark.allow_tracebacks("it crashes a worker on purpose")
def test_allowed(tmp_path: Path) -> None:
    _log(tmp_path, "server.log", TRACEBACK)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("shared")
    _log(directory, "server.log", "INFO started\n")
    return directory


def test_shared_first(shared: Path) -> None:
    _log(shared, "server.log", "INFO a request\n")


def test_shared_second_is_charged(shared: Path) -> None:
    json_line = '{"level": "error", "exc_info": "Traceback (most recent call last):\\nKeyError"}'
    _log(shared, "server.log", "INFO a request\n" + json_line + "\n")


def test_shared_third_is_clean(shared: Path) -> None:
    _log(shared, "server.log", "INFO a request\n")


@pytest.fixture(scope="module")
def broken_start(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("broken")
    _log(directory, "server.log", TRACEBACK)
    return directory


def test_after_a_start_that_logged_one(broken_start: Path) -> None:
    pass


@pytest.mark.allow_tracebacks("")
def test_reason_is_required() -> None:
    pass
"""


def test_a_logged_traceback_fails_the_test_that_was_running(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest((TESTS / "conftest.py").read_text())
    pytester.makeini(
        "[pytest]\nmarkers =\n    allow_tracebacks(reason): provokes a traceback on purpose\n"
        "    postgres: needs PostgreSQL\n"
    )
    pytester.makepyfile(test_inner=INNER.replace("TRACEBACK_TEXT", repr(TRACEBACK)))
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=6, errors=4)
    errors = sorted(
        line.split(" - ")[0] for line in result.outlines if line.startswith("ERROR test_inner.py::")
    )
    assert errors == [
        "ERROR test_inner.py::test_after_a_start_that_logged_one",  # in setup
        "ERROR test_inner.py::test_reason_is_required",  # in setup
        "ERROR test_inner.py::test_shared_second_is_charged",  # at teardown, not its neighbours
        "ERROR test_inner.py::test_worker_traceback_fails",  # at teardown
    ]
    text = result.stdout.str()
    # the log line that carries the traceback, the traceback, and the log's path
    assert "ERROR ionstack.runtime.worker: job run crashed\nTraceback" in text
    assert "ZeroDivisionError: division by zero" in text
    assert "worker-a.log ---" in text
    assert "logged by a server or worker while this test ran" in text
    assert "before this test started (after test_inner.py::test_shared_third_is_clean" in text
    assert "needs a reason" in text
    assert "a later record" not in text  # the excerpt ends where the next log record starts
    assert '"exc_info": "Traceback (most recent call last)' in text  # a JSON log line
