"""Job-path benchmark: ionstack over HTTP against the in-process alternative, in one run.

Measures, side by side on this machine:
  1. latency of one 2-qubit 1000-shot Bell job: POST → poll until completed → GET results,
     against the same job run in-process with qiskit-aer (what a Qiskit user would do instead);
  2. accepted tiny jobs per second (POST /jobs answered 201) with C concurrent clients and the
     API alone (no workers, so the simulator does not compete for the 2 cores; the per-key rate
     limit off: this is the server's capacity);
  3. queue drain rate: a backlog of tiny jobs run by W worker processes;
  (also, with sections 1-3: the API process's CPU per request, GET /jobs/{id}, GET results and
     POST /jobs, against issue 14's goals — ``bench/request_cpu.py``, which also compares
     checkouts);
  4. the client table (``--clients`` runs only this): each IonQ client library as its users run
     it — qiskit-ionq, the ``ionq`` SDK, cirq-ionq, pennylane-ionq, qBraid's IonQ provider —
     one ideal 2-qubit 1000-shot Bell job, submit → counts with the client's own polling, median
     of ``--runs`` runs after one warm-up, beside qiskit-aer in-process (transpile + run, and run
     alone); and a 5-qubit GHZ with ``noise_model="aria-1"`` through qiskit-ionq. Each client runs
     in a subprocess with ``.venv-clients/bin/python bench/_clients.py`` (the clients need their
     own venv), each run bounded by ``--client-timeout``; the goal is every client <= 2x Aer.

Everything runs on loopback against a real ``ionstack serve`` started here, in a temporary data
directory (SQLite) or on ``--database-url``. Bounded in time and count; prints ratios.

    .venv/bin/python bench/jobs.py [--quick] [--database-url URL] [--clients | --no-clients]
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
REPO = Path(__file__).resolve().parents[1]
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
    def __init__(
        self,
        *,
        data_dir: Path,
        database_url: str | None,
        workers: int | None,
        settings: dict[str, str] | None = None,
    ) -> None:
        """``workers=None``: ``ionstack serve``'s default (one worker process per core);
        ``settings``: extra ``IONSTACK_*`` variables (the caller's own are not passed on)."""
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("IONSTACK_")}
        env.update(
            IONSTACK_DATA_DIR=str(data_dir),
            IONSTACK_BOOTSTRAP_KEY=KEY,
            IONSTACK_LOG_LEVEL="warning",
        )
        env.update(settings or {})
        if database_url:
            env["IONSTACK_DATABASE_URL"] = database_url
        self.env = env
        workers_option = [] if workers is None else ["--workers", str(workers)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ionstack", "serve", "--port", str(self.port), *workers_option],
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


def request_cpu_table(data_dir: Path, database_url: str | None, *, quick: bool) -> list[str]:
    """bench/request_cpu.py's table for this interpreter's ionstack."""
    from request_cpu import measure_targets, table

    rounds, requests = (1, 200) if quick else (3, 600)
    results, targets = measure_targets(
        [None], data_dir, database_url, rounds=rounds, requests=requests, warmup=50
    )
    return table(results, targets)


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


# --- 4. the client table ----------------------------------------------------------------------

CLIENTS_SCRIPT = Path(__file__).with_name("_clients.py")
#: (row label, bench/_clients.py case) of the Bell table, in print order.
CLIENT_ROWS = (
    ("qiskit-ionq", "qiskit-ionq"),
    ("ionq SDK", "ionq"),
    ("cirq-ionq", "cirq-ionq"),
    ("pennylane-ionq", "pennylane-ionq"),
    ("qbraid IonQProvider", "qbraid"),
)
CLIENT_ENV_PREFIXES = ("IONQ_", "QISKIT_IONQ_", "CIRQ_IONQ_", "PENNYLANE_IONQ_", "IONSTACK_")
GOAL = 2.0


class Case:
    """What one ``bench/_clients.py`` subprocess reported, by label."""

    def __init__(self, case: str) -> None:
        self.case = case
        self.times: dict[str, list[float]] = {}
        self.traces: dict[str, list[list[dict[str, Any]]]] = {}
        self.version = ""
        self.python = ""
        self.problem = ""  # "not installed", "timeout …", "error: …"
        self.timed_out: list[dict[str, Any]] | None = None  # the trace of the run that did
        self.server_code = ""

    def median_ms(self, label: str) -> float | None:
        times = self.times.get(label)
        return statistics.median(times) * 1e3 if times else None

    def median_trace(self, label: str) -> list[dict[str, Any]] | None:
        """The trace of the run whose time is the (lower) median."""
        times, traces = self.times.get(label, []), self.traces.get(label, [])
        if not times or len(traces) != len(times):
            return traces[-1] if traces else None
        order = sorted(range(len(times)), key=times.__getitem__)
        return traces[order[(len(order) - 1) // 2]]

    def first_poll_done(self, label: str) -> str:
        """In how many runs the first ``GET /jobs/{id}`` found the job finished."""
        firsts = [
            next((e["status"] for e in trace if e.get("status")), None)
            for trace in self.traces.get(label, [])
        ]
        done = sum(status in ("completed", "failed", "canceled") for status in firsts)
        return f"{done}/{len(firsts)}" if firsts else "—"


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _has_module(venv: Path, module: str) -> bool:
    return any(venv.glob(f"lib/python3*/site-packages/{module}/__init__.py"))


def client_python(case: str, clients_python: Path) -> Path:
    """``.venv-clients`` (or ``--clients-python``). qBraid needs pydantic 2 where the ``ionq`` SDK
    needs pydantic 1, so scripts/install-clients gives it a venv of its own, ``.venv-clients/
    qbraid``: for the qbraid row, the first of those (or another ``.venv-*``) that has it."""
    if case != "qbraid":
        return clients_python
    venv = clients_python.parents[1]
    for candidate in [venv, venv / "qbraid", *sorted(REPO.glob(".venv-*"))]:
        if _has_module(candidate, "qbraid") and _venv_python(candidate).exists():
            return _venv_python(candidate)
    return clients_python


def _text(output: bytes | str | None) -> str:
    """What a killed subprocess had printed (bytes, whatever ``text=`` said)."""
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def run_case(
    python: Path, case: str, *, url: str, runs: int, timeout: float, into: Case | None = None
) -> Case:
    """Run ``bench/_clients.py CASE`` with ``python``: one warm-up + ``runs`` runs, each bounded
    by ``timeout`` inside the subprocess, the whole subprocess by a deadline of its own."""
    result = into or Case(case)
    if not python.exists():
        result.problem = f"not installed (no {python})"
        return result
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLIENT_ENV_PREFIXES)}
    env.pop("PYTHONPATH", None)  # the clients run as their users run them, in their own venv
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    command = [str(python), str(CLIENTS_SCRIPT), case, "--url", url, "--key", KEY]
    command += ["--runs", str(runs), "--timeout", str(timeout)]
    # Aer does many more (short) runs than the clients: see _clients.case_aer.
    deadline = 90 + timeout * (runs + 2) * (4 if case == "aer" else 1)
    try:
        done = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=deadline
        )
        out, err, code = done.stdout, done.stderr, done.returncode
    except subprocess.TimeoutExpired as expired:
        out, err, code = _text(expired.stdout), _text(expired.stderr), None
        result.problem = f"timeout: no answer in {deadline:.0f} s (killed)"
    for line in out.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        kind, label = event.get("event"), event.get("label", case)
        if kind == "version":
            result.version, result.python = event["version"], event["python"]
        elif kind == "run" and not event["warmup"]:
            result.times.setdefault(label, []).append(event["seconds"])
            result.traces.setdefault(label, []).append(event["trace"])
        elif kind == "timeout":
            during = event.get("during", "a run")
            result.problem = f"timeout: {during} exceeded {event['seconds']:g} s"
            result.timed_out = event.get("trace")
        elif kind == "missing":
            result.problem = f"not installed ({event['error']})"
    if code not in (0, None) and not result.problem:
        last = (err.strip().splitlines() or [f"exit code {code}"])[-1]
        result.problem = f"error: {last[:150]}"
    return result


