"""Operator-supplied characterizations (issue 17): emulate a QPU as it was measured on a day.

An emulated ``qpu.*`` job runs under the device model of the characterization in force when it
was submitted (:mod:`ionstack.runtime.devices`). The server stores a deterministic one per day
(:func:`ionstack.catalog.characterization_for`); an operator can put a real one in its place —
for example the body of IonQ's ``GET /backends/{backend}/characterizations/{id}`` for the day
to reproduce — with ``ionstack characterizations import FILE``. It replaces the stored
characterization of its backend and date, so jobs submitted from that date on (until a newer
one) run under it, ``GET /backends`` and ``/characterizations`` serve it, and
``output.noise_model.characterization_id`` names it.

Accepted shapes: v0.4 (``fidelity.{1q,2q,spam}.median``, ``date`` as ISO 8601) and the older
v0.3 one (``fidelity.*.mean``, ``date`` as epoch seconds); ``timing`` holds ``t1``, ``t2``,
``1q``, ``2q``, ``readout`` and ``reset`` in seconds (missing entries keep the catalog's).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.orm import Session

from ionstack.catalog import Catalog
from ionstack.errors import BadRequest
from ionstack.service.backends import fill_history
from ionstack.store import characterizations as repo
from ionstack.store.tables import Characterization

#: Namespace of the ids given to imported characterizations that carry none.
IMPORTED_NAMESPACE = uuid.UUID("5b0f3a52-6a43-4d53-9a4b-2f4f3c0d8e11")


class _Figure(BaseModel):
    model_config = ConfigDict(extra="ignore")
    median: float | None = Field(default=None, gt=0.0, le=1.0)
    mean: float | None = Field(default=None, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _either(self) -> _Figure:
        if self.median is None and self.mean is None:
            raise ValueError("needs a median (or mean)")
        return self

    @property
    def value(self) -> float:
        return self.median if self.median is not None else self.mean  # type: ignore[return-value]


class _Fidelity(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    one_q: _Figure = Field(alias="1q")
    two_q: _Figure = Field(alias="2q")
    spam: _Figure


class _Timing(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    t1: float | None = Field(default=None, gt=0.0)
    t2: float | None = Field(default=None, gt=0.0)
    one_q: float | None = Field(default=None, alias="1q", ge=0.0)
    two_q: float | None = Field(default=None, alias="2q", ge=0.0)
    readout: float | None = Field(default=None, ge=0.0)
    reset: float | None = Field(default=None, ge=0.0)


class _Imported(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str | None = Field(default=None, min_length=1, max_length=36)
    backend: str | None = None
    date: str | int | float
    qubits: int | None = Field(default=None, ge=1)
    fidelity: _Fidelity
    timing: _Timing = Field(default_factory=_Timing)

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be an ISO 8601 date or epoch seconds")
        return value


@dataclass(frozen=True, kw_only=True)
class Imported:
    """What one import stored."""

    id: str
    backend: str
    date: date
    replaced: str | None  #: the id of the characterization it replaced, if any


def _day(value: str | int | float) -> date:
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, tz=UTC).date()
        except (OverflowError, OSError, ValueError):
            raise BadRequest(f"date {value!r} is out of range") from None
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"date {value!r} is not an ISO 8601 date or epoch seconds") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).date()


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


def import_characterization(
    db: Session,
    catalog: Catalog,
    body: object,
    *,
    today: date,
    history_days: int,
    backend: str | None = None,
) -> Imported:
    """Validate ``body`` (one characterization) and store it in place of its day's. The
    catalog's history up to ``today`` is stored first (as the server does), so the import is
    not taken for the newest day by a database the server has not filled yet.

    Raises:
        BadRequest: An unknown backend or one without characterizations, a missing or
            out-of-range figure (fidelities in (0, 1], times > 0, T2 ≤ 2·T1), a date after
            ``today``, or an id already used by another backend or day.
    """
    try:
        parsed = _Imported.model_validate(body)
    except ValidationError as exc:
        raise BadRequest(f"not a characterization: {_problem(exc)}") from None
    name = backend or parsed.backend
    if name is None:
        raise BadRequest('the characterization names no backend: give "backend" or --backend')
    if backend is not None and parsed.backend not in (None, backend):
        raise BadRequest(f"the file is for {parsed.backend!r}, not {backend!r}")
    found = catalog.get(name)
    if found is None or not found.has_characterizations or found.timing is None:
        raise BadRequest(f"backend {name!r} has no characterizations")
    day = _day(parsed.date)
    if day > today:
        raise BadRequest(f"date {day.isoformat()} is after today ({today.isoformat()})")
    fidelity = parsed.fidelity
    # the file's timings over the catalog's
    timing = found.timing.as_wire() | parsed.timing.model_dump(by_alias=True, exclude_none=True)
    if timing["t2"] > 2 * timing["t1"]:
        raise BadRequest(f"timing: T2 ({timing['t2']} s) exceeds 2·T1 ({timing['t1']} s)")
    fill_history(db, catalog, today=today, days=history_days)
    ident = parsed.id or str(uuid.uuid5(IMPORTED_NAMESPACE, f"{name}/{day.isoformat()}"))
    other = repo.get(db, ident)
    if other is not None and (other.backend, other.date) != (name, day):
        raise BadRequest(f"id {ident} is already the characterization of another backend or day")
    row = Characterization(
        id=ident,
        backend=name,
        date=day,
        qubits=parsed.qubits or found.qubits,
        fidelity_1q=fidelity.one_q.value,
        fidelity_2q=fidelity.two_q.value,
        fidelity_spam=fidelity.spam.value,
        timing=timing,
    )
    replaced = repo.replace(db, row)
    return Imported(id=ident, backend=name, date=day, replaced=replaced)
