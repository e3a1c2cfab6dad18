"""BodyLimit's drain, at the ASGI level: how much of an over-limit body it reads before the 413
is finished (README ``IONSTACK_MAX_DRAIN_BYTES``). Over real HTTP: tests/integration/
test_request_text.py."""

from __future__ import annotations

import asyncio
import json

from starlette.types import Message, Receive, Scope, Send

from ionstack.api.middleware import BodyLimit
from ionstack.errors import PayloadTooLarge

CHUNK = 1024


async def _reader(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that reads the whole body, then answers 200; or 413, as the app's handler does."""
    try:
        while (await receive()).get("more_body", False):
            pass
    except PayloadTooLarge as exc:
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(exc.body()).encode()})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _run(
    *, chunks: int, limit: int, drain: int, headers: list[tuple[bytes, bytes]]
) -> tuple[int, list[Message]]:
    """Send ``chunks`` body chunks through BodyLimit; return how many it read and what it sent."""
    read = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": read < chunks}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers, "state": {}}
    asyncio.run(BodyLimit(_reader, max_bytes=limit, max_drain_bytes=drain)(scope, receive, send))
    return read, sent


def _assert_closing_413(sent: list[Message]) -> None:
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert json.loads(body) == PayloadTooLarge().body()
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


def test_a_declared_over_limit_body_is_read_to_its_end_before_the_413_closes() -> None:
    length = str(20 * CHUNK).encode()
    read, sent = _run(
        chunks=20, limit=10 * CHUNK, drain=64 * CHUNK, headers=[(b"content-length", length)]
    )
    assert read == 20
    _assert_closing_413(sent)


def test_a_streamed_over_limit_body_is_read_to_its_end_before_the_413_closes() -> None:
    read, sent = _run(chunks=30, limit=10 * CHUNK, drain=64 * CHUNK, headers=[])
    assert read == 30
    _assert_closing_413(sent)


def test_past_the_drain_bound_the_413_just_closes() -> None:
    declared = [(b"content-length", str(1000 * CHUNK).encode())]
    read, sent = _run(chunks=1000, limit=10 * CHUNK, drain=64 * CHUNK, headers=declared)
    assert read == 0  # announced longer than the bound: nothing is read
    _assert_closing_413(sent)
    read, sent = _run(chunks=1000, limit=10 * CHUNK, drain=64 * CHUNK, headers=[])
    assert 11 + 64 <= read <= 11 + 65  # the limit, then the bound (one chunk over at most)
    _assert_closing_413(sent)


def test_a_client_waiting_for_100_continue_gets_the_413_at_once() -> None:
    headers = [(b"content-length", str(20 * CHUNK).encode()), (b"expect", b"100-continue")]
    read, sent = _run(chunks=20, limit=10 * CHUNK, drain=64 * CHUNK, headers=headers)
    assert read == 0  # uvicorn sends "100 Continue" on the first receive(): never called
    _assert_closing_413(sent)


def test_a_body_within_the_limit_reaches_the_app() -> None:
    read, sent = _run(chunks=5, limit=10 * CHUNK, drain=64 * CHUNK, headers=[])
    assert read == 5
    assert sent[0]["status"] == 200
    assert all(name != b"connection" for name, _ in sent[0]["headers"])
