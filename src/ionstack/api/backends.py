"""Backends and characterizations (semantics.md §3). Listing needs no key (spec: security [])."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from ionstack.api.deps import Caller, Db, State
from ionstack.api.models import Backend, Characterization, CharacterizationList
from ionstack.catalog import all_to_all
from ionstack.errors import BadRequest
from ionstack.service.backends import BackendState
from ionstack.store import tables
from ionstack.times import iso_z

router = APIRouter(tags=["backends"])
ONE_DAY = timedelta(days=1)


def _backend_wire(state: BackendState) -> Backend:
    b = state.backend
    return Backend(
        backend=b.name,
        status=b.status,
        qubits=b.qubits,
        average_queue_time=state.average_queue_time_ms,
        last_updated=iso_z(state.last_updated),
        degraded=b.degraded,
        characterization_id=state.characterization.id if state.characterization else None,
        location=b.location,
        kw=b.kw,
        supported_native_gates=["gpi", "gpi2", *b.native_2q],
        supported_error_mitigations=["debiasing"] if b.is_qpu else [],
        noise_models=list(b.noise_models) if b.noise_models else None,
    )


def _characterization_wire(row: tables.Characterization) -> Characterization:
    day = row.date
    return Characterization.model_validate(
        {
            "id": row.id,
            "date": iso_z(datetime(day.year, day.month, day.day, tzinfo=UTC)),
            "backend": row.backend,
            "qubits": row.qubits,
            "connectivity": all_to_all(row.qubits),
            "fidelity": {
                "1q": {"median": row.fidelity_1q},
                "2q": {"median": row.fidelity_2q},
                "spam": {"median": row.fidelity_spam, "stderr": None},
            },
            "timing": row.timing,
        }
    )


def _parse_day(value: str | None, key: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f'"{key}" must be an ISO date such as 2025-12-31', keys=[key], source="query"
        ) from None
    return parsed.date()


@router.get(
    "/backends",
    response_model=list[Backend],
    response_model_exclude_none=True,
    operation_id="getBackends",
)
def get_backends(state: State, db: Db) -> list[Backend]:
    """Every backend of the catalog, retired ones included."""
    return [_backend_wire(s) for s in state.backends.states(db)]


@router.get(
    "/backends/{backend}",
    response_model=Backend,
    response_model_exclude_none=True,
    operation_id="getBackend",
)
def get_backend(backend: str, state: State, db: Db) -> Backend:
    """One backend; ``simulator`` included. Unknown names get 404."""
    found = state.backends.require(backend)
    return _backend_wire(state.backends.state(db, found))


@router.get(
    "/backends/{backend}/characterizations",
    response_model=CharacterizationList,
    response_model_by_alias=True,
    tags=["characterizations"],
    operation_id="getCharacterizationsForBackend",
)
def get_characterizations(
    backend: str,
    state: State,
    db: Db,
    start: Annotated[str | None, Query(description="Inclusive ISO date")] = None,
    end: Annotated[str | None, Query(description="Exclusive ISO date")] = None,
    limit: Annotated[int, Query(ge=1, le=10)] = 10,
    page: Annotated[int, Query(ge=1)] = 1,
) -> CharacterizationList:
    """A page of the backend's characterizations, newest first."""
    found = state.backends.require(backend)
    result = state.backends.characterizations(
        db,
        found,
        start=_parse_day(start, "start"),
        end=_parse_day(end, "end"),
        limit=limit,
        page=page,
    )
    return CharacterizationList(
        characterizations=[_characterization_wire(r) for r in result.items], pages=result.pages
    )


@router.get(
    "/backends/{backend}/characterizations/{UUID}",
    response_model=Characterization,
    response_model_by_alias=True,
    tags=["characterizations"],
    operation_id="getCharacterization",
)
def get_characterization(
    backend: str,
    UUID: uuid.UUID,
    state: State,
    db: Db,
    caller: Caller,
) -> Characterization:
    """One characterization by id (needs a key, as the spec says)."""
    found = state.backends.require(backend)
    return _characterization_wire(state.backends.characterization(db, found, str(UUID)))


# --- v0.3-style characterization paths ----------------------------------------------------------
# IonQ's ``ionq`` SDK (0.0.0a15) reads characterizations from the v0.3 paths below, under the v0.4
# base URL, in the v0.3 shape: ``date`` in epoch seconds, fidelities as ``{"mean": …}``
# (clients.md §5). Served for it, outside the published OpenAPI document.


