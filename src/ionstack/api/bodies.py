"""JSON request bodies: read leniently, refused when they hold what no database can store.

Every JSON endpoint reads its body with :func:`json_body`. Python's JSON parser accepts more than
the databases keep: a lone UTF-16 surrogate (``"\\ud800"``, valid JSON) cannot be encoded to
UTF-8 at all, PostgreSQL refuses NUL (``"\\u0000"``) in text and JSON, and ``NaN``,
``Infinity`` or ``1e400`` parse to floats that JSON columns cannot hold. Such a body is a 400
naming the first offending key as a dotted path (``metadata.some_key``, ``input.circuit.0.gate``),
in document order; the offending characters are shown as JSON escapes, never echoed raw.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from fastapi import Request

from ionstack.errors import BadRequest

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


async def json_body(request: Request, *, required: bool) -> Any:
    """The request body parsed as JSON (``None`` for an empty body unless ``required``)."""
    return parse_json(await request.body(), required=required)


def parse_json(raw: bytes, *, required: bool) -> Any:
    """Parse a body; 400 for empty (if required), malformed or unstorable JSON."""
    if not raw.strip():
        if required:
            raise BadRequest("request body must be a JSON object", source="payload")
        return None
    nonfinite = False

    def number(text: str) -> float:
        nonlocal nonfinite
        value = float(text)
        nonfinite = nonfinite or not math.isfinite(value)
        return value

    try:
        value = json.loads(raw, parse_float=number, parse_constant=number)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("request body is not valid JSON", source="payload") from None
    except RecursionError:
        raise BadRequest("request body is nested too deeply", source="payload") from None
    # Bad text needs an escape (\u0000, \udXXX), surrogate bytes (0xED in UTF-8, or a UTF-16/32
    # body, which has NUL bytes): a body with none of them skips the walk (~6 ms for 7 MB).
    if nonfinite or b"\\u" in raw or b"\xed" in raw or b"\x00" in raw:
        check_storable(value)
    return value


def check_storable(value: Any) -> None:
    """Raise 400 at the first string (key or value) holding NUL or a lone surrogate, or the
    first non-finite number, naming its dotted key path."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            _check_text(item, path, what="")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise _bad(path, "must be a finite number")
        elif isinstance(item, dict):
            children: list[tuple[str, Any]] = []
            for key, child in item.items():
                where = f"{path}.{_shown(key)}" if path else _shown(key)
                _check_text(key, where, what="key ")
                children.append((where, child))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(
                reversed([(f"{path}.{i}" if path else str(i), c) for i, c in enumerate(item)])
            )


def _check_text(text: str, path: str, *, what: str) -> None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return
    char = found.group()
    kind = "NUL" if char == "\x00" else "a lone UTF-16 surrogate"
    raise _bad(path, f"{what}must not contain {_escape(char)} ({kind})")


def _bad(path: str, problem: str) -> BadRequest:
    label = f'"{path}"' if path else "request body"
    return BadRequest(f"{label} {problem}", keys=[path] if path else (), source="payload")


def _shown(text: str) -> str:
    """The text with NUL and surrogates written as JSON escapes (safe to put in a response)."""
    return _UNSTORABLE.sub(lambda m: _escape(m.group()), text)


def _escape(char: str) -> str:
    return f"\\u{ord(char):04x}"
