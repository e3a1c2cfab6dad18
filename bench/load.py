"""Load benchmark: C concurrent clients submit and poll tiny jobs against real ionstack servers.

Each client behaves like an SDK user: ``POST /jobs`` (a 2-qubit Bell circuit on the ideal
simulator), then ``GET /jobs/{id}`` every ``--poll`` seconds until the job is terminal, then the
next job — for a fixed window. Clients have their own API keys (as separate users would) unless
``--shared-key``, which puts them all under one key's rate limit (429s are then expected).

Deployments measured, each on a fresh database, all processes started here on loopback:

- ``sqlite``: the embedded shape, one ``ionstack serve --workers W``;
- ``postgresql``: ``--replicas`` × ``ionstack serve --workers 0`` (clients spread round-robin
  over them, as a load balancer would) and W × ``ionstack worker``. The database is
  ``--database-url`` (a superuser URL: a database is created per run) or else a throwaway
  cluster from ``tests/support/postgres.py`` (Debian's binaries; fsync off, so commits are
  cheaper than on a durable server).

W takes each value of ``--workers`` (default ``1,2``) to show how completion scales.
Prints accepted jobs/s, completed jobs/s, p50/p95/p99 of POST and GET latency, 429s, errors,
and the API processes' CPU time per request (read from /proc: a figure that other load on the
machine disturbs far less than latencies). Bounded: the window (``--duration``), then at most
``--drain`` seconds to finish open jobs. ``--quick``: 10 clients, 5 s windows.

    .venv/bin/python bench/load.py [--quick] [--clients 50] [--duration 20] [--database-url URL]
        [--databases sqlite,postgresql] [--workers 1,2] [--replicas 2] [--env NAME=VALUE]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import postgres  # noqa: E402  (the test suite's throwaway PostgreSQL)

BOOTSTRAP = "isk_load_bootstrap_0123456789abcdef"
JOB: dict[str, Any] = {
    "type": "ionq.circuit.v1",
    "backend": "simulator",
    "shots": 100,
    "input": {
        "gateset": "qis",
        "qubits": 2,
        "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}],
    },
}
TERMINAL = ("completed", "failed", "canceled")


# --- processes ----------------------------------------------------------------------------


def _env(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONSTACK_")}
    env.update(
        IONSTACK_DATABASE_URL=database_url,
        IONSTACK_DATA_DIR=str(data_dir),
        IONSTACK_BOOTSTRAP_KEY=BOOTSTRAP,
        IONSTACK_LOG_LEVEL="warning",
    )
    return env


@contextmanager
def _process(
    args: list[str], *, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ionstack", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _wait_healthy(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not healthy:\n{log.read_text(errors='replace')[-3000:]}")


@dataclass(frozen=True, kw_only=True)
class Deployment:
    database: str  #: "sqlite" or "postgresql"
    replicas: int  #: API processes
    workers: int  #: worker processes (inside ``serve`` for SQLite, standalone for PostgreSQL)


@contextmanager
def deploy(
    shape: Deployment, *, database_url: str, tmp: Path, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[list[str], list[int]]]:
    """Start the deployment; yields the API base URLs and the API processes' pids."""
    env = {**_env(database_url, tmp), **(extra_env or {})}
    embedded = shape.database == "sqlite"
    urls: list[str] = []
    pids: list[int] = []
    with ExitStack() as stack:
        for i in range(shape.replicas):
            port = postgres.free_port()
            log = tmp / f"api-{i}.log"
            workers = shape.workers if embedded else 0
            proc = stack.enter_context(
                _process(
                    ["serve", "--port", str(port), "--workers", str(workers)], env=env, log=log
                )
            )
            _wait_healthy(port, proc, log)  # one at a time: the first one migrates
            urls.append(f"http://127.0.0.1:{port}/v0.4")
            pids.append(proc.pid)
        if not embedded:
            for i in range(shape.workers):
                stack.enter_context(_process(["worker"], env=env, log=tmp / f"worker-{i}.log"))
        yield urls, pids


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (their own, not their children's)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def make_keys(database_url: str, count: int) -> list[str]:
    """``count`` API keys of the default project's owner (made directly in the database)."""
    from ionstack.service import accounts
    from ionstack.store.database import make_engine, make_sessionmaker, transaction

    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with transaction(make_sessionmaker(engine), write=True) as db:
            org = accounts.resolve_organization(db, None)
            project = accounts.resolve_project(db, accounts.DEFAULT_PROJECT, organization_id=org.id)
            owner = accounts.resolve_user(db, None, organization_id=org.id)
            return [
                accounts.create_key(db, project=project, user=owner, name=f"load-{i}").key
                for i in range(count)
            ]
    finally:
        engine.dispose()


# --- the clients ----------------------------------------------------------------------------


@dataclass
class Stats:
    post_ms: list[float] = field(default_factory=list)
    get_ms: list[float] = field(default_factory=list)
    accepted: int = 0  #: 201 answers within the window
    completed_in_window: int = 0
    completed_after: int = 0  #: open jobs that finished during the drain
    failed: int = 0  #: jobs that ended failed or canceled
    unfinished: int = 0  #: still open when the drain ran out
    requests: int = 0  #: every HTTP answer (for the API's CPU time per request)
    throttled: int = 0  #: 429 answers
    errors: int = 0  #: any other non-2xx answer or transport error


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(5.0, float(response.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


async def _client(
    base_url: str,
    key: str,
    *,
    start_at: float,
    measure_from: float,
    stop_at: float,
    drain_until: float,
    poll: float,
    stats: Stats,
) -> None:
    headers = {"Authorization": f"apiKey {key}"}
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        while time.monotonic() < stop_at:
            measured = time.monotonic() >= measure_from
            begun = time.perf_counter()
            try:
                response = await http.post("/jobs", json=JOB)
            except httpx.HTTPError:
                stats.errors += 1
                continue
            stats.requests += 1
            if response.status_code == 429:
                stats.throttled += 1
                await asyncio.sleep(_retry_after(response))
                continue
            if response.status_code != 201:
                stats.errors += 1
                continue
            if measured:
                stats.post_ms.append((time.perf_counter() - begun) * 1e3)
                stats.accepted += 1
            job_id = response.json()["id"]
            while True:
                await asyncio.sleep(poll)
                now = time.monotonic()
                if now > drain_until:
                    stats.unfinished += 1
                    break
                begun = time.perf_counter()
                try:
                    response = await http.get(f"/jobs/{job_id}")
                except httpx.HTTPError:
                    stats.errors += 1
                    continue
                stats.requests += 1
                if response.status_code == 429:
                    stats.throttled += 1
                    await asyncio.sleep(_retry_after(response))
                    continue
                if response.status_code != 200:
                    stats.errors += 1
                    continue
                if measure_from <= now <= stop_at:
                    stats.get_ms.append((time.perf_counter() - begun) * 1e3)
                status = response.json()["status"]
                if status in TERMINAL:
                    if status != "completed":
                        stats.failed += 1
                    elif measure_from <= time.monotonic() <= stop_at:
                        stats.completed_in_window += 1
                    else:
                        stats.completed_after += 1
                    break


async def _load(
    urls: list[str],
    keys: list[str],
    *,
    ramp: float,
    duration: float,
    drain: float,
    poll: float,
) -> tuple[Stats, float]:
    """Clients start evenly over ``ramp`` seconds (users do not all arrive in the same
    millisecond); what happens in the ``duration`` after the ramp is measured."""
    stats = Stats()
    begun = time.monotonic()
    measure_from = begun + ramp
    stop_at = measure_from + duration
    await asyncio.gather(
        *(
            _client(
                urls[i % len(urls)],
                key,
                start_at=begun + ramp * i / len(keys),
                measure_from=measure_from,
                stop_at=stop_at,
                drain_until=stop_at + drain,
                poll=poll,
                stats=stats,
            )
            for i, key in enumerate(keys)
        )
    )
    return stats, duration


def _pct(values: list[float]) -> str:
    if len(values) < 2:
        return "      -/-/-"
    q = statistics.quantiles(values, n=100, method="inclusive")
    return f"{q[49]:5.1f}/{q[94]:5.1f}/{q[98]:6.1f}"


def warm_up(urls: list[str], *, jobs: int) -> None:
    """Outside the measured window: every replica answers and the workers have run jobs
    (their imports and first compile are done)."""
    headers = {"Authorization": f"apiKey {BOOTSTRAP}"}
    with httpx.Client(headers=headers, timeout=60) as http:
        ids = []
        for i in range(jobs):
            response = http.post(f"{urls[i % len(urls)]}/jobs", json=JOB)
            response.raise_for_status()
            ids.append(response.json()["id"])
        deadline = time.monotonic() + 120
        for job_id in ids:
            while http.get(f"{urls[0]}/jobs/{job_id}").json()["status"] not in TERMINAL:
                if time.monotonic() > deadline:
                    raise RuntimeError("warm-up jobs did not finish in 120 s")
                time.sleep(0.05)


HEADER = (
    f"{'database':<10} {'API':>3} {'wrk':>3} {'accepted/s':>10} {'completed/s':>11}"
    f"  {'POST p50/p95/p99 ms':>19}  {'GET p50/p95/p99 ms':>19} {'429':>5} {'err':>4} "
    f"{'open':>4} {'CPU ms/req':>10}"
)


def run(shape: Deployment, *, database_url: str, args: argparse.Namespace, tmp: Path) -> str:
    extra_env = dict(item.split("=", 1) for item in args.env)
    with deploy(shape, database_url=database_url, tmp=tmp, extra_env=extra_env) as (urls, pids):
        keys = (
            [BOOTSTRAP] * args.clients if args.shared_key else make_keys(database_url, args.clients)
        )
        warm_up(urls, jobs=2 * max(1, shape.workers))
        cpu_before = cpu_seconds(pids)
        stats, window = asyncio.run(
            _load(
                urls,
                keys,
                ramp=args.ramp,
                duration=args.duration,
                drain=args.drain,
                poll=args.poll,
            )
        )
        cpu_ms = (cpu_seconds(pids) - cpu_before) * 1e3 / max(1, stats.requests)
    return (
        f"{shape.database:<10} {shape.replicas:>3} {shape.workers:>3}"
        f" {stats.accepted / window:>10.1f} {stats.completed_in_window / window:>11.1f}"
        f"  {_pct(stats.post_ms):>19}  {_pct(stats.get_ms):>19} {stats.throttled:>5}"
        f" {stats.errors + stats.failed:>4} {stats.unfinished:>4} {cpu_ms:>10.2f}"
    )


def _loadavg() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 clients, 5 s windows")
    parser.add_argument("--clients", type=int, default=None, help="concurrent clients [50]")
    parser.add_argument("--duration", type=float, default=None, help="window, seconds [20]")
    parser.add_argument("--drain", type=float, default=60.0, help="max seconds to finish")
    parser.add_argument(
        "--ramp", type=float, default=2.0, help="clients start over this many seconds [2]"
    )
    parser.add_argument("--poll", type=float, default=0.1, help="GET interval per client [0.1]")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare [1,2]")
    parser.add_argument("--replicas", type=int, default=2, help="PostgreSQL API replicas [2]")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="which to run [sqlite,postgresql]"
    )
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL superuser URL (default: a throwaway)"
    )
    parser.add_argument("--shared-key", action="store_true", help="all clients use one key")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for every ionstack process, e.g. IONSTACK_SQLITE_SYNCHRONOUS=NORMAL",
    )
    args = parser.parse_args()
    args.clients = args.clients or (10 if args.quick else 50)
    args.duration = args.duration or (5.0 if args.quick else 20.0)
    worker_counts = [int(w) for w in args.workers.split(",")]
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]

    keys = "one shared key" if args.shared_key else "a key each"
    print(
        f"ionstack load: {args.clients} clients ({keys}),"
        f" starting over {args.ramp:g} s, then a {args.duration:g} s window;"
        f" Bell job on the ideal simulator, poll every {args.poll:g} s;"
        f" {os.cpu_count()} cores, load generator on the same machine;"
        f" load average before: {_loadavg()}"
    )
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="ionstack-load-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        admin_url: str | None = args.database_url
        for database in databases:
            for workers in worker_counts:
                run_dir = tmp / f"{database}-{workers}"
                run_dir.mkdir()
                if database == "sqlite":
                    shape = Deployment(database="sqlite", replicas=1, workers=workers)
                    url = f"sqlite:///{run_dir / 'ionstack.db'}"
                else:
                    if admin_url is None:
                        try:
                            admin_url = stack.enter_context(postgres.cluster())
                        except RuntimeError as exc:
                            print(f"postgresql: skipped ({exc})")
                            break
                        postgres.wait_ready(admin_url)
                    shape = Deployment(
                        database="postgresql", replicas=args.replicas, workers=workers
                    )
                    url = postgres.create_database(admin_url)
                print(run(shape, database_url=url, args=args, tmp=run_dir), flush=True)
    print(f"load average after: {_loadavg()} (other processes compete for the cores)")
    print(
        "accepted/s: POST /jobs answered 201; completed/s: jobs seen completed within the window;\n"
        "err: non-2xx but 429, or jobs not completed; open: jobs unfinished after the drain;\n"
        "CPU ms/req: the API processes' CPU time per HTTP request answered (contention-free)"
    )


if __name__ == "__main__":
    main()
