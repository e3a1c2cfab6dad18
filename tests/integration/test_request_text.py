"""Requests a JSON parser or HTTP server accepts but a database may not, over real HTTP, on both
databases: they are 400s naming the key, never 500s (issue 14).

- Text: a lone UTF-16 surrogate (``"\\ud800"``, valid JSON) cannot be encoded to UTF-8 at all
  (SQLite's driver raised, or the job was stored and every later read of it failed); PostgreSQL
  refuses NUL (``"\\u0000"``) in text and JSON, also from a query string (``?search=%00``);
  ``NaN``/``1e400`` are not storable JSON numbers; text longer than its column is refused by
  PostgreSQL.
- An over-limit body from a client that writes it whole before reading the answer (urllib): the
  413 used to go out early and the connection close with the body unread, which the kernel turns
  into a reset, so the client never saw the 413.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ionstack.errors import PayloadTooLarge
from support import spec
from support.server import BOOTSTRAP_KEY, Server, submit

SERVER_WORKERS = 0
SERVER_ENV = {"IONSTACK_POLL_HOLD_S": "0"}  # no workers: a held poll would just wait
OVER_LIMIT = 11 * 1024 * 1024  # the limit is 10 MB

BELL: dict[str, Any] = {
    "type": "ionq.circuit.v1",
    "backend": "simulator",
    "shots": 100,
    "input": {
        "qubits": 2,
        "circuit": [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}],
    },
}


def _raw(body: object) -> bytes:
    """JSON text with lone surrogates and NUL as ``\\u`` escapes, as a JSON client sends them
    (``json.dumps(..., ensure_ascii=False)`` could not even encode a lone surrogate)."""
    return json.dumps(body, ensure_ascii=True).encode()


def _job(**changes: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(BELL))
    body.update(changes)
    return body


def _assert_400(response: httpx.Response, key: str, *, source: str = "payload") -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["statusCode"] == 400
    assert body["error"] == "Bad Request"
    assert body["validation"] == {"source": source, "keys": [key]}
    # the offending characters are named as escapes, never echoed (they could not be encoded)
    assert not any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in body["message"])
    spec.validate(body, spec.schema("Error"))


def _assert_no_traceback(server: Server) -> None:
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]


def _assert_still_serving(client: httpx.Client) -> None:
    job_id = submit(client, _job(name="after"))
    assert client.get(f"/jobs/{job_id}").json()["name"] == "after"


# --- text a database cannot store, in a JSON body --------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "body", "key"),
    [
        ("/jobs", "POST", _job(name="a\ud800b"), "name"),
        ("/jobs", "POST", _job(name="a\x00b"), "name"),
        ("/jobs", "POST", _job(metadata={"k\ud800": "v"}), "metadata.k\\ud800"),
        ("/jobs", "POST", _job(metadata={"k": "v\udfff"}), "metadata.k"),
        ("/jobs", "POST", _job(metadata={"k": "v\x00"}), "metadata.k"),
        (
            "/jobs",
            "POST",
            _job(input={"qubits": 1, "circuit": [{"gate": "h", "target": 0, "note": "\x00"}]}),
            "input.circuit.0.note",
        ),
        (
            "/jobs",
            "POST",
            _job(
                type="ionq.multi-circuit.v1",
                input={"qubits": 1, "circuits": [{"name": "c\ud800", "circuit": []}]},
            ),
            "input.circuits.0.name",
        ),
        (
            "/sessions",
            "POST",
            {"backend": "simulator", "settings": {"k\ud800": 1}},
            "settings.k\\ud800",
        ),
        ("/sessions", "POST", {"backend": "simulator", "x\ud800": 1}, "x\\ud800"),
        ("/sessions", "POST", {"backend": "simulator\x00"}, "backend"),
        ("/jobs/status/cancel", "PUT", {"ids": ["\x00"]}, "ids.0"),
        ("/jobs", "DELETE", {"ids": ["a", "\ud800"]}, "ids.1"),
    ],
    ids=[
        "job-name-surrogate",
        "job-name-nul",
        "metadata-key-surrogate",
        "metadata-value-surrogate",
        "metadata-value-nul",
        "input-nul",
        "child-name-surrogate",
        "session-settings-key-surrogate",
        "session-key-surrogate",
        "session-backend-nul",
        "bulk-cancel-id-nul",
        "bulk-delete-id-surrogate",
    ],
)
def test_unstorable_text_in_a_json_body_is_400_naming_the_key(
    client: httpx.Client, server: Server, path: str, method: str, body: object, key: str
) -> None:
    response = client.request(
        method, path, content=_raw(body), headers={"content-type": "application/json"}
    )
    _assert_400(response, key)
    assert "must not contain" in response.json()["message"]
    _assert_still_serving(client)
    _assert_no_traceback(server)


@pytest.mark.parametrize("number", [b"NaN", b"1e400", b"-Infinity"])
def test_numbers_json_columns_cannot_hold_are_400_naming_the_key(
    client: httpx.Client, server: Server, number: bytes
) -> None:
    """Python's parser reads these as floats; stored in JSON they are a 500 on PostgreSQL."""
    gate = b'{"gate": "rx", "target": 0, "rotation": ' + number + b"}"
    body = (
        b'{"type": "ionq.circuit.v1", "backend": "simulator", '
        b'"input": {"qubits": 1, "circuit": [' + gate + b"]}}"
    )
    response = client.post("/jobs", content=body, headers={"content-type": "application/json"})
    _assert_400(response, "input.circuit.0.rotation")
    assert response.json()["message"] == '"input.circuit.0.rotation" must be a finite number'
    _assert_still_serving(client)
    _assert_no_traceback(server)


