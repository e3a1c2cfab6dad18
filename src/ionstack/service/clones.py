"""Clone and move a job (IonQ's newer v0.4 revision: ``POST /jobs/{id}/clone|move``).

The spec gives the body (``CloneJobPayload``: every field optional) and the answer (201
``JobCreationResponse``) but no semantics; ionstack's (README "Clone and move"):

* **clone** submits a new job with the original's request — type, input, backend, shots, name,
  metadata, noise (seed included, so a seeded simulation repeats byte for byte), settings,
  dry_run — and the body's fields in place of the original's. ``session_id`` is not inherited
  (a session is time-boxed and bound to a backend): give it to put the clone in a session. The
  new job goes through every check of ``POST /jobs`` (400s, budgets, session limits); any job
  of the project can be cloned, in any status.
* **move** is a clone that takes the original's place: allowed only while the original has
  not started (``submitted``/``ready``), it creates the new job and cancels the original in one
  transaction — so exactly one of them runs. A started or finished job is a 400 (clone it
  instead); a move whose new job would be created ``failed`` (say, too wide for the new
  backend) is a 400 with that failure's message, and the original stays queued.

A ``qctrl.qaoa.v1`` job's ``external_settings.api_credentials`` are never stored: its clone
takes ``external_settings`` in the body (an ionstack extension). Another project's job is a
404, as everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from ionstack.catalog import Catalog
from ionstack.errors import BadRequest
from ionstack.service import lifecycle
from ionstack.service.accounts import Caller
from ionstack.service.jobs import Created, submit
from ionstack.service.submission import MAX_NAME_LEN, QASM3_JOB, bad_request
from ionstack.settings import Settings
from ionstack.store import jobs as repo
from ionstack.store.tables import Job

MOVABLE = ("submitted", "ready")


class ClonePayload(BaseModel):
    """The spec's ``CloneJobPayload`` (``Partial<BaseChildJobCreationPayload>``)."""

    model_config = ConfigDict(extra="forbid")

    parent: str | None = None  #: accepted and ignored (the spec does not say what it means)
    name: str | None = Field(default=None, max_length=MAX_NAME_LEN)
    metadata: dict[str, str] | None = None
    shots: int | None = Field(default=None, ge=1)
    backend: str | None = None
    session_id: str | None = None
    settings: dict[str, Any] | None = None
    dry_run: bool | None = None
    noise: dict[str, Any] | None = None
    #: ionstack extension: a ``qctrl.qaoa.v1`` job's credentials are never stored, so its
    #: clone needs them again
    external_settings: dict[str, Any] | None = None


def parse_overrides(body: object) -> ClonePayload:
    if body is None:
        return ClonePayload()
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object", source="payload")
    try:
        return ClonePayload.model_validate(body)
    except ValidationError as exc:
        raise bad_request(exc) from None


def request_of(job: Job, overrides: ClonePayload, *, debias_min_shots: int) -> dict[str, Any]:
    """The ``POST /jobs`` body of a clone of ``job`` with ``overrides``."""
    body: dict[str, Any] = {
        "type": job.type,
        "backend": job.backend,
        "input": _input(job),
        "dry_run": job.dry_run,
    }
    if job.shots is not None:
        body["shots"] = job.shots
    if job.name is not None:
        body["name"] = job.name
    if job.job_metadata:
        body["metadata"] = dict(job.job_metadata)
    settings = _settings(job, debias_min_shots=debias_min_shots)
    if settings:
        body["settings"] = settings
    if job.noise is not None:
        body["noise"] = dict(job.noise)
    for field in overrides.model_fields_set - {"parent"}:
        value = getattr(overrides, field)
        if value is None:
            body.pop(field, None)
        else:
            body[field] = value
    if "backend" in overrides.model_fields_set and "noise" not in overrides.model_fields_set:
        target = str(overrides.backend or "")
        if target != "simulator":
            body.pop("noise", None)  # noise is a simulator option
    return body


def _input(job: Job) -> dict[str, Any]:
    inp = dict(job.input or {})
    if job.type == QASM3_JOB:
        inp.pop("dynamic", None)
    if job.parent_id is not None:
        inp.pop("name", None)  # a child's circuit name lives in the parent's input
    return inp


def _settings(job: Job, *, debias_min_shots: int) -> dict[str, Any]:
    """The original's settings as a request: the echo, less what the backend filled in."""
    echo: dict[str, Any] = dict(job.settings or {})
    out: dict[str, Any] = {}
    compilation = dict(echo.get("compilation") or {})
    compilation.pop("gate_basis", None)  # the backend's basis, not the user's choice
    if compilation:
        out["compilation"] = compilation
    mitigation = dict(echo.get("error_mitigation") or {})
    debiasing = mitigation.pop("debiasing", None)
    if isinstance(debiasing, bool):
        # carried only when it differs from what the shots alone would give (semantics.md
        # §2.5), so a clone with fewer shots is not refused for a default it never asked for
        default = (job.shots or 0) >= debias_min_shots
        if debiasing != default:
            mitigation["debiasing"] = debiasing
    if mitigation:
        out["error_mitigation"] = mitigation
    if job.type in ("quantum-function", "qctrl.qaoa.v1"):
        return {}
    return out


def clone(
    db: Session,
    job_id: str,
    body: object,
    *,
    caller: Caller,
    catalog: Catalog,
    settings: Settings,
    now: datetime,
    idempotency_key: str | None = None,
) -> Created:
    """Create the clone (not committed: the caller commits, then wakes the workers)."""
    overrides = parse_overrides(body)
    original = lifecycle.get_job(db, caller, job_id)
    request = request_of(original, overrides, debias_min_shots=settings.debias_min_shots)
    return submit(
        db,
        request,
        caller=caller,
        catalog=catalog,
        settings=settings,
        now=now,
        idempotency_key=idempotency_key,
    )


def move(
    db: Session,
    job_id: str,
    body: object,
    *,
    caller: Caller,
    catalog: Catalog,
    settings: Settings,
    now: datetime,
) -> tuple[Created, list[str]]:
    """Create the new job and cancel the original, in the caller's transaction.

    Returns the created job and the ids to announce as finished once committed.
    """
    overrides = parse_overrides(body)
    original = lifecycle.get_job(db, caller, job_id, for_update=True)
    if original.status not in MOVABLE:
        raise BadRequest(
            f"Job {original.id} is {original.status}: only a job that has not started can be "
            "moved (clone it instead).",
            keys=["UUID"],
            source="params",
        )
    request = request_of(original, overrides, debias_min_shots=settings.debias_min_shots)
    created = submit(db, request, caller=caller, catalog=catalog, settings=settings, now=now)
    new = repo.get(db, created.id)
    if new is not None and new.status == "failed":
        failure = new.failure or {}
        raise BadRequest(
            f"The moved job would fail: {failure.get('code')}: {failure.get('message')}",
            keys=["UUID"],
            source="payload",
        )
    changed = lifecycle.cancel(db, original, now=now)
    return created, changed
