"""Queries over stored characterizations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ionstack.catalog import CharacterizationSeed
from ionstack.store.tables import Characterization


def newest_dates(db: Session) -> dict[str, date]:
    rows = db.execute(
        select(Characterization.backend, func.max(Characterization.date)).group_by(
            Characterization.backend
        )
    ).all()
    return {str(backend): day for backend, day in rows}


def insert_missing(db: Session, seeds: Iterable[CharacterizationSeed]) -> int:
    """Insert the seeds whose id is not stored yet; returns how many were added."""
    seeds = list(seeds)
    if not seeds:
        return 0
    have = set(
        db.scalars(
            select(Characterization.id).where(Characterization.id.in_([s.id for s in seeds]))
        ).all()
    )
    added = 0
    for seed in seeds:
        if seed.id in have:
            continue
        db.add(
            Characterization(
                id=seed.id,
                backend=seed.backend,
                date=seed.date,
                qubits=seed.qubits,
                fidelity_1q=seed.fidelity_1q,
                fidelity_2q=seed.fidelity_2q,
                fidelity_spam=seed.fidelity_spam,
                timing=seed.timing.as_wire(),
            )
        )
        added += 1
    db.flush()
    return added


def page(
    db: Session,
    *,
    backend: str,
    start: date | None,
    end: date | None,
    limit: int,
    page_number: int,
) -> tuple[list[Characterization], int]:
    """One page, newest first, and the total number of matching rows."""
    where = [Characterization.backend == backend]
    if start is not None:
        where.append(Characterization.date >= start)
    if end is not None:
        where.append(Characterization.date < end)
    total = db.scalar(select(func.count()).select_from(Characterization).where(*where)) or 0
    rows = db.scalars(
        select(Characterization)
        .where(*where)
        .order_by(Characterization.date.desc())
        .limit(limit)
        .offset((page_number - 1) * limit)
    ).all()
    return list(rows), total


def get(db: Session, characterization_id: str) -> Characterization | None:
    return db.get(Characterization, characterization_id)


def newest(db: Session, backend: str) -> Characterization | None:
    return db.scalars(
        select(Characterization)
        .where(Characterization.backend == backend)
        .order_by(Characterization.date.desc())
        .limit(1)
    ).first()


def in_force(db: Session, backend: str, day: date) -> Characterization | None:
    """The characterization current on ``day``: the newest measured on or before it."""
    return db.scalars(
        select(Characterization)
        .where(Characterization.backend == backend, Characterization.date <= day)
        .order_by(Characterization.date.desc())
        .limit(1)
    ).first()


def replace(db: Session, row: Characterization) -> str | None:
    """Store ``row`` in place of its backend's characterization of the same date; returns the
    id it replaced (``None`` if that date had none)."""
    old = db.scalars(
        select(Characterization).where(
            Characterization.backend == row.backend, Characterization.date == row.date
        )
    ).first()
    replaced = None if old is None else str(old.id)
    if old is not None:
        db.delete(old)
        db.flush()
    db.add(row)
    db.flush()
    return replaced
