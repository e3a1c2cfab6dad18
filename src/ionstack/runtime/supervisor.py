"""The worker processes that ``ionstack serve`` starts and keeps alive."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

from ionstack.settings import Settings

logger = logging.getLogger(__name__)


class WorkerPool:
    """``count`` × ``ionstack worker`` child processes on the server's database.

    A worker that dies is restarted (with a short back-off); :meth:`stop` asks each to finish
    or release its job (SIGTERM) and kills what is left after ``grace`` seconds.
    """

    def __init__(self, settings: Settings, *, count: int, grace: float = 15.0) -> None:
        self.settings = settings
        self.count = count
        self.grace = grace
        self._procs: list[subprocess.Popen[bytes] | None] = [None] * count
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["IONSTACK_DATABASE_URL"] = self.settings.effective_database_url
        env["IONSTACK_DATA_DIR"] = str(self.settings.data_dir)
        env["IONSTACK_AUTO_MIGRATE"] = "false"  # the server migrated before starting us
        return env

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "ionstack", "worker"],
            env=self._env(),
        )

    def start(self) -> None:
        if self.count == 0:
            return
        for i in range(self.count):
            self._procs[i] = self._spawn()
        self._monitor = threading.Thread(target=self._watch, name="worker-pool", daemon=True)
        self._monitor.start()

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            for i, proc in enumerate(self._procs):
                if proc is not None and proc.poll() is not None and not self._stopping.is_set():
                    logger.warning(
                        "worker process exited with %s; restarting",
                        proc.returncode,
                        extra={"action": "worker_restart"},
                    )
                    time.sleep(0.5)
                    self._procs[i] = self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        live = [p for p in self._procs if p is not None and p.poll() is None]
        for proc in live:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for proc in live:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
