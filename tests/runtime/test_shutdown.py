"""Stopping ``ionstack serve`` with SIGTERM (what systemd, Docker and Kubernetes send) stops the
worker processes it started, too: nothing is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from support.processes import alive
from support.server import BOOTSTRAP_KEY, Server, server_env


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_sigterm_to_serve_stops_its_workers(tmp_path: Path) -> None:
    server = Server(
        env=server_env(
            database_url=f"sqlite:///{tmp_path / 'ionstack.db'}",
            data_dir=tmp_path,
            bootstrap_key=BOOTSTRAP_KEY,
        ),
        log_path=tmp_path / "server.log",
        workers=2,
    ).start()
    assert server.process is not None
    main = server.process.pid
    deadline = time.monotonic() + 30
    while len(workers := _children(main)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(workers) == 2
    try:
        os.kill(main, signal.SIGTERM)  # the server process only, not its process group
        assert server.process.wait(timeout=30) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 30
        while any(alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(w) for w in workers), "worker processes outlived the server"
    finally:
        server.stop(kill=True)
