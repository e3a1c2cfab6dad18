"""The cost model, rate cards, budgets and estimates (semantics.md §6).

- **Rate cards** are per backend. Defaults are the public Azure/IonQ rates of §6.1 (Aria rates
  for ``qpu.aria-*``, Forte rates for ``qpu.forte*``); the simulator is free. An operator
  overrides a backend's card with ``ionstack rates set`` (stored in the ``rate_cards`` table)
  and goes back to the default with ``ionstack rates reset``.
- **Price** of a job: ``max(base, minimum(em))`` where ``base = shots × (n1q·c1 + n2q·c2)`` for
  a ``gates`` card (gate counts of §5.10, summed over circuits) or ``QCT seconds × unit_cost``
  for a ``compute_second`` card, and ``em`` is whether debiasing is in effect.
- **Budgets**: a project budget and an organization credit, each unlimited unless set. At
  submission the job's price must fit in what is left of both (limit − charged − reserved),
  else the job is created ``failed`` with ``QuotaExhaustedError``. The jobs table is the ledger
  (see :mod:`ionstack.store.billing`): a queued job reserves its price, a completed one is
  charged it (the quoted price: gate counts are exact), a failed or cancelled one holds 0.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.orm import Session

from ionstack import ids
from ionstack.catalog import Backend, Catalog
from ionstack.errors import BadRequest, NotFound
from ionstack.service.submission import CIRCUIT_TYPES, LATER_TYPES
from ionstack.service.timing import (
    DEBIAS_VARIANT_OVERHEAD_US,
    circuit_qct_us,
    timing_for,
    variant_count,
)
from ionstack.store import billing as repo
from ionstack.store.tables import Job, RateCard
from ionstack.times import iso_z

if TYPE_CHECKING:
    from ionstack.service.accounts import Caller
    from ionstack.settings import Settings

Unit = Literal["gates", "compute_second"]
UNITS: tuple[Unit, ...] = ("gates", "compute_second")
COST_UNIT = "usd"
#: namespace of the ids of the default rate cards (UUIDv5 of the backend name)
RATE_CARD_NAMESPACE = uuid.UUID("2f0c7a3e-5b1d-4d8e-9c61-7e2a4b9d3f10")
TERMINAL = ("completed", "failed", "canceled")

#: semantics.md §6.1, Azure pricing (IonQ rates): (1q, 2q, minimum, minimum with EM)
ARIA_RATES = (0.000220, 0.000975, 12.4166, 97.50)
FORTE_RATES = (0.0001645, 0.001121, 25.7899, 168.195)


@dataclass(frozen=True, kw_only=True)
class Rates:
    """One backend's rate card in force."""

    id: str
    backend: str
    unit: Unit
    cost_1q_gate: float
    cost_2q_gate: float
    job_cost_minimum: float
    job_cost_minimum_em: float
    unit_cost: float  #: USD per second of quantum compute time (``compute_second`` cards)
    custom: bool  #: set by the operator (else the built-in default)

    def minimum(self, em: bool) -> float:
        return self.job_cost_minimum_em if em else self.job_cost_minimum

    @property
    def sku(self) -> str:
        return f"{self.backend}.{self.unit}"

    def entry(self, *, em: bool) -> dict[str, Any]:
        """A ``RateCardEntry`` of the newer IonQ spec."""
        if self.unit == "compute_second":
            return {"sku": self.sku, "unit": self.unit, "unit_cost": self.unit_cost}
        return {
            "sku": self.sku,
            "unit": self.unit,
            "cost_1q_gate": self.cost_1q_gate,
            "cost_2q_gate": self.cost_2q_gate,
            "job_cost_minimum": self.minimum(em),
        }


def default_rates(backend: str) -> Rates:
    """The built-in card of semantics.md §6.1 (simulator and unknown backends: free)."""
    if backend.startswith("qpu.aria"):
        c1, c2, low, low_em = ARIA_RATES
    elif backend.startswith("qpu.forte"):
        c1, c2, low, low_em = FORTE_RATES
    else:
        c1 = c2 = low = low_em = 0.0
    return Rates(
        id=str(uuid.uuid5(RATE_CARD_NAMESPACE, backend)),
        backend=backend,
        unit="gates",
        cost_1q_gate=c1,
        cost_2q_gate=c2,
        job_cost_minimum=low,
        job_cost_minimum_em=low_em,
        unit_cost=0.0,
        custom=False,
    )


