"""JSON Schemas of the artifact formats (``GET /schemas/formats/{format}``).

``format_schemas.json`` is generated from IonQ's newer v0.4 spec by ``scripts/format-schemas``
(one schema per format of the spec's ``Formats`` enum); a test checks it is up to date and that
every artifact ionstack serves validates against its format's schema.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def _schemas() -> dict[str, Any]:
    text = resources.files("ionstack.service").joinpath("format_schemas.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def schema(fmt: str) -> dict[str, Any] | None:
    """The JSON Schema document of ``fmt``, or ``None`` for a format the spec does not list."""
    found = _schemas().get(fmt)
    return None if found is None else dict(found)


def known() -> tuple[str, ...]:
    return tuple(_schemas())