def clients_table(
    database_url: str | None, data_dir: Path, *, runs: int, timeout: float, clients_python: Path
) -> dict[str, Case]:
    """Section 4: every case against one ``ionstack serve`` with its defaults (workers: one per
    core), Aer in-process in a subprocess of this venv before and after the clients (pooled)."""
    server = Server(data_dir=data_dir, database_url=database_url, workers=None)
    try:
        aer = Case("aer")
        aer.server_code = server_code(server.env)
        run_case(Path(sys.executable), "aer", url=server.url, runs=runs, timeout=timeout, into=aer)
        cases = {"aer": aer}
        for case in [c for _, c in CLIENT_ROWS] + ["qiskit-ionq-ghz5-aria1"]:
            python = client_python(case, clients_python)
            cases[case] = run_case(python, case, url=server.url, runs=runs, timeout=timeout)
        run_case(Path(sys.executable), "aer", url=server.url, runs=runs, timeout=timeout, into=aer)
    finally:
        server.stop()
    return cases


def server_code(env: dict[str, str]) -> str:
    """Where the server's ``ionstack`` package is imported from (and its git commit, if any)."""
    where = subprocess.run(
        [sys.executable, "-c", "import ionstack; print(ionstack.__path__[0])"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    commit = subprocess.run(
        ["git", "-C", where or ".", "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return f"{where} ({commit.stdout.strip()})" if commit.returncode == 0 else where


def describe_trace(trace: list[dict[str, Any]]) -> str:
    """One run's requests and sleeps, e.g. ``+2 POST /jobs · +10 GET /jobs/{id} ready · …``."""
    parts = []
    for event in trace:
        if "sleep" in event:
            parts.append(f"+{event['at']:.0f} sleep {event['sleep']:g} s")
            continue
        method, path = event["http"].split(" ", 1)
        path = re.sub(r"^/v0\.4", "", path)
        path = re.sub(r"/jobs/[0-9a-f-]{36}", "/jobs/{id}", path)
        status = f" {event['status']}" if event.get("status") else ""
        parts.append(f"+{event['at']:.0f} {method} {path}{status}")
    return " · ".join(parts)


def print_clients(cases: dict[str, Case], *, runs: int) -> None:
    aer = cases["aer"]
    print(
        "4. clients as users run them: submit → counts with the client's own polling, against "
        "ionstack serve\n   (its default workers); median of "
        f"{runs} runs after 1 warm-up, Aer in-process median of "
        f"{len(aer.times.get('aer-run', []))}; goal: every client <= {GOAL:g}x Aer transpile + run"
    )
    print(f"   server code: {aer.server_code}")
    if aer.problem:
        print(f"   qiskit-aer: {aer.problem}")
    width = 40

    def row(
        label: str, value: float | None, problem: str, t_r: float | None, run: float | None
    ) -> None:
        if value is None:
            print(f"   {label:{width}}{problem or 'no result'}")
            return
        ratios = "".join(f"{value / base:10.2f}" if base else f"{'—':>10}" for base in (t_r, run))
        print(f"   {label:{width}}{value:10.1f}{ratios}")

    def client(label: str, case: str, t_r: float | None, run: float | None) -> bool | None:
        result = cases[case]
        name = f"{label} {result.version}".strip()
        value = result.median_ms(case)
        if value is None or result.timed_out is not None:
            done = " ".join(f"{t * 1e3:.0f}" for t in result.times.get(case, []))
            done = f" (after runs of {done} ms)" if done else ""
            print(f"   {name:{width}}{result.problem or 'no result'}{done}")
            return False if result.timed_out is not None else None  # a timeout is over goal
        ratios = "".join(f"{value / base:10.2f}" if base else f"{'—':>10}" for base in (t_r, run))
        met = t_r is not None and value <= GOAL * t_r
        each = " ".join(f"{t * 1e3:.0f}" for t in result.times[case])
        problem = f"  ({result.problem})" if result.problem else ""
        print(
            f"   {name:{width}}{value:10.1f}{ratios}  {'ok' if met else 'over':5}"
            f"{result.first_poll_done(case):>6}  {each}{problem}"
        )
        return met

    ref, alone = aer.median_ms("aer-transpile-run"), aer.median_ms("aer-run")
    columns = f"{'median ms':>10}{'/Aer t+r':>10}{'/Aer run':>10}  goal  1st poll done  runs (ms)"
    print(f"   {'Bell, 2 qubits, 1000 shots, ideal':{width}}{columns}")
    row(f"qiskit-aer {aer.version}: transpile + run", ref, aer.problem, ref, alone)
    row(f"qiskit-aer {aer.version}: run alone", alone, aer.problem, ref, alone)
    met = [client(label, case, ref, alone) for label, case in CLIENT_ROWS]
    counted = [m for m in met if m is not None]
    limit = f" (<= {GOAL * ref:.1f} ms here)" if ref else ""
    missing = len(met) - len(counted)
    print(
        f"   goal every client <= {GOAL:g}x Aer transpile + run{limit}: met by "
        f"{sum(counted)} of {len(counted)} measured"
        + (f", {missing} not measured" if missing else "")
    )
    ghz_ref, ghz_alone = aer.median_ms("aer-ghz5-transpile-run"), aer.median_ms("aer-ghz5-run")
    print(f"   {'GHZ, 5 qubits, 1000 shots, aria-1':{width}}{columns}")
    row("qiskit-aer: transpile + run (*)", ghz_ref, aer.problem, ghz_ref, ghz_alone)
    row("qiskit-aer: run alone (*)", ghz_alone, aer.problem, ghz_ref, ghz_alone)
    client('qiskit-ionq noise_model="aria-1"', "qiskit-ionq-ghz5-aria1", ghz_ref, ghz_alone)
    print("   (*) AerSimulator(noise_model=) with depolarizing errors at aria-1's rates")
    print("   how each client polled (its median run; ms from the call):")
    for label, case in [*CLIENT_ROWS, ("qiskit-ionq GHZ aria-1", "qiskit-ionq-ghz5-aria1")]:
        trace = cases[case].median_trace(case)
        if trace is not None:
            print(f"   {label}: {describe_trace(trace)}")
        if cases[case].timed_out:
            print(f"   {label} (the run that timed out): {describe_trace(cases[case].timed_out)}")
    pythons = sorted({c.python for c in cases.values() if c.python})
    print(f"   venvs: {', '.join(pythons)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, shorter windows")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--clients", action="store_true", help="only the client table (4.)")
    only.add_argument("--no-clients", action="store_true", help="sections 1-3 only")
    parser.add_argument("--runs", type=int, default=5, help="client table: timed runs [5]")
    parser.add_argument(
        "--client-timeout", type=float, default=60.0, help="client table: seconds per run [60]"
    )
    parser.add_argument(
        "--clients-python",
        type=Path,
        default=REPO / ".venv-clients" / "bin" / "python",
        help="interpreter of the clients' venv [.venv-clients/bin/python]",
    )
    args = parser.parse_args()
    rounds = 20 if args.quick else 100
    window = 3.0 if args.quick else 10.0
    backlog = 100 if args.quick else 500
    cases = None
    with tempfile.TemporaryDirectory(prefix="ionstack-bench-") as tmp:
        if not args.clients:
            server = Server(data_dir=Path(tmp) / "a", database_url=args.database_url, workers=1)
            try:
                aer, ours, ours_noisy = latency(server, rounds)
            finally:
                server.stop()
            api = Server(  # capacity, not the per-key rate limit (200/s by default)
                data_dir=Path(tmp) / "b",
                database_url=args.database_url,
                workers=0,
                settings={"IONSTACK_RATE_LIMIT": ""},
            )
            try:
                rates = {c: accepted_rate(api, clients=c, seconds=window) for c in (1, 8)}
            finally:
                api.stop()
            cpu = request_cpu_table(Path(tmp) / "e", args.database_url, quick=args.quick)
            drains = {
                w: drain_rate(Path(tmp) / f"c{w}", args.database_url, jobs=backlog, workers=w)
                for w in (1, 2)
            }
        if not args.no_clients:
            cases = clients_table(
                args.database_url,
                Path(tmp) / "d",
                runs=args.runs,
                timeout=args.client_timeout,
                clients_python=args.clients_python,
            )
    db = "postgresql" if args.database_url else "sqlite"
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    print(f"database: {db}; rounds: {rounds}; load average: {' '.join(load) or '?'}")
    if not args.clients:
        print_sections(aer, ours, ours_noisy, rates, drains, backlog)
        print("   API CPU per request (median of rounds; bench/request_cpu.py)")
        for line in cpu:
            print(f"   {line}")
    if cases is not None:
        print_clients(cases, runs=args.runs)


def print_sections(
    aer: float,
    ours: float,
    ours_noisy: float,
    rates: dict[int, tuple[float, int]],
    drains: dict[int, float],
    backlog: int,
) -> None:
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
