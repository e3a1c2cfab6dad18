"""One mapping from errors to the spec's error body; FastAPI's 422 never reaches a client."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ionstack.errors import (
    BadRequest,
    IonstackError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
    ValidationSource,
)

logger = logging.getLogger(__name__)

_SOURCES: dict[str, ValidationSource] = {
    "body": "payload",
    "query": "query",
    "path": "params",
    "header": "headers",
    "cookie": "headers",
}
_BY_STATUS: dict[int, type[IonstackError]] = {
    400: BadRequest,
    401: Unauthorized,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    429: TooManyRequests,
}


def error_response(exc: IonstackError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers or None)


def validation_error(errors: list[Any]) -> BadRequest:
    """Turn pydantic/FastAPI validation errors into a Joi-style 400."""
    source: ValidationSource = "payload"
    keys: list[str] = []
    messages: list[str] = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        if loc and loc[0] in _SOURCES:
            source = _SOURCES[loc[0]]
            loc = loc[1:]
        key = ".".join(loc)
        if key and key not in keys:
            keys.append(key)
        label = f'"{key}"' if key else "request body"
        messages.append(f"{label} {_describe(err)}")
    message = messages[0] if messages else "invalid request"
    if len(messages) > 1:
        message += f" (and {len(messages) - 1} more)"
    return BadRequest(message, keys=keys, source=source)


def _describe(err: dict[str, Any]) -> str:
    kind = str(err.get("type", ""))
    if kind == "missing":
        return "is required"
    if kind == "json_invalid":
        return "is not valid JSON"
    if kind == "extra_forbidden":
        return "is not allowed"
    msg = str(err.get("msg", "is invalid"))
    return msg[0].lower() + msg[1:] if msg else "is invalid"


def install(app: FastAPI) -> None:
    @app.exception_handler(IonstackError)
    async def _ionstack(_: Request, exc: IonstackError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        cls = _BY_STATUS.get(exc.status_code)
        if cls is None:
            err = IonstackError(str(exc.detail))
            err.status_code = exc.status_code  # type: ignore[misc]
        elif exc.status_code in (404, 405):
            err = cls()
        else:
            err = cls(str(exc.detail) if exc.detail else None)
        if exc.headers:
            err.headers.update(exc.headers)
        return error_response(err)
