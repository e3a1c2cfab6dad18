"""Job-path benchmark: ionstack over HTTP against the in-process alternative, in one run.

Measures, side by side on this machine:
  1. latency of one 2-qubit 1000-shot Bell job: POST → poll until completed → GET results,
     against the same job run in-process with qiskit-aer (what a Qiskit user would do instead);
  2. accepted tiny jobs per second (POST /jobs answered 201) with C concurrent clients and the
     API alone (no workers, so the simulator does not compete for the 2 cores);
  3. queue drain rate: a backlog of tiny jobs run by W worker processes.

Everything runs on loopback against a real ``ionstack serve`` started here, in a temporary data
directory (SQLite) or on ``--database-url``. Bounded in time and count; prints ratios.

    .venv/bin/python bench/jobs.py [--quick] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

KEY = "isk_bench_key_0123456789"
BELL = {
    "type": "ionq.circuit.v1",
    "backend": "simulator",
    "shots": 1000,
    "noise": {"model": "ideal"},
    "input": {
        "gateset": "qis",
        "qubits": 2,
        "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}],
    },
}
NOISY_BELL = {**BELL, "noise": {"model": "aria-1", "seed": 7}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, *, data_dir: Path, database_url: str | None, workers: int) -> None:
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("IONSTACK_")}
        env.update(
            IONSTACK_DATA_DIR=str(data_dir),
            IONSTACK_BOOTSTRAP_KEY=KEY,
            IONSTACK_LOG_LEVEL="warning",
        )
        if database_url:
            env["IONSTACK_DATABASE_URL"] = database_url
        self.env = env
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ionstack",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health").status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v0.4"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"apiKey {KEY}"})

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


def run_job(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    job_id = client.post("/jobs", json=body).json()["id"]
    while True:
        status = client.get(f"/jobs/{job_id}").json()["status"]
        if status == "completed":
            result: dict[str, Any] = client.get(f"/jobs/{job_id}/results/probabilities").json()
            return result
        if status in ("failed", "canceled"):
            raise RuntimeError(f"job {job_id} {status}")


def aer_bell(simulator: Any, circuit: Any) -> dict[str, int]:
    counts: dict[str, int] = simulator.run(circuit, shots=1000).result().get_counts()
    return counts


def latency(server: Server, rounds: int) -> tuple[float, float, float]:
    from qiskit import QuantumCircuit, transpile
    from qiskit_aer import AerSimulator

    simulator = AerSimulator()
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    compiled = transpile(qc, simulator)
    aer_times, ours, ours_noisy = [], [], []
    with server.client() as client:
        for body in (BELL, NOISY_BELL):
            run_job(client, body)  # warm up both paths
        aer_bell(simulator, compiled)
        for _ in range(rounds):
            t = time.perf_counter()
            aer_bell(simulator, compiled)
            aer_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            run_job(client, BELL)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            run_job(client, NOISY_BELL)
            ours_noisy.append(time.perf_counter() - t)
    return statistics.median(aer_times), statistics.median(ours), statistics.median(ours_noisy)


def accepted_rate(server: Server, *, clients: int, seconds: float) -> tuple[float, int]:
    stop = time.monotonic() + seconds
    counts = [0] * clients
    errors = [0] * clients

    def submitter(i: int) -> None:
        with server.client() as client:
            while time.monotonic() < stop:
                response = client.post("/jobs", json=BELL)
                if response.status_code == 201:
                    counts[i] += 1
                else:
                    errors[i] += 1

    threads = [threading.Thread(target=submitter, args=(i,)) for i in range(clients)]
    begun = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - begun), sum(errors)


def drain_rate(data_dir: Path, database_url: str | None, *, jobs: int, workers: int) -> float:
    api = Server(data_dir=data_dir, database_url=database_url, workers=0)
    try:
        with api.client() as client:
            ids = [client.post("/jobs", json=NOISY_BELL).json()["id"] for _ in range(jobs)]
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "ionstack", "worker"],
                env=api.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        begun = time.monotonic()
        with api.client() as client:
            while True:
                page = client.get("/jobs", params={"ids": ids[-1]}).json()["jobs"]
                left = client.get("/jobs", params={"status": "ready", "limit": 1}).json()["jobs"]
                if page and page[0]["status"] == "completed" and not left:
                    break
                time.sleep(0.02)
        elapsed = time.monotonic() - begun
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
        return jobs / elapsed
    finally:
        api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, shorter windows")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    args = parser.parse_args()
    rounds = 20 if args.quick else 100
    window = 3.0 if args.quick else 10.0
    backlog = 100 if args.quick else 500
    with tempfile.TemporaryDirectory(prefix="ionstack-bench-") as tmp:
        server = Server(data_dir=Path(tmp) / "a", database_url=args.database_url, workers=1)
        try:
            aer, ours, ours_noisy = latency(server, rounds)
        finally:
            server.stop()
        api = Server(data_dir=Path(tmp) / "b", database_url=args.database_url, workers=0)
        try:
            rates = {c: accepted_rate(api, clients=c, seconds=window) for c in (1, 8)}
        finally:
            api.stop()
        drains = {
            w: drain_rate(Path(tmp) / f"c{w}", args.database_url, jobs=backlog, workers=w)
            for w in (1, 2)
        }
    db = "postgresql" if args.database_url else "sqlite"
    print(f"database: {db}; rounds: {rounds}")
    print("1. submit → completed → results, 2-qubit Bell, 1000 shots (median)")
    print(f"   qiskit-aer in-process            {aer * 1e3:8.2f} ms")
    print(
        f"   ionstack over HTTP (ideal)       {ours * 1e3:8.2f} ms   ratio {ours / aer:6.2f}x"
        "  (goal <= 2x)"
    )
    print(
        f"   ionstack over HTTP (aria-1 noise){ours_noisy * 1e3:8.2f} ms   ratio "
        f"{ours_noisy / aer:6.2f}x"
    )
    print("2. accepted tiny jobs per second (POST 201, API only)")
    for c, (rate, errors) in rates.items():
        print(f"   {c} client(s): {rate:8.1f} jobs/s, errors {errors}   (goal >= 500/s)")
    print(f"3. queue drain, {backlog} noisy Bell jobs")
    for w, rate in drains.items():
        print(f"   {w} worker process(es): {rate:8.1f} jobs/s")
    print(f"   scaling 2 vs 1 workers: {drains[2] / drains[1]:.2f}x")


if __name__ == "__main__":
    main()
