"""How the user commands of the CLI show jobs, results and backends to a person (rich).

Outcome keys are decimal strings of little-endian outcomes: qubit 0 is the least significant
bit, so the bit string shown is ``q[n-1] … q[1] q[0]``, as qiskit prints it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

#: outcomes shown in a probability table (the rest are summed in one line)
TOP_OUTCOMES = 16
BAR_WIDTH = 30
STATUS_STYLE = {
    "completed": "green",
    "failed": "red",
    "canceled": "yellow",
    "started": "cyan",
    "ready": "blue",
    "submitted": "blue",
}


def status_text(status: object) -> Text:
    value = str(status)
    return Text(value, style=STATUS_STYLE.get(value, ""))


def job_table(job: dict[str, Any]) -> Table:
    """One job as a two-column table of its main fields."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    fields: list[tuple[str, RenderableType]] = [
        ("id", str(job.get("id"))),
        ("status", status_text(job.get("status"))),
        ("backend", str(job.get("backend"))),
    ]
    for key in ("name", "shots", "noise", "session_id", "submitted_at", "started_at"):
        if job.get(key) not in (None, "", {}):
            fields.append((key, _plain(job[key])))
    if job.get("completed_at"):
        fields.append(("completed_at", str(job["completed_at"])))
    if job.get("execution_duration_ms") is not None:
        fields.append(("execution", f"{job['execution_duration_ms']} ms"))
    if job.get("predicted_wait_time_ms"):
        fields.append(("predicted wait", f"{job['predicted_wait_time_ms']} ms"))
    if job.get("child_job_ids"):
        fields.append(("child jobs", "\n".join(job["child_job_ids"])))
    failure = job.get("failure")
    if failure:
        text = f"{failure.get('code', '')}: {failure.get('message', '')}"
        fields.append(("failure", Text(text, style="red")))
    if job.get("results"):
        fields.append(("results", ", ".join(sorted(job["results"]))))
    for key, value in fields:
        table.add_row(key, value)
    return table


