"""The backend catalog and the seed data of their characterizations (semantics.md §3).

Backends are fixed definitions. Characterizations are data: one per backend per day, stored in
the database so their ids are stable across restarts. Their values are deterministic functions of
(backend, date) — the §3.2 typical values with a small daily wobble — so every server computes
the same history and ids (UUIDv5 of backend and date).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

BackendStatus = Literal["available", "unavailable", "retired"]

#: Namespace for characterization ids (UUIDv5 of "backend/date").
CHARACTERIZATION_NAMESPACE = uuid.UUID("6c1f9a52-0d5e-4f7b-9a43-3b8f2f6e1c11")

IONQ_HQ = "College Park, MD, USA"


@dataclass(frozen=True, kw_only=True)
class Timing:
    """Characterization timings in seconds (semantics.md §3.2, spec defect 10.1.4: floats)."""

    t1: float
    t2: float
    one_q: float
    two_q: float
    readout: float
    reset: float

    def as_wire(self) -> dict[str, float]:
        """The stored / served ``timing`` object (keys ``t1 t2 1q 2q readout reset``)."""
        return {
            "t1": self.t1,
            "t2": self.t2,
            "1q": self.one_q,
            "2q": self.two_q,
            "readout": self.readout,
            "reset": self.reset,
        }


@dataclass(frozen=True, kw_only=True)
class Backend:
    """A backend of the catalog."""

    name: str  #: wire name, e.g. ``qpu.aria-1``
    qubits: int  #: qubits the backend offers
    native_2q: tuple[str, ...]  #: native entangling gates it runs: ("ms",), ("zz",) or both
    status: BackendStatus
    location: str
    noise_model: str | None  #: simulator noise model that emulates it (semantics.md §4)
    kw: float | None = None  #: power draw, for kwh in job stats
    degraded: bool | None = False  #: None = omit the field (forte-enterprise-1 does)
    fidelity_1q: float = 0.0
    fidelity_2q: float = 0.0
    fidelity_spam: float = 0.0
    timing: Timing | None = None
    noise_models: tuple[str, ...] = field(default=())  #: simulator only: models it accepts

    @property
    def is_qpu(self) -> bool:
        return self.name.startswith("qpu.")

    @property
    def has_characterizations(self) -> bool:
        return self.timing is not None

    @property
    def gate_basis(self) -> str:
        """``MS`` or ``ZZ``: the compilation basis reported in job settings (semantics §5.12)."""
        return "ZZ" if self.native_2q == ("zz",) else "MS"


_ARIA_TIMING = Timing(t1=100.0, t2=1.0, one_q=135e-6, two_q=600e-6, readout=300e-6, reset=20e-6)
_FORTE_TIMING = _ARIA_TIMING

_SIM_MODELS = (
    "ideal",
    "aria-1",
    "aria-2",
    "forte-1",
    "forte-enterprise-1",
    "harmony",
    "harmony-1",
    "harmony-2",
)


def _aria(name: str, status: BackendStatus) -> Backend:
    return Backend(
        name=name,
        qubits=25,
        native_2q=("ms",),
        status=status,
        location=IONQ_HQ,
        noise_model=name.removeprefix("qpu."),
        kw=4902.81,
        fidelity_1q=0.9995,
        fidelity_2q=0.9960,
        fidelity_spam=0.9961,
        timing=_ARIA_TIMING,
    )


def _forte(name: str, status: BackendStatus, *, degraded: bool | None = False) -> Backend:
    model = "forte-1" if name == "qpu.forte-1" else "forte-enterprise-1"
    return Backend(
        name=name,
        qubits=36,
        native_2q=("zz",),
        status=status,
        location=IONQ_HQ,
        noise_model=model,
        kw=4902.81,
        degraded=degraded,
        fidelity_1q=0.9998,
        fidelity_2q=0.9954,
        fidelity_spam=0.9962,
        timing=_FORTE_TIMING,
    )


def default_backends() -> tuple[Backend, ...]:
    """The catalog of semantics.md §3.1, in listing order."""
    return (
        Backend(
            name="simulator",
            qubits=29,
            native_2q=("ms", "zz"),
            status="available",
            location="cloud",
            noise_model=None,
            noise_models=_SIM_MODELS,
        ),
        _aria("qpu.aria-1", "available"),
        _aria("qpu.aria-2", "retired"),
        _forte("qpu.forte-1", "available"),
        _forte("qpu.forte-enterprise-1", "available", degraded=None),
        _forte("qpu.forte-enterprise-2", "unavailable"),
        _forte("qpu.forte-enterprise-3", "unavailable"),
    )


class Catalog:
    """Lookup over the backends."""

    def __init__(self, backends: tuple[Backend, ...] | None = None) -> None:
        self.backends = backends if backends is not None else default_backends()
        self._by_name = {b.name: b for b in self.backends}

    def get(self, name: str) -> Backend | None:
        return self._by_name.get(name)

    def __iter__(self) -> Iterator[Backend]:
        return iter(self.backends)


@dataclass(frozen=True, kw_only=True)
class CharacterizationSeed:
    """One day's characterization of one backend, ready to store."""

    id: str
    backend: str
    date: date
    qubits: int
    fidelity_1q: float
    fidelity_2q: float
    fidelity_spam: float
    timing: Timing


def _wobble(backend: str, day: date, what: str, scale: float) -> float:
    """A deterministic value in [-scale, scale] for (backend, day, what)."""
    digest = hashlib.sha256(f"{backend}/{day.isoformat()}/{what}".encode()).digest()
    unit = int.from_bytes(digest[:8], "big") / 2**64  # [0, 1)
    return (2 * unit - 1) * scale


def characterization_id(backend: str, day: date) -> str:
    return str(uuid.uuid5(CHARACTERIZATION_NAMESPACE, f"{backend}/{day.isoformat()}"))


def characterization_for(backend: Backend, day: date) -> CharacterizationSeed:
    """The characterization of ``backend`` measured on ``day``.

    Fidelities wobble by a few parts in 10^4 (1q, spam) or 10^3 (2q) around the §3.2 values,
    never above 1; timings are the documented ones.
    """
    assert backend.timing is not None
    f1 = min(0.99999, backend.fidelity_1q + _wobble(backend.name, day, "1q", 1e-4))
    f2 = min(0.9999, backend.fidelity_2q + _wobble(backend.name, day, "2q", 1e-3))
    fs = min(0.9999, backend.fidelity_spam + _wobble(backend.name, day, "spam", 3e-4))
    return CharacterizationSeed(
        id=characterization_id(backend.name, day),
        backend=backend.name,
        date=day,
        qubits=backend.qubits,
        fidelity_1q=round(f1, 6),
        fidelity_2q=round(f2, 6),
        fidelity_spam=round(fs, 6),
        timing=backend.timing,
    )


def all_to_all(qubits: int) -> list[list[int]]:
    """Connectivity of a trapped-ion QPU: every pair (semantics.md §3.2)."""
    return [[i, j] for i in range(qubits) for j in range(i + 1, qubits)]
