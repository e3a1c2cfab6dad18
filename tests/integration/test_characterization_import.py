"""An operator imports a real characterization; emulated QPU jobs then run under it (issue 17).

A real server and worker over HTTP, and the real ``ionstack characterizations`` command against
the server's database (both databases).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ionstack.quantum.device import Characterization, device_model
from support.server import Server, cli_json, run_cli, server_env, submit, wait_for_job

SERVER_WORKERS = 1

TODAY = datetime.now(UTC).date()
BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]
IMPORTED_ID = "8f0c6f5e-2f6a-4a59-9d33-0c1d2e3f4a5b"


def _write(tmp_path: Path, name: str, body: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(body))
    return str(path)


def _v04(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": IMPORTED_ID,
        "backend": "qpu.forte-1",
        "date": f"{TODAY.isoformat()}T00:00:00Z",
        "qubits": 36,
        "fidelity": {
            "1q": {"median": 0.9991},
            "2q": {"median": 0.97},
            "spam": {"median": 0.99, "stderr": None},
        },
        "timing": {"t1": 50.0, "t2": 0.5},
    }
    body.update(changes)
    return body


def _listed(server: Server) -> list[dict[str, Any]]:
    rows = cli_json(server, "characterizations", "list", "qpu.forte-1", "--limit", "3")
    assert isinstance(rows, list)
    return rows


def test_an_imported_characterization_is_served_and_runs_the_device_model(
    server: Server, client: httpx.Client, tmp_path: Path
) -> None:
    seeded = client.get("/backends/qpu.forte-1").json()["characterization_id"]
    done = cli_json(server, "characterizations", "import", _write(tmp_path, "today.json", _v04()))
    assert done == [
        {"id": IMPORTED_ID, "backend": "qpu.forte-1", "date": TODAY.isoformat(), "replaced": seeded}
    ]
    assert client.get("/backends/qpu.forte-1").json()["characterization_id"] == IMPORTED_ID
    char = client.get(f"/backends/qpu.forte-1/characterizations/{IMPORTED_ID}").json()
    assert char["fidelity"]["2q"]["median"] == 0.97
    assert char["fidelity"]["spam"]["median"] == 0.99
    # timings the file leaves out keep the catalog's (semantics.md §3.2)
    assert char["timing"] == {
        "t1": 50.0,
        "t2": 0.5,
        "1q": 135e-6,
        "2q": 600e-6,
        "readout": 300e-6,
        "reset": 20e-6,
    }

    off = {"error_mitigation": {"debiasing": False}}
    body = {
        "type": "ionq.circuit.v1",
        "backend": "qpu.forte-1",
        "shots": 100,
        "settings": off,
        "input": {"gateset": "qis", "qubits": 2, "circuit": BELL},
    }
    job = wait_for_job(client, submit(client, body))
    assert job["status"] == "completed", job
    used = job["output"]["noise_model"]
    expected = device_model(
        "qpu.forte-1",
        Characterization(
            id=IMPORTED_ID,
            fidelity_1q=0.9991,
            fidelity_2q=0.97,
            fidelity_spam=0.99,
            t1=50.0,
            t2=0.5,
            time_1q=135e-6,
            time_2q=600e-6,
        ),
        max_qubits=36,
        native_2q="zz",
    ).describe()
    assert used["characterization_id"] == IMPORTED_ID
    for key in ("p1q", "p2q", "overrotation", "readout_p01", "readout_p10", "t1", "t2"):
        assert used[key] == pytest.approx(expected[key], rel=1e-12), key


def test_the_older_shape_with_epoch_dates_and_no_id(
    server: Server, client: httpx.Client, tmp_path: Path
) -> None:
    yesterday = TODAY - timedelta(days=1)
    epoch = int(
        datetime(yesterday.year, yesterday.month, yesterday.day, 12, tzinfo=UTC).timestamp()
    )
    body = {
        "date": epoch,
        "fidelity": {"1q": {"mean": 0.9998}, "2q": {"mean": 0.995}, "spam": {"mean": 0.996}},
        "timing": {"t1": 100, "t2": 1, "1q": 1.1e-4, "2q": 9.7e-4},
    }
    path = _write(tmp_path, "v03.json", [body])
    (done,) = cli_json(  # type: ignore[misc]
        server, "characterizations", "import", path, "--backend", "qpu.forte-1"
    )
    assert done["date"] == yesterday.isoformat() and done["replaced"] is not None
    again = cli_json(server, "characterizations", "import", path, "--backend", "qpu.forte-1")
    assert again == [{**done, "replaced": done["id"]}]  # the same id: importing twice is a no-op
    rows = _listed(server)
    assert [r["date"] for r in rows[:2]] == [TODAY.isoformat(), yesterday.isoformat()]
    assert rows[1]["id"] == done["id"] and rows[1]["2q"] == 0.995
    char = client.get(f"/backends/qpu.forte-1/characterizations/{done['id']}").json()
    assert char["timing"]["2q"] == 9.7e-4


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (_v04(date=(TODAY + timedelta(days=1)).isoformat()), "after today"),
        (
            _v04(
                fidelity={"1q": {"median": 0.99}, "2q": {"median": 1.2}, "spam": {"median": 0.99}}
            ),
            "fidelity.2q",
        ),
        (_v04(backend="qpu.nowhere-1"), "has no characterizations"),
        (_v04(backend="simulator"), "has no characterizations"),
        (_v04(timing={"t1": 1.0, "t2": 3.0}), "exceeds 2·T1"),
        (_v04(date="last tuesday"), "not an ISO 8601 date"),
        (_v04(date=10**20), "out of range"),
        (_v04(date=True), "date"),
        ({"backend": "qpu.forte-1", "date": TODAY.isoformat()}, "fidelity"),
        (
            [_v04(id=None, date=(TODAY - timedelta(days=2)).isoformat()), _v04(timing={"t1": -1})],
            "timing.t1",
        ),
    ],
)
def test_a_bad_file_is_refused_whole_and_stores_nothing(
    server: Server, tmp_path: Path, body: object, says: str
) -> None:
    before = _listed(server)
    done = run_cli(server.env, "characterizations", "import", _write(tmp_path, "bad.json", body))
    assert done.returncode == 1, done.stdout
    assert says in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert _listed(server) == before


def test_an_import_into_a_database_no_server_has_filled_keeps_the_daily_history(
    tmp_path: Path,
) -> None:
    """Imported before the server ever ran: the catalog's days up to today are stored too, so
    the import (yesterday's) does not stand in for today's characterization."""
    env = server_env(
        database_url=f"sqlite:///{tmp_path / 'fresh.db'}",
        data_dir=tmp_path,
        bootstrap_key="fresh-key-0123456789",
    )
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    path = _write(tmp_path, "y.json", _v04(date=yesterday))

    def run(*args: str) -> Any:
        done = run_cli(env, *args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    (done,) = run("characterizations", "import", path)
    assert done["date"] == yesterday and done["replaced"] is not None
    rows = run("characterizations", "list", "qpu.forte-1", "--limit", "3")
    assert [r["date"] for r in rows[:2]] == [TODAY.isoformat(), yesterday]
    assert rows[1]["id"] == IMPORTED_ID and rows[0]["id"] != IMPORTED_ID
