"""CPU per request in the API process (issue 14's request-path goals), for one or more checkouts.

Starts ``ionstack serve --workers 0`` (the API alone; one ``ionstack worker`` runs briefly to
complete the job the reads use) for each ``--src`` (a directory holding ``ionstack/``, e.g. the
``src`` of a ``git archive`` of another commit; default: the ionstack this interpreter imports),
then, in interleaved rounds, sends ``--requests`` sequential keep-alive requests per endpoint
after a warm-up and reads the API process's CPU time (``/proc/<pid>/stat`` utime + stime) before
and after. Prints the median over rounds of CPU ms per request, the wall time per request, and
each checkout's ratio to the first. The rate limit is off (``IONSTACK_RATE_LIMIT=``); SQLite at
its default ``synchronous=FULL`` in a temp dir, or ``--database-url``.

    .venv/bin/python bench/request_cpu.py [--src DIR ...] [--requests 600] [--rounds 3]

Goals (issue 14, this 2-core machine): GET /jobs/{id} and GET results <= 1.5 ms, POST /jobs
<= 2 ms of API CPU each.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from jobs import BELL, KEY, Server

GOALS = {"GET /jobs/{id}": 1.5, "GET results": 1.5, "POST /jobs": 2.0}
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


class Target:
    """One API server of one checkout, with a completed job to read."""

    def __init__(self, label: str, src: Path | None, data_dir: Path, database_url: str | None):
        self.label = label
        saved = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = str(src) if src else (saved or "")
        try:
            self.server = Server(
                data_dir=data_dir,
                database_url=database_url,
                workers=0,
                settings={"IONSTACK_RATE_LIMIT": ""},
            )
        finally:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved
        self.client = httpx.Client(
            base_url=self.server.url, headers={"Authorization": f"apiKey {KEY}"}
        )
        self.job_id = self.client.post("/jobs", json=BELL).json()["id"]
        worker = subprocess.Popen(
            [sys.executable, "-m", "ionstack", "worker"],
            env=self.server.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while self.client.get(f"/jobs/{self.job_id}").json()["status"] != "completed":
                if time.monotonic() > deadline:
                    raise RuntimeError("the first job did not complete")
                time.sleep(0.05)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)

    def send(self, endpoint: str) -> None:
        if endpoint == "POST /jobs":
            response = self.client.post("/jobs", json=BELL)
            expected = 201
        elif endpoint == "GET results":
            response = self.client.get(f"/jobs/{self.job_id}/results/probabilities")
            expected = 200
        else:
            response = self.client.get(f"/jobs/{self.job_id}")
            expected = 200
        if response.status_code != expected:
            raise RuntimeError(f"{self.label} {endpoint}: {response.status_code} {response.text}")

    def measure(self, endpoint: str, *, requests: int, warmup: int) -> tuple[float, float]:
        """(CPU ms, wall ms) per request."""
        for _ in range(warmup):
            self.send(endpoint)
        pid = self.server.proc.pid
        cpu, wall = cpu_seconds(pid), time.perf_counter()
        for _ in range(requests):
            self.send(endpoint)
        cpu, wall = cpu_seconds(pid) - cpu, time.perf_counter() - wall
        return cpu / requests * 1e3, wall / requests * 1e3

    def close(self) -> None:
        self.client.close()
        self.server.stop()


def measure_targets(
    sources: list[Path | None],
    data_dir: Path,
    database_url: str | None,
    *,
    rounds: int,
    requests: int,
    warmup: int,
) -> tuple[dict[tuple[str, str], list[tuple[float, float]]], list[Target]]:
    """Interleaved rounds over the checkouts: (CPU ms, wall ms) per request by (label, endpoint)."""
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    targets: list[Target] = []
    try:
        for i, src in enumerate(sources):
            label = str(src) if src else "this interpreter's ionstack"
            targets.append(Target(label, src, data_dir / str(i), database_url))
            if database_url:  # one database: the checkouts take turns on it
                break
        for _ in range(rounds):
            for target in targets:
                for endpoint in GOALS:
                    got = target.measure(endpoint, requests=requests, warmup=warmup)
                    results.setdefault((target.label, endpoint), []).append(got)
    finally:
        for target in targets:
            target.close()
    return results, targets


def table(
    results: dict[tuple[str, str], list[tuple[float, float]]], targets: list[Target]
) -> list[str]:
    lines = [f"{'endpoint':<16} {'CPU ms':>8} {'wall ms':>8} {'goal':>6} {'vs first':>9}  checkout"]
    for endpoint, goal in GOALS.items():
        first: float | None = None
        for target in targets:
            runs = results[(target.label, endpoint)]
            cpu = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            first = cpu if first is None else first
            met = "ok" if cpu <= goal else "over"
            spread = "/".join(f"{r[0]:.2f}" for r in runs)
            lines.append(
                f"{endpoint:<16} {cpu:8.2f} {wall:8.2f} {met:>6} {cpu / first:8.2f}x"
                f"  {target.label} ({spread})"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, action="append", default=[], help="checkout's src/")
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    sources: list[Path | None] = list(args.src) or [None]
    with tempfile.TemporaryDirectory(prefix="ionstack-cpu-") as tmp:
        results, targets = measure_targets(
            sources,
            Path(tmp),
            args.database_url,
            rounds=args.rounds,
            requests=args.requests,
            warmup=args.warmup,
        )
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"API CPU per request, median of {args.rounds} rounds of {args.requests}; load {load}")
    for line in table(results, targets):
        print(f"   {line}")


if __name__ == "__main__":
    main()
