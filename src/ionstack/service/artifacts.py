"""Job artifacts of IonQ's newer v0.4 revision (``GET /jobs/{id}/artifacts/{artifactId}``).

An artifact is a document a job produced, named in the job by an ``ArtifactDescriptor``
``{id, format, media_type}``:

* the results of an ``ionq.qasm3.v1`` job, keyed by format in its ``results``:
  ``ionq.result.shots.json.v2`` (every shot's bits, per classical register),
  ``ionq.result.histogram.json.v2`` and ``ionq.result.probabilities.json.v2`` (per register,
  zero-padded bitstrings written most significant bit first, bit 0 rightmost, as Qiskit
  prints them; each register's counts are its marginal over the shots);
* the compiled circuit of every leaf circuit job, in ``output.compilation.compiled_circuits``:
  ``ionq.native.v1`` (the native gate list, as ``/circuits/native``) and ``ionq.qasm3.v1`` (the
  native circuit as OpenQASM 3 source; served as a JSON string, like ``/circuits/qasm3``).

Ids are derived, not stored: ``uuid5(job id, format)``, so the same job always names the same
artifact and another job's artifact id is a 404 here. Artifacts are computed from the stored
results when asked for.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from ionstack.errors import JobFailure, NotFound
from ionstack.service import circuits
from ionstack.store.tables import Job, JobResult

QASM3_JOB = "ionq.qasm3.v1"
SHOTS_V2 = "ionq.result.shots.json.v2"
HISTOGRAM_V2 = "ionq.result.histogram.json.v2"
PROBABILITIES_V2 = "ionq.result.probabilities.json.v2"
NATIVE = "ionq.native.v1"
QASM3 = "ionq.qasm3.v1"
RESULT_FORMATS = (SHOTS_V2, HISTOGRAM_V2, PROBABILITIES_V2)
JSON = "application/json"


def artifact_id(job_id: str, fmt: str) -> str:
    """The artifact id of ``fmt`` in job ``job_id`` (a UUIDv5 under the job's UUID)."""
    return str(uuid.uuid5(uuid.UUID(job_id), fmt))


def descriptor(job_id: str, fmt: str) -> dict[str, str]:
    return {"id": artifact_id(job_id, fmt), "format": fmt, "media_type": JSON}


def result_descriptors(job: Job) -> dict[str, dict[str, str]]:
    """The ``results`` map of a completed qasm3 job (empty for other jobs)."""
    if job.type != QASM3_JOB or job.status != "completed" or job.dry_run or not job.has_results:
        return {}
    return {fmt: descriptor(job.id, fmt) for fmt in RESULT_FORMATS}


def compiled_formats(job: Job) -> tuple[str, ...]:
    """The compiled-circuit formats a job offers: leaf circuit and qasm3 jobs that were
    accepted (a job whose circuit was rejected has none; a multi-circuit parent asks its
    children). A qasm3 program with mid-circuit measurement, reset or control flow has no
    ``ionq.native.v1`` form (a flat gate list cannot say it)."""
    if job.is_parent or not job.stats or job.type not in ("ionq.circuit.v1", QASM3_JOB):
        return ()
    if job.type == QASM3_JOB and bool((job.input or {}).get("dynamic")):
        return (QASM3,)
    return (NATIVE, QASM3)


def compiled_descriptors(job: Job) -> dict[str, dict[str, str]]:
    return {fmt: descriptor(job.id, fmt) for fmt in compiled_formats(job)}


def render(db: Session, job: Job, artifact: str) -> Any:
    """The artifact's JSON document; 404 for an id this job does not name."""
    by_id = {artifact_id(job.id, f): f for f in (*result_descriptors(job), *compiled_formats(job))}
    fmt = by_id.get(artifact)
    if fmt is None:
        raise NotFound()
    if fmt in (NATIVE, QASM3):
        return _compiled(job, fmt)
    row = db.get(JobResult, job.id)
    if row is None or row.records is None:
        raise NotFound()
    layout, values = unpack(row.records)
    if fmt == SHOTS_V2:
        return {"shots": [{"registers": _split_bits(v, layout)} for v in values]}
    counts = register_counts(layout, values)
    if fmt == HISTOGRAM_V2:
        return {"histogram": {"registers": counts}}
    total = len(values)
    return {
        "probabilities": {
            "registers": {
                name: {bits: n / total for bits, n in hist.items()} for name, hist in counts.items()
            }
        }
    }


def _compiled(job: Job, fmt: str) -> Any:
    try:
        text = circuits.compiled_circuit(job, "native" if fmt == NATIVE else "qasm3")
    except JobFailure:
        raise NotFound() from None
    if fmt == NATIVE:
        return json.loads(text)
    return text


# --- the stored record ----------------------------------------------------------------------

Layout = Sequence[tuple[str, int]]


def pack(layout: Layout, records: Sequence[int]) -> dict[str, Any]:
    """What ``JobResult.records`` holds: the register layout and one decimal string per shot."""
    return {
        "registers": [[name, size] for name, size in layout],
        "shots": [str(r) for r in records],
    }


def unpack(stored: dict[str, Any]) -> tuple[list[tuple[str, int]], list[int]]:
    layout = [(str(name), int(size)) for name, size in stored["registers"]]
    return layout, [int(v) for v in stored["shots"]]


def _split_bits(value: int, layout: Layout) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    offset = 0
    for name, size in layout:
        out[name] = [(value >> (offset + i)) & 1 for i in range(size)]
        offset += size
    return out


def register_counts(layout: Layout, values: Sequence[int]) -> dict[str, dict[str, int]]:
    """Per register: zero-padded bitstring (bit 0 rightmost) → shots, in ascending order."""
    counts: dict[str, dict[str, int]] = {}
    offset = 0
    for name, size in layout:
        mask = (1 << size) - 1
        seen = Counter((v >> offset) & mask for v in values)
        counts[name] = {format(k, f"0{size}b") if size else "": seen[k] for k in sorted(seen)}
        offset += size
    return counts