def _v03_wire(row: tables.Characterization) -> dict[str, object]:
    day = row.date
    return {
        "id": row.id,
        "date": int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()),
        "backend": row.backend,
        **_legacy_body(row),
    }


def _legacy_body(row: tables.Characterization) -> dict[str, object]:
    """What both legacy shapes share: fidelities as ``{"mean": …}``."""
    return {
        "qubits": row.qubits,
        "connectivity": all_to_all(row.qubits),
        "fidelity": {
            "1q": {"mean": row.fidelity_1q},
            "2q": {"mean": row.fidelity_2q},
            "spam": {"mean": row.fidelity_spam},
        },
        "timing": row.timing,
    }


def _epoch_day(value: str | None, key: str) -> date | None:
    if value is None or value == "":
        return None
    if value.lstrip("-").isdigit():
        try:
            return datetime.fromtimestamp(int(value), tz=UTC).date()
        except (OverflowError, OSError, ValueError):
            raise BadRequest(
                f'"{key}" must be epoch seconds or an ISO date', keys=[key], source="query"
            ) from None
    return _parse_day(value, key)


@router.get("/characterizations/backends/{backend}", include_in_schema=False)
def get_characterizations_v03(
    backend: str,
    state: State,
    db: Db,
    start: str | None = None,
    end: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10)] = 10,
    page: Annotated[int, Query(ge=1)] = 1,
) -> dict[str, object]:
    found = state.backends.require(backend)
    result = state.backends.characterizations(
        db,
        found,
        start=_epoch_day(start, "start"),
        end=_epoch_day(end, "end"),
        limit=limit,
        page=page,
    )
    return {"characterizations": [_v03_wire(r) for r in result.items], "pages": result.pages}


@router.get("/characterizations/backends/{backend}/current", include_in_schema=False)
def get_current_characterization_v03(backend: str, state: State, db: Db) -> dict[str, object]:
    found = state.backends.require(backend)
    return _v03_wire(state.backends.newest_characterization(db, found))


@router.get("/characterizations/{UUID}", include_in_schema=False)
def get_characterization_v03(
    UUID: uuid.UUID, state: State, db: Db, caller: Caller
) -> dict[str, object]:
    return _v03_wire(state.backends.characterization_by_id(db, str(UUID)))


# --- legacy /calibrations (cirq-ionq's get_current_calibration / list_calibrations) ------------
# One QPU (``IONSTACK_CALIBRATION_BACKEND``) as v0.3's single target; ``target`` names it, ``date``
# is ISO with milliseconds. cirq pages until ``next`` is *absent*, so the whole window is one page.


def _calibration_wire(row: tables.Characterization) -> dict[str, object]:
    day = row.date
    return {
        "id": row.id,
        "target": row.backend,
        "date": iso_z(datetime(day.year, day.month, day.day, tzinfo=UTC)),
        **_legacy_body(row),
    }


def _epoch_ms(value: str | None, key: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise BadRequest(
            f'"{key}" must be epoch milliseconds', keys=[key], source="query"
        ) from None


def _first_midnight_at_or_after(moment: datetime | None) -> date | None:
    """Characterizations are dated at 00:00 UTC: the first day whose midnight is ≥ ``moment``."""
    if moment is None:
        return None
    day = moment.date()
    return day if moment == datetime(day.year, day.month, day.day, tzinfo=UTC) else day + ONE_DAY


@router.get("/calibrations/current", include_in_schema=False)
def get_current_calibration(state: State, db: Db, caller: Caller) -> dict[str, object]:
    found = state.backends.require(state.settings.calibration_backend)
    return _calibration_wire(state.backends.newest_characterization(db, found))


@router.get("/calibrations", include_in_schema=False)
def get_calibrations(
    state: State, db: Db, caller: Caller, start: str | None = None, end: str | None = None
) -> dict[str, object]:
    found = state.backends.require(state.settings.calibration_backend)
    result = state.backends.characterizations(
        db,
        found,
        start=_first_midnight_at_or_after(_epoch_ms(start, "start")),
        end=_first_midnight_at_or_after(_epoch_ms(end, "end")),  # exclusive
        limit=state.settings.characterization_history_days + 1,
        page=1,
    )
    return {"calibrations": [_calibration_wire(r) for r in result.items]}
