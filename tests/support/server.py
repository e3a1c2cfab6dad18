"""A real ``ionstack serve`` process on a free loopback port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from . import logwatch
from .postgres import free_port

BOOTSTRAP_KEY = "isk_test_bootstrap_key_0123456789abcdef"


@dataclass
class Server:
    """A running server; ``url`` is the API base (``http://127.0.0.1:PORT/v0.4``)."""

    env: dict[str, str]
    log_path: Path
    workers: int = 0
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.root}/v0.4"

    def start(self, *, timeout: float = 60, wait: bool = True) -> Server:
        """Start the process; unless ``wait`` is false, return once ``/health`` answers 200."""
        logwatch.watch(self.log_path.parent)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ionstack",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not wait:
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()[-4000:]}")
            try:
                if httpx.get(f"{self.root}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"server not healthy in {timeout}s:\n{self.log_path.read_text()[-4000:]}"
        )

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None:
            return
        log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        if "Traceback" in log:
            # Shown by pytest with the failing test's output: the server's own account.
            print(f"--- server log with a traceback ({self.log_path}) ---\n{log[-6000:]}")
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def restart(self) -> Server:
        self.stop()
        return self.start()


def server_env(
    *, database_url: str, data_dir: Path, bootstrap_key: str, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONSTACK_")}
    env.update(
        IONSTACK_DATABASE_URL=database_url,
        IONSTACK_DATA_DIR=str(data_dir),
        IONSTACK_BOOTSTRAP_KEY=bootstrap_key,
        IONSTACK_LOG_LEVEL="warning",
    )
    env.update(extra)
    return env


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``ionstack`` admin CLI with ``env`` (its database); any exit code."""
    return subprocess.run(
        [sys.executable, "-m", "ionstack", *args],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def cli(server: Server, *args: str) -> str:
    """Run the ``ionstack`` admin CLI against the server's database; returns stdout."""
    done = run_cli(server.env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def cli_json(server: Server, *args: str) -> object:
    return json.loads(cli(server, *args, "--json"))


def wait_for_job(client: httpx.Client, job_id: str, *, timeout: float = 120) -> dict[str, object]:
    """Poll ``GET /jobs/{id}`` until the job is terminal (bounded; never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        job: dict[str, object] = client.get(f"/jobs/{job_id}").json()
        if job.get("status") in ("completed", "failed", "canceled"):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} not terminal after {timeout}s: {job}")
        time.sleep(delay)
        delay = min(0.25, delay * 1.5)


def submit(client: httpx.Client, body: dict[str, object], **kwargs: object) -> str:
    response = client.post("/jobs", json=body, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id


def start_worker(
    server: Server, *, log_name: str = "worker.log", args: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """A standalone ``ionstack worker`` process on the server's database.

    Its log goes next to the server's, where the harness looks for tracebacks.
    """
    logwatch.watch(server.log_path.parent)
    log = (server.log_path.parent / log_name).open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "ionstack", "worker", *args],
        env=server.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_status(
    client: httpx.Client, job_id: str, statuses: tuple[str, ...], *, timeout: float = 60
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, object] = client.get(f"/jobs/{job_id}").json()
        if job.get("status") in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} never reached {statuses}: {job}")
        time.sleep(0.05)


#: Bell on forte-1: (20 + 135 + 600 + 300) µs per shot → 4000 shots ≈ 4.2 s of emulated QPU
#: time (with IONSTACK_EMULATE_QPU_DURATION): long enough to kill, pause or cancel mid-run
LONG_QPU_JOB: dict[str, Any] = {
    "type": "ionq.circuit.v1",
    "backend": "qpu.forte-1",
    "shots": 4000,
    "settings": {"error_mitigation": {"debiasing": False}},
    "input": {
        "gateset": "qis",
        "qubits": 2,
        "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}],
    },
}


def post_at_once(client: httpx.Client, body: dict[str, Any], *, n: int) -> list[httpx.Response]:
    """POST the job from ``n`` threads (own connections, ``client``'s URL and headers) released
    together; every answer."""
    gate = threading.Barrier(n)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def post() -> None:
        with httpx.Client(
            base_url=str(client.base_url), headers=dict(client.headers), timeout=60
        ) as own:
            gate.wait()
            response = own.post("/jobs", json=body)
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=post) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == n
    return answers
