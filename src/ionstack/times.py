"""Times as the API writes them."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_z(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, e.g. ``2026-12-01T23:25:07.863Z``
    (semantics.md §0)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