def _plain(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def bits(outcome: str, width: int) -> str:
    """The bit string ``q[n-1]…q[0]`` of a decimal little-endian outcome key."""
    return format(int(outcome), "b").zfill(width) if outcome.isdigit() else outcome


def probability_table(
    probabilities: dict[str, float],
    *,
    title: str | None = None,
    counts: dict[str, int] | None = None,
    qubits: int = 1,
) -> Table:
    """The most likely outcomes with a bar each; the rest summed in a last row."""
    width = max([qubits, *(int(k).bit_length() for k in probabilities if k.isdigit())])
    ranked = sorted(probabilities.items(), key=lambda kv: (-kv[1], _order(kv[0])))
    shown, rest = ranked[:TOP_OUTCOMES], ranked[TOP_OUTCOMES:]
    table = Table(title=title, title_justify="left", caption=Text("bits: q[n-1] … q[1] q[0]"))
    table.add_column("outcome", justify="right")
    table.add_column("bits")
    table.add_column("probability", justify="right")
    if counts is not None:
        table.add_column("count", justify="right")
    table.add_column("", no_wrap=True)
    top = shown[0][1] if shown else 1.0
    for key, value in shown:
        row = [key, bits(key, width), f"{value:.4f}"]
        if counts is not None:
            row.append(str(counts.get(key, 0)))
        table.add_row(*row, _bar(value / top if top else 0.0))
    if rest:
        other = sum(v for _, v in rest)
        row = [f"{len(rest)} more", "", f"{other:.4f}"]
        if counts is not None:
            row.append(str(sum(counts.get(k, 0) for k, _ in rest)))
        table.add_row(*row, "")
    return table


def _order(key: str) -> int:
    return int(key) if key.isdigit() else 0


def _bar(fraction: float) -> Text:
    cells = round(max(0.0, min(1.0, fraction)) * BAR_WIDTH)
    return Text("█" * cells, style="magenta")


def results_view(
    job: dict[str, Any],
    probabilities: dict[str, Any],
    *,
    counts: dict[str, Any] | None = None,
) -> RenderableType:
    """Probabilities of a job; a multi-circuit parent's are one table per child job."""
    values = list(probabilities.values())
    if values and all(isinstance(v, dict) for v in values):
        tables = [
            probability_table(
                child,
                title=f"circuit {i} ({child_id})",
                counts=(counts or {}).get(child_id) if counts else None,
                qubits=_qubits(job),
            )
            for i, (child_id, child) in enumerate(probabilities.items())
        ]
        return Group(*tables)
    return probability_table(
        {str(k): float(v) for k, v in probabilities.items()},
        title=f"results of {job.get('id')}",
        counts=counts,
        qubits=_qubits(job),
    )


def _qubits(job: dict[str, Any]) -> int:
    value = (job.get("stats") or {}).get("qubits")
    return value if isinstance(value, int) and value > 0 else 1


def histogram_view(job: dict[str, Any], histogram: dict[str, Any]) -> RenderableType:
    """Counts of a job (or of each child of a multi-circuit parent), with their frequencies."""
    values = list(histogram.values())
    if values and all(isinstance(v, dict) for v in values):
        return Group(
            *(
                probability_table(
                    _frequencies(child), title=f"circuit {i} ({child_id})", counts=child
                )
                for i, (child_id, child) in enumerate(histogram.items())
            )
        )
    return probability_table(
        _frequencies(histogram),
        title=f"results of {job.get('id')}",
        counts=histogram,
        qubits=_qubits(job),
    )


def _frequencies(counts: dict[str, Any]) -> dict[str, float]:
    total = sum(int(v) for v in counts.values()) or 1
    return {str(k): int(v) / total for k, v in counts.items()}


def jobs_table(jobs: list[dict[str, Any]]) -> Table:
    table = Table(title="Jobs")
    for column in ("id", "name", "status", "backend", "shots", "submitted_at", "execution"):
        table.add_column(column)
    for job in jobs:
        duration = job.get("execution_duration_ms")
        table.add_row(
            str(job.get("id")),
            str(job.get("name") or ""),
            status_text(job.get("status")),
            str(job.get("backend")),
            "" if job.get("shots") is None else str(job["shots"]),
            str(job.get("submitted_at") or ""),
            "" if duration is None else f"{duration} ms",
        )
    return table


def backends_table(backends: list[dict[str, Any]]) -> Table:
    table = Table(title="Backends")
    for column in ("backend", "status", "qubits", "average queue", "last updated"):
        table.add_column(column)
    for row in backends:
        queue_ms = row.get("average_queue_time")
        table.add_row(
            str(row.get("backend")),
            status_text(row.get("status")),
            str(row.get("qubits", "")),
            "" if queue_ms is None else f"{queue_ms} ms",
            str(row.get("last_updated") or ""),
        )
    return table


class Watch:
    """The progress line shown while waiting for a job; prints each status change once."""

    def __init__(self, progress: Progress, job_id: str) -> None:
        self._progress = progress
        self._task = progress.add_task(f"job {job_id}", total=None)
        self._job_id = job_id
        self._last: str | None = None

    def update(self, job: dict[str, Any]) -> None:
        status = str(job.get("status"))
        detail = f"job {self._job_id}: {status}"
        wait_ms = job.get("predicted_wait_time_ms")
        if status in ("submitted", "ready") and wait_ms:
            detail += f" (predicted wait {wait_ms / 1000:.1f} s)"
        self._progress.update(self._task, description=detail)
        if status != self._last:
            self._progress.console.print(Text.assemble("status: ", status_text(status)))
            self._last = status


@contextmanager
def watching(console: Console, job_id: str) -> Iterator[Watch]:
    """A spinner with the job's status and the time waited, on ``console`` (stderr)."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with progress:
        yield Watch(progress, job_id)
