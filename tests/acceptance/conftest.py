"""Acceptance: IonQ's own client libraries, unchanged, against a real ``ionstack serve``.

This suite runs in its own venv (``.venv-clients``, from ``tests/acceptance/requirements.txt``)
and never imports ionstack: the server is a subprocess started with the main venv's interpreter
(``.venv/bin/python -m ionstack serve``), on a free loopback port, with a throwaway SQLite data
directory, a known bootstrap key and one worker process. See ``scripts/test-acceptance``.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
KEY = "isk_acceptance_bootstrap_key_0123456789abcdef"

#: Environment variables through which the clients pick up keys and URLs: none may leak in from
#: the developer's shell (the tests pass everything explicitly or set it with monkeypatch).
CLIENT_ENV_PREFIXES = ("IONQ_", "QISKIT_IONQ_", "CIRQ_IONQ_", "PENNYLANE_IONQ_")

#: qbraid needs pydantic 2, the `ionq` SDK pydantic 1: test_qbraid.py runs in qBraid's own venv
#: (.venv-clients/qbraid); from .venv-clients, test_qbraid_venv.py runs it there.
collect_ignore = (
    ["test_qbraid_venv.py"] if importlib.util.find_spec("qbraid") else ["test_qbraid.py"]
)


def _server_python() -> Path:
    for candidate in (REPO / ".venv" / "bin" / "python", REPO / ".venv" / "Scripts" / "python"):
        if candidate.exists():
            return candidate
    raise RuntimeError(f"no server venv at {REPO / '.venv'}: run scripts/install first")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """The running server: ``root`` is ``http://127.0.0.1:PORT``, ``url`` the API base."""

    port: int
    key: str
    log_path: Path

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.root}/v0.4"

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``ionstack serve --workers 1`` on SQLite in a temp dir; stopped at the end of the run."""
    data_dir = tmp_path_factory.mktemp("ionstack")
    log_path = data_dir / "server.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("IONSTACK_") and not k.startswith(CLIENT_ENV_PREFIXES)
    }
    env.update(
        IONSTACK_DATA_DIR=str(data_dir),
        IONSTACK_BOOTSTRAP_KEY=KEY,
        IONSTACK_LOG_LEVEL="warning",
    )
    port = _free_port()
    log = log_path.open("ab")
    process = subprocess.Popen(
        [str(_server_python()), "-m", "ionstack", "serve", "--port", str(port), "--workers", "1"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    running = Server(port=port, key=KEY, log_path=log_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"ionstack serve exited early:\n{running.log_tail()}")
            try:
                if httpx.get(f"{running.root}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"ionstack serve not healthy in 90 s:\n{running.log_tail()}")
            time.sleep(0.1)
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


@pytest.fixture(autouse=True)
def clean_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No IonQ key or URL from the developer's environment reaches a client."""
    for name in list(os.environ):
        if name.startswith(CLIENT_ENV_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    """Plain HTTP with the key, to look at what the clients left on the server."""
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"apiKey {server.key}"}, timeout=30
    ) as client:
        yield client


def wait_terminal(api: httpx.Client, job_id: str, *, timeout: float = 120) -> dict[str, Any]:
    """Poll ``GET /jobs/{id}`` until the job is terminal (bounded)."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        job: dict[str, Any] = api.get(f"/jobs/{job_id}").json()
        if job.get("status") in ("completed", "failed", "canceled"):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} not terminal after {timeout} s: {job}")
        time.sleep(delay)
        delay = min(0.5, delay * 1.5)


def hold_worker(api: httpx.Client) -> str:
    """Occupy the single worker so that jobs submitted next stay queued until canceled.

    A multi-circuit job of 300 noisy 10-qubit GHZ circuits: its children run one at a time
    (about 0.1 s each here, about 30 s in all: longer than a few held polls of 5 s), so canceling
    it frees the worker within one child's run. Returns once it has started; the caller cancels it
    when done.
    """
    ghz = [{"gate": "h", "target": 0}] + [
        {"gate": "cnot", "control": q, "target": q + 1} for q in range(9)
    ]
    body = {
        "type": "ionq.multi-circuit.v1",
        "backend": "simulator",
        "name": "acceptance-holder",
        "shots": 2000,
        "noise": {"model": "aria-1", "seed": 1},
        "input": {"gateset": "qis", "qubits": 10, "circuits": [{"circuit": ghz}] * 300},
    }
    response = api.post("/jobs", json=body)
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    deadline = time.monotonic() + 120
    # The list is never held (GET /jobs/{id} holds a poll on an unfinished job until it ends).
    listing = {"ids": job_id}
    while (status := api.get("/jobs", params=listing).json()["jobs"][0]["status"]) != "started":
        assert status in ("submitted", "ready"), f"holder job is {status}"
        assert time.monotonic() < deadline, "holder job did not start in 120 s"
        time.sleep(0.02)
    return job_id


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"acceptance: server from {REPO / '.venv'}, clients in {sys.prefix}"]


def find_job(api: httpx.Client, name: str) -> dict[str, Any]:
    """The newest top-level job called ``name`` (for clients that do not return job ids)."""
    for job in api.get("/jobs", params={"limit": 25}).json()["jobs"]:
        if job["name"] == name and job["parent_job_id"] is None:
            return job
    raise AssertionError(f"no job named {name!r} among the 25 newest")
