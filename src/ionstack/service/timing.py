"""Predicted durations: the timing a job is priced and scheduled with, and its quantum compute
time (QCT, semantics.md §5.10). Job creation (``jobs.py``) and cost estimates (``billing.py``)
both use these, so a job's predicted time and its ``/jobs/estimate`` agree.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ionstack.catalog import Backend, Catalog, Timing
from ionstack.quantum.debias import variant_count
from ionstack.store import characterizations as char_repo

__all__ = ["DEBIAS_VARIANT_OVERHEAD_US", "circuit_qct_us", "timing_for", "variant_count"]

#: per-variant setup overhead of a debiased job (semantics.md §5.10 [P])
DEBIAS_VARIANT_OVERHEAD_US = 50_000


def timing_for(db: Session, backend: Backend, catalog: Catalog) -> Timing:
    """The gate, readout and reset times a job on ``backend`` is predicted with: a QPU's newest
    characterization, else its catalog entry; simulators use Forte's (semantics.md §5.10)."""
    if backend.is_qpu:
        newest = char_repo.newest(db, backend.name)
        if newest is not None:
            t = newest.timing
            return Timing(
                t1=t["t1"],
                t2=t["t2"],
                one_q=t["1q"],
                two_q=t["2q"],
                readout=t["readout"],
                reset=t["reset"],
            )
        if backend.timing is not None:
            return backend.timing
    reference = catalog.get("qpu.forte-1")
    assert reference is not None and reference.timing is not None
    return reference.timing


def circuit_qct_us(counts: dict[str, int], shots: int, timing: Timing) -> float:
    """Predicted quantum compute time of one circuit in µs (semantics.md §5.10)."""
    per_shot = timing.reset + counts.get("1q", 0) * timing.one_q
    per_shot += counts.get("2q", 0) * timing.two_q + timing.readout
    return shots * per_shot * 1e6
