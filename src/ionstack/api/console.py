"""The web console: static files under ``/console`` with strict security headers.

The console is plain HTML, CSS and JavaScript modules shipped in ``ionstack/console`` (package
data, no build step). It reads everything through the public ``/v0.4`` API with the key the
person signs in with (kept in the browser's ``sessionStorage``), so this module only serves
files; ``/console`` redirects to ``/console/``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/console"

#: Scripts, styles and data only from this origin; no inline code, no framing, no plugins.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    # revalidate on every load (ETag): a server upgrade is seen at once
    "cache-control": "no-cache",
}


def directory() -> Path:
    """Where the console's files are installed."""
    return Path(str(files("ionstack") / "console"))


class ConsoleFiles:
    """The console's static files, every response carrying :data:`SECURITY_HEADERS`."""

    def __init__(self, *, root: Path) -> None:
        self.files: ASGIApp = StaticFiles(directory=root, html=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.files(scope, receive, send_with_headers)


def install(app: FastAPI) -> None:
    """Serve the console at ``/console/`` (``/console`` redirects there)."""
    app.mount(PREFIX, ConsoleFiles(root=directory()), name="console")
