"""Pure ASGI middleware: request ids, the last-resort 500, the body-size limit, and the refusal
of text no database can store in the path and query string."""

from __future__ import annotations

import json
import logging
import re
import uuid
from urllib.parse import parse_qsl

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ionstack.errors import BadRequest, IonstackError, PayloadTooLarge

logger = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: NUL (PostgreSQL refuses it in text) and lone UTF-16 surrogates (not encodable as UTF-8)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class RequestContext:
    """Outermost layer: tags every response with ``x-request-id`` and turns any uncaught
    exception into the spec's 500 body (the trace goes to the log, never to the client)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)["x-request-id"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception(
                "unhandled error", extra={"action": "http_error", "request_id": request_id}
            )
            if started:
                raise
            await _send_error(send, IonstackError(), request_id=request_id)


class BodyLimit:
    """Reject bodies over ``max_bytes`` with 413 without reading them into memory.

    The 413 goes out as soon as the limit is known: from ``Content-Length``, or while the body
    streams in. It closes the connection, but only after the rest of the body has been read and
    thrown away (at most ``max_drain_bytes`` of it): a client that writes its whole body before
    reading would otherwise meet a socket closed with its data unread, which the kernel answers
    with a reset, and never see the 413. (uvicorn, with h11 or httptools, drops the rest of a
    body itself on a keep-alive connection, but closes at once after the answer to a
    ``Connection: close`` request, which is what urllib sends.) Past ``max_drain_bytes`` the
    connection is just closed. A client waiting on ``Expect: 100-continue`` has sent nothing and
    gets the 413 at once.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_drain_bytes: int = 64 << 20) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_drain_bytes = max_drain_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            answer = _closing(send, receive, budget=_unread_budget(scope, self.max_drain_bytes))
            await _send_error(answer, PayloadTooLarge(), request_id=_request_id(scope))
            return
        seen = 0
        over = False

        async def limited_receive() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # the rest, if any, is drained once the answer (the 413) is written
                    over = message.get("more_body", False)
                    raise PayloadTooLarge()
            return message

        draining = _closing(send, receive, budget=self.max_drain_bytes)

        async def checked_send(message: Message) -> None:
            await (draining if over else send)(message)

        await self.app(scope, limited_receive, checked_send)


def _closing(send: Send, receive: Receive, *, budget: int) -> Send:
    """``send`` for an answer given before the request body was read: the response says
    ``connection: close`` and is finished only once the rest of the body has been read and
    discarded (at most ``budget`` bytes; a negative budget reads nothing)."""

    async def closing_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message)["connection"] = "close"
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            await send({**message, "more_body": True})
            await _discard_body(receive, budget=budget)
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return closing_send


def _unread_budget(scope: Scope, max_drain_bytes: int) -> int:
    """How much of a body nobody has read yet to drain: none when the client waits for
    ``100 Continue`` (it has sent nothing) or announces more than ``max_drain_bytes``."""
    headers = dict(scope["headers"])
    if headers.get(b"expect", b"").lower() == b"100-continue":
        return -1
    length = headers.get(b"content-length", b"")
    if length.isdigit() and int(length) > max_drain_bytes:
        return -1
    return max_drain_bytes


def _request_id(scope: Scope) -> str:
    request_id: str = scope.get("state", {}).get("request_id", "")
    return request_id


async def _discard_body(receive: Receive, *, budget: int) -> None:
    """Read the request body to its end, or until ``budget`` bytes or a disconnect."""
    drained = 0
    while drained <= budget:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        drained += len(message.get("body", b""))


class TextGuard:
    """400 for a path or query string holding NUL or a lone surrogate, before any handler can
    put it in a query (PostgreSQL refuses NUL in text: ``GET /jobs?search=%00`` was a 500).

    Percent-decoding (the server's for the path, Starlette's for the query) turns malformed
    UTF-8 into U+FFFD, so in practice only ``%00`` gets here. Header values need no check: HTTP
    parsers refuse NUL in them and they are decoded as Latin-1, which has no surrogates.
    JSON bodies are checked where they are parsed (``api/bodies.py``).
    """

    def __init__(self, app: ASGIApp, *, max_drain_bytes: int = 64 << 20) -> None:
        self.app = app
        self.max_drain_bytes = max_drain_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = _unstorable_text(scope)
            if refusal is not None:
                answer = _closing(send, receive, budget=_unread_budget(scope, self.max_drain_bytes))
                await _send_error(answer, refusal, request_id=_request_id(scope))
                return
        await self.app(scope, receive, send)


def _unstorable_text(scope: Scope) -> BadRequest | None:
    path: str = scope.get("path", "")
    if _UNSTORABLE.search(path):
        return BadRequest(
            "the request path must not contain NUL or lone UTF-16 surrogates", source="params"
        )
    query: bytes = scope.get("query_string", b"")
    if b"%00" not in query and b"\x00" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if _UNSTORABLE.search(name) or _UNSTORABLE.search(value):
            shown = _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", name)
            return BadRequest(
                f'"{shown}" must not contain NUL or lone UTF-16 surrogates',
                keys=[shown],
                source="query",
            )
    return None


async def _send_error(send: Send, exc: IonstackError, *, request_id: str) -> None:
    body = json.dumps(exc.body()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if request_id:
        headers.append((b"x-request-id", request_id.encode()))
    await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
