"""Results of completed jobs in the v1 formats (semantics.md §2).

Keys are decimal strings of little-endian outcomes (qubit 0 = least significant bit).
Before completion, or for an unknown job, results are 404. A multi-circuit parent returns its
children's results keyed by child id, in circuit order.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from sqlalchemy.orm import Session

from ionstack.errors import BadRequest, NotFound
from ionstack.service import artifacts
from ionstack.store import jobs as repo
from ionstack.store.tables import Job, JobResult

Kind = Literal["probabilities", "histogram", "shots"]
Aggregation = Literal["average", "voting"]


def aggregation_of(sharpen: str | None, aggregation: str | None) -> Aggregation:
    """``sharpen=true`` or ``aggregation=voting`` → plurality voting; else the average."""
    if aggregation is not None:
        if aggregation in ("average", "voting"):
            return "voting" if aggregation == "voting" else "average"
        raise BadRequest(
            '"aggregation" must be one of [average, voting]', keys=["aggregation"], source="query"
        )
    if sharpen is None:
        return "average"
    lowered = sharpen.strip().lower()
    if lowered in ("true", "1", "yes"):
        return "voting"
    if lowered in ("false", "0", "no", ""):
        return "average"
    raise BadRequest('"sharpen" must be a boolean', keys=["sharpen"], source="query")


def result_urls(job: Job) -> dict[str, Any] | None:
    """The job's ``results`` object: URLs of what exists (semantics.md §2.2), and for function
    jobs the inline results of IonQ's newer spec (``value``/``variance``, ``qaoa_results``)."""
    if job.status != "completed" or job.dry_run or not job.has_results:
        return None
    if job.type == artifacts.QASM3_JOB:
        return artifacts.result_descriptors(job)  # IonQ's newer shape (ArtifactDescriptors)
    base = f"/v0.4/jobs/{job.id}/results"
    urls: dict[str, Any] = {"probabilities": {"url": f"{base}/probabilities"}}
    if job.sampled and not job.is_parent:
        urls["histogram"] = {"url": f"{base}/histogram"}
        urls["shots"] = {"url": f"{base}/shots"}
    return {**inline_results(job), **urls}


def inline_results(job: Job) -> dict[str, Any]:
    output: dict[str, Any] = dict(job.output or {})
    if job.type == "quantum-function" and "value" in output:
        return {"value": output["value"], "variance": output["variance"]}
    if job.type == "qctrl.qaoa.v1" and "solution_bitstring" in output:
        return {
            "qaoa_results": {
                "optimal_cost": output["solution_bitstring_cost"],
                "optimal_bitstring": output["solution_bitstring"],
                "processing_status": output.get("processing_status", "complete"),
            }
        }
    return {}


def job_results(db: Session, job: Job, kind: Kind, *, aggregation: Aggregation) -> Any:
    if job.status != "completed" or not job.has_results:
        raise NotFound()
    if job.is_parent:
        if kind != "probabilities":
            raise NotFound()
        kids = repo.children(db, job.id)
        stored = repo.results(db, [k.id for k in kids])
        out: dict[str, Any] = {}
        for kid in kids:
            row = stored.get(kid.id)
            if row is None:
                raise NotFound()
            out[kid.id] = _leaf(row, "probabilities", aggregation=aggregation)
        return out
    row = repo.result(db, job.id)
    if row is None:
        raise NotFound()
    return _leaf(row, kind, aggregation=aggregation)


def _leaf(row: JobResult, kind: Kind, *, aggregation: Aggregation) -> Any:
    if kind == "probabilities":
        if aggregation == "voting" and row.variants:
            return plurality(row.variants)
        return row.probabilities
    if kind == "histogram":
        if row.histogram is None:
            raise NotFound()
        return row.histogram
    if row.shots is None:
        raise NotFound()
    return row.shots


def plurality(variants: list[dict[str, Any]]) -> dict[str, float]:
    """Each variant votes for its most frequent outcome (ties: smallest key); p = votes / V."""
    votes: Counter[int] = Counter()
    for variant in variants:
        histogram: dict[str, int] = variant["histogram"]
        if not histogram:
            continue
        best = max(histogram.items(), key=lambda kv: (kv[1], -int(kv[0])))
        votes[int(best[0])] += 1
    total = sum(votes.values())
    return {str(k): votes[k] / total for k in sorted(votes)} if total else {}


def variant_results(db: Session, job: Job, variant_id: str, kind: Kind) -> Any:
    if job.status != "completed" or job.is_parent:
        raise NotFound()
    row = repo.result(db, job.id)
    if row is None or not row.variants:
        raise NotFound()
    for variant in row.variants:
        if variant["variant_id"] == variant_id:
            if kind == "probabilities":
                return variant["probabilities"]
            if kind == "histogram":
                return variant["histogram"]
            return variant["shots"]
    raise NotFound()
