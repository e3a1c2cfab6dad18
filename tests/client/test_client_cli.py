"""The user commands of the CLI (submit, jobs, backends) against a real server over HTTP.

Each test runs ``python -m ionstack …`` as a user would, with ``IONSTACK_URL`` and
``IONQ_API_KEY`` in its environment (or the flags), and checks both what it prints and what the
server then holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.server import BOOTSTRAP_KEY, Server, submit, wait_for_job, wait_for_status

SERVER_WORKERS = 1
# qpu.* jobs take their predicted time: a long one holds the worker so others stay queued.
SERVER_ENV = {"IONSTACK_EMULATE_QPU_DURATION": "true"}

BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]
#: 40 CNOTs on forte-1 at 10,000 shots: minutes of emulated QPU time (cancel stops it at once)
HOLDER: dict[str, Any] = {
    "type": "ionq.circuit.v1",
    "backend": "qpu.forte-1",
    "shots": 10000,
    "name": "holder",
    "settings": {"error_mitigation": {"debiasing": False}},
    "input": {
        "gateset": "qis",
        "qubits": 2,
        "circuit": [{"gate": "h", "target": 0}]
        + [{"gate": "cnot", "control": 0, "target": 1}] * 40,
    },
}


def run_cli(
    server: Server, *args: str, key: str | None = BOOTSTRAP_KEY, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``ionstack ARGS`` as a user runs it: URL and key from the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IONSTACK_", "IONQ_"))}
    env.update(IONSTACK_URL=server.url, COLUMNS="200")
    if key is not None:
        env["IONQ_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "ionstack", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def table_rows(text: str) -> dict[str, list[str]]:
    """The body rows of the rich tables in ``text``: first cell → all cells."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0]:
            rows[cells[0]] = cells
    return rows


@pytest.fixture
def bell_input(tmp_path: Path) -> Path:
    path = tmp_path / "bell.json"
    path.write_text(json.dumps({"qubits": 2, "circuit": BELL}))
    return path


def test_submit_waits_and_prints_the_probabilities(
    server: Server, client: httpx.Client, bell_input: Path
) -> None:
    done = run_cli(server, "submit", str(bell_input), "--name", "cli-bell")
    out = ok(done)
    # the progress display on stderr saw the job finish; stdout has the job and its results
    assert "status: completed" in done.stderr
    job_id = done.stderr.split("submitted job ", 1)[1].split()[0]
    assert job_id in out and "completed" in out and "cli-bell" in out
    rows = table_rows(out)
    # Bell state, exactly: |00⟩ and |11⟩ with probability 1/2 each, nothing else
    assert set(rows) == {"0", "3"}
    assert rows["0"][1:3] == ["00", "0.5000"]
    assert rows["3"][1:3] == ["11", "0.5000"]
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "completed" and job["name"] == "cli-bell"
    assert job["backend"] == "simulator"


def test_submit_json_gives_the_job_and_its_probabilities(
    server: Server, client: httpx.Client, bell_input: Path
) -> None:
    result = json.loads(ok(run_cli(server, "submit", str(bell_input), "--json")))
    assert result["job"]["status"] == "completed"
    assert result["probabilities"] == pytest.approx({"0": 0.5, "3": 0.5}, abs=1e-9)
    served = client.get(f"/jobs/{result['job']['id']}/results/probabilities").json()
    assert served == result["probabilities"]


def test_submit_a_whole_payload_from_stdin_with_flags(server: Server, client: httpx.Client) -> None:
    payload = {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": 50,
        "input": {"qubits": 2, "circuit": BELL},
    }
    args = ["submit", "-", "--shots", "300", "--noise", "aria-1", "--seed", "11", "--json"]
    result = json.loads(ok(run_cli(server, *args, stdin=json.dumps(payload))))
    job = client.get(f"/jobs/{result['job']['id']}").json()
    # the flags won over the file: 300 shots of aria-1 noise with seed 11
    assert job["shots"] == 300
    assert job["noise"] == {"model": "aria-1", "seed": 11}
    histogram = client.get(f"/jobs/{job['id']}/results/histogram").json()
    assert sum(histogram.values()) == 300


def test_submit_no_wait_prints_the_id_then_jobs_get_and_results(
    server: Server, client: httpx.Client, bell_input: Path
) -> None:
    job_id = ok(run_cli(server, "submit", str(bell_input), "--no-wait")).strip()
    wait_for_job(client, job_id)
    shown = json.loads(ok(run_cli(server, "jobs", "get", job_id, "--json")))
    assert shown == client.get(f"/jobs/{job_id}").json()
    table = ok(run_cli(server, "jobs", "get", job_id))
    assert job_id in table and "completed" in table
    results = json.loads(ok(run_cli(server, "jobs", "results", job_id, "--json")))
    assert results == client.get(f"/jobs/{job_id}/results/probabilities").json()
    rows = table_rows(ok(run_cli(server, "jobs", "results", job_id)))
    assert {k: v[1:3] for k, v in rows.items()} == {"0": ["00", "0.5000"], "3": ["11", "0.5000"]}