def _from_row(row: RateCard) -> Rates:
    return Rates(
        id=row.id,
        backend=row.backend,
        unit="compute_second" if row.unit == "compute_second" else "gates",
        cost_1q_gate=row.cost_1q_gate,
        cost_2q_gate=row.cost_2q_gate,
        job_cost_minimum=row.job_cost_minimum,
        job_cost_minimum_em=row.job_cost_minimum_em,
        unit_cost=row.unit_cost,
        custom=True,
    )


def rates_for(db: Session, backend: str) -> Rates:
    row = repo.rate_card(db, backend)
    return _from_row(row) if row is not None else default_rates(backend)


def all_rates(db: Session, catalog: Catalog) -> list[Rates]:
    rows = repo.rate_cards(db)
    return [_from_row(rows[b.name]) if b.name in rows else default_rates(b.name) for b in catalog]


def _amount(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value) or value < 0:
        raise BadRequest(f'"{name}" must be a finite number ≥ 0', keys=[name])
    return float(value)


def set_rates(
    db: Session,
    catalog: Catalog,
    backend: str,
    *,
    now: datetime,
    unit: str | None = None,
    cost_1q_gate: float | None = None,
    cost_2q_gate: float | None = None,
    job_cost_minimum: float | None = None,
    job_cost_minimum_em: float | None = None,
    unit_cost: float | None = None,
) -> Rates:
    """Change a backend's card; fields not given keep their current values."""
    if catalog.get(backend) is None:
        raise NotFound(f"no backend {backend!r}")
    if unit is not None and unit not in UNITS:
        raise BadRequest(f"unit must be one of {', '.join(UNITS)}", keys=["unit"])
    current = rates_for(db, backend)
    values = {
        "unit": unit or current.unit,
        "cost_1q_gate": _amount(cost_1q_gate, "cost_1q_gate"),
        "cost_2q_gate": _amount(cost_2q_gate, "cost_2q_gate"),
        "job_cost_minimum": _amount(job_cost_minimum, "job_cost_minimum"),
        "job_cost_minimum_em": _amount(job_cost_minimum_em, "job_cost_minimum_em"),
        "unit_cost": _amount(unit_cost, "unit_cost"),
    }
    row = repo.rate_card_row(db, backend)
    if row is None:
        row = RateCard(
            backend=backend,
            id=ids.uuid7(),
            unit=current.unit,
            cost_1q_gate=current.cost_1q_gate,
            cost_2q_gate=current.cost_2q_gate,
            job_cost_minimum=current.job_cost_minimum,
            job_cost_minimum_em=current.job_cost_minimum_em,
            unit_cost=current.unit_cost,
            updated_at=now,
        )
        db.add(row)
    for key, value in values.items():
        if value is not None:
            setattr(row, key, value)
    row.id = ids.uuid7()
    row.updated_at = now
    db.flush()
    return _from_row(row)


def reset_rates(db: Session, catalog: Catalog, backend: str) -> Rates:
    if catalog.get(backend) is None:
        raise NotFound(f"no backend {backend!r}")
    repo.delete_rate_card(db, backend)
    return default_rates(backend)


# --- pricing -----------------------------------------------------------------------------------


def price(rates: Rates, *, shots: int, n1q: int, n2q: int, qct_us: float, em: bool) -> float:
    """A job's cost: ``max(base, minimum(em))`` (semantics.md §6.2), in USD."""
    if rates.unit == "compute_second":
        base = qct_us / 1e6 * rates.unit_cost
    else:
        base = shots * (n1q * rates.cost_1q_gate + n2q * rates.cost_2q_gate)
    return round(max(base, rates.minimum(em)), 6)


def gate_share(rates: Rates, *, shots: int, n1q: int, n2q: int, qct_us: float) -> float:
    """One circuit's share of a multi-circuit job (no per-job minimum): informational."""
    if rates.unit == "compute_second":
        return round(qct_us / 1e6 * rates.unit_cost, 6)
    return round(shots * (n1q * rates.cost_1q_gate + n2q * rates.cost_2q_gate), 6)


