"""What the web console asks of the API, timed with many jobs in one project.

Starts a real ``ionstack serve`` (SQLite in a temporary directory, no workers), creates
``--jobs`` dry-run jobs (compiled, never run) plus a few failed ones, then times the requests
the console's jobs list and job page make: the first page, a deep page (followed cursor), a
status filter, name searches, an id-prefix search and one job with its input. ``--browser``
also times the console itself in Debian's headless Chromium (sign-in to a drawn jobs table,
the next page, a status filter).

    .venv/bin/python bench/console.py --jobs 10000 --browser
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
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

KEY = "isk_bench_console_key_0123456789abcdef"
BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONSTACK_")}
    env.update(
        IONSTACK_DATA_DIR=str(tmp),
        IONSTACK_BOOTSTRAP_KEY=KEY,
        IONSTACK_LOG_LEVEL="warning",
        IONSTACK_RATE_LIMIT="",
        IONSTACK_SQLITE_SYNCHRONOUS="NORMAL",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "ionstack", "serve", "--port", str(port), "--workers", "0"],
        env=env,
        stdout=(tmp / "server.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError("server did not start")


def _job(i: int, *, failing: bool = False) -> dict[str, Any]:
    circuit = [{"gate": "h", "target": 5}] if failing else BELL
    return {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": 100,
        "dry_run": not failing,
        "name": f"bench-{i:05d}",
        "input": {"gateset": "qis", "qubits": 2, "circuit": circuit},
    }


def _timed(client: httpx.Client, path: str, params: dict[str, Any], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, params=params)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return times


def _browser(root: str, *, runs: int) -> None:
    from playwright.sync_api import expect, sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    timings: dict[str, list[float]] = {
        "sign-in → 25 rows": [],
        "older page": [],
        "status filter": [],
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        for _ in range(runs):
            page = browser.new_page(base_url=root)
            rows = page.locator("#jobs-table tbody tr[data-job-id]")
            page.goto("/console/")
            page.get_by_label("API key").fill(KEY)
            started = time.perf_counter()
            page.get_by_role("button", name="Sign in").click()
            expect(rows).to_have_count(25)
            timings["sign-in → 25 rows"].append((time.perf_counter() - started) * 1000)
            first = rows.first.get_attribute("data-job-id")
            started = time.perf_counter()
            page.get_by_role("button", name="Older →").click()
            expect(rows.first).not_to_have_attribute("data-job-id", first or "")
            timings["older page"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            page.get_by_label("Status").select_option("failed")
            expect(page.locator('#jobs-table tbody tr[data-status="completed"]')).to_have_count(0)
            expect(rows.first).to_have_attribute("data-status", "failed")
            timings["status filter"].append((time.perf_counter() - started) * 1000)
            page.close()
        browser.close()
    print(f"{'console (Chromium)':28} {'median ms':>10} {'max ms':>8}   ({runs} runs each)")
    for name, times in timings.items():
        print(f"{name:28} {statistics.median(times):10.1f} {max(times):8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--browser", action="store_true", help="also time the console itself")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        port = _free_port()
        server = _serve(Path(tmp_dir), port)
        try:
            headers = {"Authorization": f"apiKey {KEY}"}
            base = f"http://127.0.0.1:{port}/v0.4"
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                started = time.perf_counter()

                def create(i: int) -> str:
                    body = _job(i, failing=i % 100 == 0)
                    response = client.post("/jobs", json=body)
                    assert response.status_code == 201, response.text
                    job_id: str = response.json()["id"]
                    return job_id

                with ThreadPoolExecutor(max_workers=4) as pool:
                    ids = list(pool.map(create, range(args.jobs)))
                seeded = time.perf_counter() - started
                print(f"created {len(ids)} jobs in {seeded:.1f} s ({len(ids) / seeded:.0f}/s)")

                cursor = None
                for _ in range(200):  # the cursor of page 201, as "Older" clicks reach it
                    page = client.get("/jobs", params={"limit": 25, "next": cursor}).json()
                    cursor = page["next"]
                cases = {
                    "first page (25)": ("/jobs", {"limit": 25}),
                    "page 201 (cursor)": ("/jobs", {"limit": 25, "next": cursor}),
                    "status=failed": ("/jobs", {"limit": 25, "status": "failed"}),
                    "status=started (none)": ("/jobs", {"limit": 25, "status": "started"}),
                    "search name 'bench-0999'": ("/jobs", {"limit": 25, "search": "bench-0999"}),
                    "search miss": ("/jobs", {"limit": 25, "search": "no-such-name"}),
                    "search id prefix": ("/jobs", {"limit": 25, "search": ids[len(ids) // 2][:23]}),
                    "job ?include=input": (f"/jobs/{ids[len(ids) // 2]}", {"include": "input"}),
                }
                print(f"{'request':28} {'median ms':>10} {'p95 ms':>8}   ({args.runs} runs each)")
                for name, (path, params) in cases.items():
                    times = sorted(_timed(client, path, params, args.runs))
                    p95 = times[int(0.95 * (len(times) - 1))]
                    print(f"{name:28} {statistics.median(times):10.1f} {p95:8.1f}")
            if args.browser:
                _browser(f"http://127.0.0.1:{port}", runs=10)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