def test_noisy_results_show_counts_and_shots(server: Server, client: httpx.Client) -> None:
    body = {"qubits": 2, "circuit": BELL}
    args = ["submit", "-", "--shots", "200", "--noise", "aria-1", "--seed", "5", "--no-wait"]
    job_id = ok(run_cli(server, *args, stdin=json.dumps(body))).strip()
    wait_for_job(client, job_id)
    histogram = client.get(f"/jobs/{job_id}/results/histogram").json()
    table = ok(run_cli(server, "jobs", "results", job_id, "--kind", "histogram"))
    rows = table_rows(table)
    assert set(rows) == set(histogram)
    for outcome, count in histogram.items():
        assert rows[outcome][1] == format(int(outcome), "02b")
        assert rows[outcome][2] == f"{count / 200:.4f}"
        assert rows[outcome][3] == str(count)
    shots = ok(run_cli(server, "jobs", "results", job_id, "--kind", "shots")).split()
    assert shots == client.get(f"/jobs/{job_id}/results/shots").json()


def test_jobs_list_shows_the_newest_jobs(
    server: Server, client: httpx.Client, bell_input: Path
) -> None:
    ids = [ok(run_cli(server, "submit", str(bell_input), "--no-wait")).strip() for _ in range(2)]
    listed = json.loads(ok(run_cli(server, "jobs", "list", "--limit", "2", "--json")))
    assert [j["id"] for j in listed] == ids[::-1]
    table = ok(run_cli(server, "jobs", "list"))
    assert all(job_id in table for job_id in ids)


def test_jobs_cancel_stops_a_running_job_and_a_queued_one(
    server: Server, client: httpx.Client, bell_input: Path
) -> None:
    holder = submit(client, HOLDER)
    wait_for_status(client, holder, ("started",))
    queued = ok(run_cli(server, "submit", str(bell_input), "--no-wait")).strip()
    assert client.get(f"/jobs/{queued}").json()["status"] in ("submitted", "ready")
    assert ok(run_cli(server, "jobs", "cancel", queued)).strip() == f"job {queued}: canceled"
    canceled = json.loads(ok(run_cli(server, "jobs", "cancel", holder, "--json")))
    assert canceled["id"] == holder and canceled["status"] == "canceled"
    assert client.get(f"/jobs/{queued}").json()["status"] == "canceled"
    assert wait_for_job(client, holder)["status"] == "canceled"
    # results of a canceled job: a clear message and exit code 3
    done = run_cli(server, "jobs", "results", queued)
    assert done.returncode == 3 and "canceled" in done.stderr


def test_a_failed_job_prints_its_failure_and_exits_3(server: Server) -> None:
    body = {"qubits": 40, "circuit": [{"gate": "h", "target": 0}]}
    done = run_cli(server, "submit", "-", "--noise", "aria-1", stdin=json.dumps(body))
    assert done.returncode == 3, done.stderr
    assert "failed" in done.stdout and "NotEnoughQubits" in done.stdout


def test_backends(server: Server, anonymous: httpx.Client) -> None:
    listed = json.loads(ok(run_cli(server, "backends", "--json")))
    assert listed == anonymous.get("/backends").json()
    table = ok(run_cli(server, "backends"))
    assert "simulator" in table and "qpu.forte-1" in table and "available" in table


def test_flags_override_the_environment(server: Server) -> None:
    done = run_cli(
        server, "backends", "--json", "--url", server.url, "--api-key", BOOTSTRAP_KEY, key=None
    )
    assert any(b["backend"] == "simulator" for b in json.loads(ok(done)))


def test_a_bad_key_is_a_clear_error_and_exit_1(server: Server, bell_input: Path) -> None:
    for args in (["submit", str(bell_input)], ["jobs", "list"]):
        done = run_cli(server, *args, key="isk_not_a_real_key_000000000000")
        assert done.returncode == 1
        assert done.stderr.startswith("error: 401 Unauthorized Error: Invalid key provided")
        assert "Traceback" not in done.stderr and done.stdout == ""
    missing = run_cli(server, "jobs", "list", key=None)
    assert missing.returncode == 1 and "401" in missing.stderr


def test_server_errors_show_the_spec_body(server: Server) -> None:
    unknown = run_cli(server, "jobs", "get", "01a0d9b4-0000-7000-8000-000000000000")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("error: 404 Not Found Error: Resource not found")
    bad_id = run_cli(server, "jobs", "get", "not-an-id")
    assert bad_id.returncode == 1
    assert '400 Bad Request: "UUID" must be a valid UUID (keys: UUID)' in bad_id.stderr
    body = {"qubits": 2, "circuit": BELL}
    refused = run_cli(server, "submit", "-", "--backend", "qpu.nowhere", stdin=json.dumps(body))
    assert refused.returncode == 1 and "400 Bad Request" in refused.stderr


def test_bad_job_files_exit_2(server: Server, tmp_path: Path) -> None:
    missing = run_cli(server, "submit", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    not_json = run_cli(server, "submit", "-", stdin="{not json")
    assert not_json.returncode == 2 and "stdin is not valid JSON" in not_json.stderr
    no_input = run_cli(server, "submit", "-", stdin=json.dumps({"backend": "simulator"}))
    assert no_input.returncode == 2 and '"input"' in no_input.stderr


def test_an_unreachable_server_is_a_clear_error(server: Server) -> None:
    done = run_cli(server, "backends", "--url", "http://127.0.0.1:9/v0.4")
    assert done.returncode == 1 and "cannot reach http://127.0.0.1:9/v0.4" in done.stderr