def _counts(stats: dict[str, Any]) -> tuple[int, int, float]:
    counts = stats.get("gate_counts") or {}
    return (
        int(counts.get("1q", 0)),
        int(counts.get("2q", 0)),
        float(stats.get("predicted_quantum_compute_time_us") or 0),
    )


def job_price(rates: Rates, *, stats: dict[str, Any], shots: int, em: bool) -> float:
    """The price of a job from its ``stats`` (gate counts by the billing rules of §5.10)."""
    n1q, n2q, qct = _counts(stats)
    return price(rates, shots=shots, n1q=n1q, n2q=n2q, qct_us=qct, em=em)


def price_children(rates: Rates, children: Iterable[Job]) -> None:
    for child in children:
        n1q, n2q, qct = _counts(dict(child.stats or {}))
        child.estimated_cost = gate_share(
            rates, shots=child.shots or 0, n1q=n1q, n2q=n2q, qct_us=qct
        )


def charged(job: Job) -> float:
    """What a job was charged: its price once completed (0 for dry runs, failures, cancels)."""
    if job.status == "completed" and not job.dry_run:
        return float(job.estimated_cost or 0.0)
    return 0.0


def cost_body(job: Job) -> dict[str, Any]:
    """``GET /jobs/{id}/cost`` (semantics.md §6.4): ``cost`` only once the job is terminal."""
    body: dict[str, Any] = {
        "dry_run": job.dry_run,
        "estimated_cost": {"value": float(job.estimated_cost or 0.0), "unit": COST_UNIT},
    }
    if job.status in TERMINAL:
        body["cost"] = {"value": charged(job), "unit": COST_UNIT}
    return body


# --- budgets -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Balance:
    """A budget and what is committed against it (``limit`` None = unlimited)."""

    limit: float | None
    charged: float
    reserved: float

    @property
    def remaining(self) -> float | None:
        if self.limit is None:
            return None
        return self.limit - self.charged - self.reserved


def project_balance(db: Session, project_id: str) -> Balance:
    row = repo.budget(db, "project", project_id)
    spend = repo.project_spend(db, project_id)
    return Balance(
        limit=None if row is None else row.amount, charged=spend.charged, reserved=spend.reserved
    )


def organization_balance(db: Session, organization_id: str) -> Balance:
    row = repo.budget(db, "organization", organization_id)
    spend = repo.organization_spend(db, organization_id)
    return Balance(
        limit=None if row is None else row.amount, charged=spend.charged, reserved=spend.reserved
    )


def set_project_budget(
    db: Session, project_id: str, amount: float | None, *, now: datetime
) -> None:
    repo.set_budget(db, "project", project_id, _amount(amount, "budget"), now=now)


def set_organization_credit(
    db: Session, organization_id: str, balance: float | None, *, now: datetime
) -> None:
    """Make the organization's remaining balance exactly ``balance`` (None = unlimited)."""
    balance = _amount(balance, "balance")
    if balance is None:
        repo.set_budget(db, "organization", organization_id, None, now=now)
        return
    spend = repo.organization_spend(db, organization_id)
    repo.set_budget(
        db, "organization", organization_id, balance + spend.charged + spend.reserved, now=now
    )


def add_organization_credit(
    db: Session, organization_id: str, amount: float, *, now: datetime
) -> None:
    amount = _amount(amount, "amount") or 0.0
    row = repo.budget(db, "organization", organization_id, for_update=True)
    if row is None:
        raise BadRequest(
            "the organization's balance is unlimited; set one first with `orgs set-balance`",
            keys=["amount"],
        )
    repo.set_budget(db, "organization", organization_id, row.amount + amount, now=now)


