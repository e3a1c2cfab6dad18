"""Logging setup: plain text for people, one JSON object per line for machines.

Events carry procrastinate-style ``extra={"action": ..., ...}`` fields; the JSON formatter
emits them as keys. Secrets never reach the logs: keys are hashed before any lookup.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(*, level: str = "info", as_json: bool = False) -> None:
    handler = logging.StreamHandler()
    if as_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


#: the closed vocabulary of job transitions (also the ``action`` field of JSON lines)
JOB_ACTIONS = frozenset(
    {
        "job_submitted",  # accepted by POST /jobs (a job created failed logs job_failed too)
        "job_started",  # claimed by a worker
        "job_completed",
        "job_failed",
        "job_canceled",
        "job_requeued",  # its worker's lease expired: back in the queue
        "job_released",  # its worker shut down: back in the queue, the attempt not counted
        "job_abandoned",  # its worker stopped running it (cancelled, or the lease was lost)
        "job_result_discarded",  # finished after losing its lease: another run owns it
    }
)


def job_event(
    logger: logging.Logger,
    action: str,
    *,
    job_id: str,
    project_id: str | None,
    backend: str | None,
    duration_ms: int | None = None,
    level: int = logging.INFO,
    **fields: Any,
) -> None:
    """Log one job transition: one line, the same fields in text and JSON.

    Args:
        logger: the module's logger.
        action: one of :data:`JOB_ACTIONS`.
        job_id: the job (or circuit) id.
        project_id: its project.
        backend: its backend.
        duration_ms: for a run, how long it ran; for a start, how long it waited; for a
            cancel, how long since submission.
        level: the log level.
        fields: more context (``code``, ``worker``, ``attempt``, ``session_id`` …); never a
            secret.
    """
    assert action in JOB_ACTIONS, action
    context: dict[str, Any] = {
        "action": action,
        "job_id": job_id,
        "project_id": project_id,
        "backend": backend,
    }
    if duration_ms is not None:
        context["duration_ms"] = duration_ms
    context.update({k: v for k, v in fields.items() if v is not None})
    text = " ".join(f"{k}={v}" for k, v in context.items() if k != "action")
    logger.log(level, "%s %s", action, text, extra=context)
