"""Per-key rate limiting (429 in the spec's body with ``Retry-After``).

Limits are in the ``limits`` library's notation (``IONSTACK_RATE_LIMIT``, e.g. ``200/second`` or
``50/second;2000/minute``), counted per API key (its SHA-256, never the key) or, for requests
without one, per client address. The counters live in any storage ``limits`` supports
(``IONSTACK_RATE_LIMIT_STORAGE``: ``memory://`` by default; ``redis://host`` to share them across
API replicas). ``/health``, ``/docs`` and ``/openapi.json`` are not limited.
"""

from __future__ import annotations

import hashlib
import json
import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from ionstack.errors import TooManyRequests

EXEMPT_PREFIXES = ("/health", "/docs", "/openapi.json", "/redoc", "/metrics", "/console")


class RateLimit:
    """Pure ASGI middleware applying the configured limits before any work is done."""

    def __init__(self, app: ASGIApp, *, limit: str, storage: str) -> None:
        self.app = app
        self.items: list[RateLimitItem] = list(parse_many(limit))
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.items or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        who = _identity(scope)
        for item in self.items:
            if not self.limiter.hit(item, who):
                await _refuse(send, self._retry_after(item, who), scope)
                return
        await self.app(scope, receive, send)

    def _retry_after(self, item: RateLimitItem, who: str) -> int:
        reset, _remaining = self.limiter.get_window_stats(item, who)
        return max(1, math.ceil(reset - time.time()))


def _identity(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            _scheme, _, key = value.decode("latin-1").strip().partition(" ")
            if key.strip():
                return "key:" + hashlib.sha256(key.strip().encode()).hexdigest()
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"


async def _refuse(send: Send, retry_after: int, scope: Scope) -> None:
    error = TooManyRequests(f"Rate limit exceeded. Retry after {retry_after} second(s).")
    body = json.dumps(error.body()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
    ]
    request_id = scope.get("state", {}).get("request_id")
    if request_id:
        headers.append((b"x-request-id", str(request_id).encode()))
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