def check_funds(
    db: Session, *, project_id: str, organization_id: str, amount: float
) -> dict[str, str] | None:
    """The ``QuotaExhaustedError`` failure when ``amount`` does not fit, else None.

    Locks the budget rows it reads (PostgreSQL), so two submissions against the same budget
    are decided one after the other.
    """
    if amount <= 0:
        return None
    for scope, subject, label in (
        ("project", project_id, "project budget"),
        ("organization", organization_id, "organization's credit balance"),
    ):
        row = repo.budget(db, scope, subject, for_update=True)
        if row is None:
            continue
        spend = (
            repo.project_spend(db, subject)
            if scope == "project"
            else repo.organization_spend(db, subject)
        )
        left = row.amount - spend.charged - spend.reserved
        if amount > left + 1e-9:
            return {
                "code": "QuotaExhaustedError",
                "message": f"Inadequate credit balance: the job's estimated cost "
                f"${amount:,.2f} exceeds the {label} remaining (${max(left, 0.0):,.2f}).",
            }
    return None


# --- estimate ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EstimateQuery:
    backend: str
    type: str
    qubits: int
    shots: int
    one_q_gates: int
    two_q_gates: int
    error_mitigation: bool

    def input_values(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "type": self.type,
            "qubits": self.qubits,
            "shots": self.shots,
            "1q_gates": self.one_q_gates,
            "2q_gates": self.two_q_gates,
            "error_mitigation": self.error_mitigation,
        }


def estimate(
    db: Session,
    query: EstimateQuery,
    *,
    caller: Caller,
    catalog: Catalog,
    settings: Settings,
    now: datetime,
) -> dict[str, Any]:
    """``GET /jobs/estimate``: the v0.4 spec's fields plus the newer spec's (clients.md §0
    item 14); both times in milliseconds (semantics.md §6.3)."""
    backend = _estimate_backend(query.backend, catalog)
    if query.type not in CIRCUIT_TYPES + LATER_TYPES:
        raise BadRequest(
            f'"type" must be one of [{", ".join(CIRCUIT_TYPES + LATER_TYPES)}]',
            keys=["type"],
            source="query",
        )
    widest = backend.qubits if backend.is_qpu else settings.simulator_max_qubits
    if query.qubits > widest:
        raise BadRequest(
            f'"qubits" must be less than or equal to {widest} for {backend.name}',
            keys=["qubits"],
            source="query",
        )
    em = query.error_mitigation and backend.is_qpu
    timing = timing_for(db, backend, catalog)
    counts = {"1q": query.one_q_gates, "2q": query.two_q_gates}
    qct = circuit_qct_us(counts, query.shots, timing)
    if em:
        qct += variant_count(query.shots) * DEBIAS_VARIANT_OVERHEAD_US
    qct_us = math.ceil(qct)
    rates = rates_for(db, backend.name)
    cost = price(
        rates,
        shots=query.shots,
        n1q=query.one_q_gates,
        n2q=query.two_q_gates,
        qct_us=qct_us,
        em=em,
    )
    body: dict[str, Any] = {
        "input_values": query.input_values(),
        "estimated_at": iso_z(now),
        "cost_unit": COST_UNIT,
        "rate_information": {
            "job_cost_minimum": rates.minimum(em),
            "cost_2q_gate": rates.cost_2q_gate,
            "cost_1q_gate": rates.cost_1q_gate,
            "organization": caller.organization_id,
        },
        "estimated_cost": cost,
        "estimated_execution_time": math.ceil(qct_us / 1000),
        "current_predicted_queue_time": repo.queued_ms(db, backend.name),
        # the newer IonQ spec (ionq-core 0.2.0 requires these)
        "estimate_context": {
            **query.input_values(),
            "organization": caller.organization_id,
            "project": caller.project_id,
        },
        "estimated_unit": COST_UNIT,
        "estimated_total_cost": cost,
        "rate_card": {"id": rates.id, "rates": [rates.entry(em=em)]},
    }
    if rates.unit == "compute_second":
        body["estimated_quantum_compute_time_us"] = qct_us
    return body


def _estimate_backend(name: str, catalog: Catalog) -> Backend:
    backend = catalog.get(name)
    if backend is None:
        raise BadRequest(
            f'"backend" {name!r} is not a known backend', keys=["backend"], source="query"
        )
    if backend.status == "retired":
        raise BadRequest(f"Backend {name} is retired.", keys=["backend"], source="query")
    return backend
