"""The two API extensions the web console relies on, over real HTTP on both databases.

``GET /jobs?search=`` keeps the jobs whose name contains the text (any case) or whose id starts
with it; ``GET /jobs/{id}?include=input`` adds the job's input as submitted. Without them, every
answer is exactly the spec's.
"""

from __future__ import annotations

from typing import Any

import httpx

from support import spec
from support.server import submit

SERVER_WORKERS = 0  # dry runs and queued jobs are enough: nothing needs to run
# nothing runs jobs here: status polls answer at once (held polls: test_held_polls.py)
SERVER_ENV = {"IONSTACK_POLL_HOLD_S": "0"}

BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]


def _job(name: str | None, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": 100,
        "dry_run": True,
        "input": {"gateset": "qis", "qubits": 2, "circuit": BELL},
    }
    if name is not None:
        body["name"] = name
    body.update(changes)
    return body


def _ids(client: httpx.Client, **params: Any) -> list[str]:
    response = client.get("/jobs", params=params)
    assert response.status_code == 200, response.text
    spec.validate(response.json(), spec.response_schema("/jobs"))
    return [j["id"] for j in response.json()["jobs"]]


def test_search_matches_names_in_any_case_and_id_prefixes(client: httpx.Client) -> None:
    alpha = submit(client, _job("Search-Alpha run"))
    beta = submit(client, _job("search-beta"))
    literal = submit(client, _job("100%_done"))
    unnamed = submit(client, _job(None))

    assert set(_ids(client, search="SEARCH-")) == {alpha, beta}
    assert _ids(client, search="alpha R") == [alpha]
    # LIKE wildcards are matched literally
    assert _ids(client, search="%_") == [literal]
    assert _ids(client, search="0%_d") == [literal]
    assert _ids(client, search="_") == [literal]
    # an id prefix, in either case; an unnamed job is found by its id
    assert _ids(client, search=unnamed[:18]) == [unnamed]
    assert _ids(client, search=unnamed[:18].upper()) == [unnamed]
    assert _ids(client, search=unnamed) == [unnamed]
    assert _ids(client, search="no-such-job-anywhere") == []
    # an empty or blank search filters nothing
    everything = _ids(client)
    assert _ids(client, search="") == everything
    assert _ids(client, search="   ") == everything


def test_search_combines_with_filters_and_pages(client: httpx.Client) -> None:
    ids = [submit(client, _job(f"paged-{i}")) for i in range(7)]
    queued = submit(client, _job("paged-queued", dry_run=False))  # no worker: stays submitted
    first = client.get("/jobs", params={"search": "paged-", "limit": 5}).json()
    assert len(first["jobs"]) == 5 and first["next"] is not None
    rest = client.get("/jobs", params={"search": "paged-", "limit": 5, "next": first["next"]})
    assert rest.json()["next"] is None
    listed = [j["id"] for j in first["jobs"] + rest.json()["jobs"]]
    assert listed == sorted([*ids, queued], reverse=True)
    assert _ids(client, search="paged-", status="submitted,ready") == [queued]
    assert set(_ids(client, search="paged-", status="completed")) == set(ids)


def test_search_longer_than_200_characters_is_a_400(client: httpx.Client) -> None:
    response = client.get("/jobs", params={"search": "x" * 201})
    assert response.status_code == 400
    body = response.json()
    spec.validate(body, spec.schema("Error"))
    assert body["validation"] == {"source": "query", "keys": ["search"]}


def test_include_input_returns_the_input_as_submitted(client: httpx.Client) -> None:
    payload = _job("with-input")
    job_id = submit(client, payload)
    plain = client.get(f"/jobs/{job_id}")
    assert plain.status_code == 200
    assert "input" not in plain.json()
    spec.validate(plain.json(), spec.response_schema("/jobs/{UUID}"))

    included = client.get(f"/jobs/{job_id}", params={"include": "input"}).json()
    assert included["input"] == payload["input"]
    assert {k: v for k, v in included.items() if k != "input"} == plain.json()
    assert (
        client.get(f"/jobs/{job_id}", params={"include": "stats, input"}).json()["input"]
        == (payload["input"])
    )
    assert "input" not in client.get(f"/jobs/{job_id}", params={"include": "other"}).json()


def test_include_input_of_a_multi_circuit_job(client: httpx.Client) -> None:
    circuits = [{"circuit": BELL, "name": "a"}, {"circuit": [{"gate": "x", "target": 0}]}]
    payload = _job(
        "multi",
        type="ionq.multi-circuit.v1",
        input={"gateset": "qis", "qubits": 2, "circuits": circuits},
    )
    parent_id = submit(client, payload)
    parent = client.get(f"/jobs/{parent_id}", params={"include": "input"}).json()
    assert parent["input"] == payload["input"]
    first_child = parent["child_job_ids"][0]
    child = client.get(f"/jobs/{first_child}", params={"include": "input"}).json()
    assert child["input"]["circuit"] == BELL