def test_escaped_text_that_is_storable_is_kept(client: httpx.Client) -> None:
    """The check looks at text, not at escapes: a surrogate pair and other escapes are fine."""
    name = "caf\u00e9 \U0001f600 tab\t"  # sent as \u00e9, the pair \ud83d\ude00, \t
    body = _raw(_job(name=name, metadata={"k\u00e9": "\U0001f600"}))
    assert b"\\ud83d\\ude00" in body
    response = client.post("/jobs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text
    job = client.get(f"/jobs/{response.json()['id']}").json()
    assert job["name"] == name
    assert job["metadata"] == {"k\u00e9": "\U0001f600"}


# --- text a database cannot store, in the query string, path and headers ----------------------


@pytest.mark.parametrize("name", ["search", "target", "submitter_id"])
def test_nul_in_a_query_parameter_is_400_naming_it(
    client: httpx.Client, server: Server, name: str
) -> None:
    response = client.get("/jobs", params={name: "a\x00b"})
    _assert_400(response, name, source="query")
    _assert_still_serving(client)
    _assert_no_traceback(server)


@pytest.mark.parametrize("path", ["/sessions/%00", "/sessions/%00/jobs", "/backends/%00"])
def test_nul_in_a_path_is_400_before_any_lookup(
    client: httpx.Client, server: Server, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 400, response.text
    assert response.json()["validation"] == {"source": "params", "keys": []}
    spec.validate(response.json(), spec.schema("Error"))
    _assert_no_traceback(server)


def test_text_longer_than_its_column_is_400(client: httpx.Client, server: Server) -> None:
    _assert_400(client.post("/jobs", json=_job(name="n" * 1001)), "name")
    multi = _job(
        type="ionq.multi-circuit.v1",
        input={"qubits": 1, "circuits": [{"name": "c" * 1001, "circuit": []}]},
    )
    _assert_400(client.post("/jobs", json=multi), "input.circuits.0.name")
    too_long = client.post("/jobs", json=_job(), headers={"Idempotency-Key": "k" * 201})
    _assert_400(too_long, "idempotency-key", source="headers")
    assert submit(client, _job(name="n" * 1000))
    _assert_still_serving(client)
    _assert_no_traceback(server)


def test_any_latin1_idempotency_key_is_a_normal_answer(client: httpx.Client) -> None:
    """Header values reach the handler as Latin-1 text: storable; NUL never gets past HTTP."""
    key = "caf\u00e9-\u00ff-" + "k" * 190
    headers = [(b"Idempotency-Key", key.encode("latin-1"))]
    first = client.post("/jobs", content=json.dumps(_job()).encode(), headers=headers)
    again = client.post("/jobs", content=json.dumps(_job()).encode(), headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert first.json()["id"] == again.json()["id"]


# --- an over-limit body written whole before the answer is read ------------------------------


def _urllib_post(server: Server, data: bytes | Iterator[bytes], **headers: str) -> tuple[int, Any]:
    """POST with urllib, which writes the whole body (and ``Connection: close``) first."""
    request = urllib.request.Request(
        f"{server.url}/jobs",
        data=data,
        method="POST",
        headers={"Authorization": f"apiKey {BOOTSTRAP_KEY}", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_urllib_writing_an_over_limit_body_first_reads_the_413(
    client: httpx.Client, server: Server
) -> None:
    status, body = _urllib_post(server, b"x" * OVER_LIMIT)  # with Content-Length
    assert status == 413
    assert body == PayloadTooLarge().body()
    spec.validate(body, spec.schema("Error"))
    _assert_still_serving(client)
    _assert_no_traceback(server)


def test_urllib_streaming_an_over_limit_body_reads_the_413(
    client: httpx.Client, server: Server
) -> None:
    # no Content-Length: the limit is found while streaming, with 10 MB still to come
    chunks = iter([b" " * (1024 * 1024)] * 20)
    status, body = _urllib_post(server, chunks, **{"Transfer-Encoding": "chunked"})
    assert status == 413
    assert body == PayloadTooLarge().body()
    _assert_still_serving(client)
    _assert_no_traceback(server)


def test_a_keep_alive_client_writing_an_over_limit_body_first_reads_the_413(
    client: httpx.Client, server: Server
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request(
            "POST",
            "/v0.4/jobs",
            body=b"x" * OVER_LIMIT,
            headers={"Authorization": f"apiKey {BOOTSTRAP_KEY}"},
        )
        response = connection.getresponse()
        assert response.status == 413
        assert json.loads(response.read()) == PayloadTooLarge().body()
        assert response.getheader("connection") == "close"
    finally:
        connection.close()
    _assert_still_serving(client)
