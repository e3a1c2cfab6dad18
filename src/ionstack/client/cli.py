"""The user commands of the ``ionstack`` CLI: they talk HTTP to a server (ionstack or IonQ Cloud
itself), with only the v0.4 API and an ``Authorization: apiKey`` header. ``cli.py`` mounts them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

# --- user commands: talk HTTP to a server (ionstack or IonQ Cloud) -----------------------------
#
# Exit codes: 0 done; 1 the server refused or could not be reached (its error body is printed);
# 2 bad usage or job file; 3 the job ended failed or canceled.

jobs_app = typer.Typer(help="List, show, cancel jobs and fetch results (over HTTP).")
out = Console()
err = Console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]

UrlOption = Annotated[
    str,
    typer.Option(
        "--url",
        envvar="IONSTACK_URL",
        help="API base URL (IonQ Cloud: https://api.ionq.co/v0.4).",
        show_default=True,
    ),
]
KeyOption = Annotated[
    str | None,
    typer.Option("--api-key", envvar="IONQ_API_KEY", help="API key.", show_default=False),
]
JobId = Annotated[str, typer.Argument(help="Job id.")]
EXIT_REMOTE, EXIT_USAGE, EXIT_JOB = 1, 2, 3


@contextmanager
def _remote(url: str, api_key: str | None) -> Iterator[Any]:
    from ionstack.client.remote import PayloadError, Remote, RemoteError

    try:
        with Remote(url=url, api_key=api_key) as remote:
            yield remote
    except RemoteError as exc:
        err.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(EXIT_REMOTE) from None
    except PayloadError as exc:
        err.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2))


def _read_job_file(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text()
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot read {path}: {exc.strerror}")
        raise typer.Exit(EXIT_USAGE) from None


def _show_results(remote: Any, job: dict[str, Any], *, as_json: bool) -> None:
    from ionstack.client import display

    results = remote.results(job) if job.get("status") == "completed" else None
    if as_json:
        _print_json({"job": job, "probabilities": results})
        return
    out.print(display.job_table(job))
    if results is not None:
        counts = remote.results(job, kind="histogram") if "histogram" in job["results"] else None
        out.print(display.results_view(job, results, counts=counts))


def submit(
    file: Annotated[str, typer.Argument(help="JSON job payload, or just its input; - = stdin.")],
    backend: Annotated[str | None, typer.Option(help="Backend [simulator].")] = None,
    shots: Annotated[int | None, typer.Option(min=1, help="Shots.")] = None,
    noise: Annotated[str | None, typer.Option(help="Noise model, e.g. aria-1.")] = None,
    seed: Annotated[int | None, typer.Option(help="Noise seed.")] = None,
    name: Annotated[str | None, typer.Option(help="Job name.")] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the job and print its results.")] = True,
    url: UrlOption = "http://127.0.0.1:8000/v0.4",
    api_key: KeyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Submit a job; with --wait (the default) show its progress, then its results."""
    from ionstack.client import display
    from ionstack.client.remote import JobOptions, build_payload, read_document

    options = JobOptions(backend=backend, shots=shots, noise=noise, seed=seed, name=name)
    with _remote(url, api_key) as remote:
        source = "stdin" if file == "-" else file
        payload = build_payload(read_document(_read_job_file(file), source=source), options=options)
        created = remote.submit(payload)
        job_id = created["id"]
        if not wait:
            _print_json(created) if as_json else print(job_id)
            return
        try:
            if as_json:
                job = remote.wait(job_id)
            else:
                err.print(f"submitted job {job_id}", highlight=False)
                with display.watching(err, job_id) as watch:
                    job = remote.wait(job_id, on_update=watch.update)
        except KeyboardInterrupt:
            err.print(f"stopped waiting; job {job_id} goes on (ionstack jobs get {job_id})")
            raise typer.Exit(130) from None
        _show_results(remote, job, as_json=as_json)
    if job.get("status") != "completed":
        raise typer.Exit(EXIT_JOB)


@jobs_app.command("list")
def jobs_list(
    status: Annotated[
        str | None, typer.Option(help="Only these statuses (comma-separated).")
    ] = None,
    backend: Annotated[str | None, typer.Option(help="Only this backend.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many jobs.")] = 25,
    url: UrlOption = "http://127.0.0.1:8000/v0.4",
    api_key: KeyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Your jobs in the key's project, newest first."""
    from ionstack.client import display

    with _remote(url, api_key) as remote:
        jobs = remote.jobs(status=status, backend=backend, limit=limit)
    _print_json(jobs) if as_json else out.print(display.jobs_table(jobs))


@jobs_app.command("get")
def jobs_get(
    job_id: JobId,
    url: UrlOption = "http://127.0.0.1:8000/v0.4",
    api_key: KeyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Show one job."""
    from ionstack.client import display

    with _remote(url, api_key) as remote:
        job = remote.job(job_id)
    _print_json(job) if as_json else out.print(display.job_table(job))


@jobs_app.command("cancel")
def jobs_cancel(
    job_id: JobId,
    url: UrlOption = "http://127.0.0.1:8000/v0.4",
    api_key: KeyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Cancel a job that has not finished (a finished job is left as it is)."""
    with _remote(url, api_key) as remote:
        remote.cancel(job_id)
        job = remote.job(job_id)
    if as_json:
        _print_json(job)
    else:
        out.print(f"job {job_id}: {job.get('status')}", highlight=False)


@jobs_app.command("results")
def jobs_results(
    job_id: JobId,
    kind: Annotated[str, typer.Option(help="probabilities, histogram or shots.")] = "probabilities",
    url: UrlOption = "http://127.0.0.1:8000/v0.4",
    api_key: KeyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """A completed job's results."""
    from ionstack.client import display
    from ionstack.client.remote import RESULT_KINDS

    if kind not in RESULT_KINDS:
        err.print(f"[red]error:[/red] --kind must be one of {', '.join(RESULT_KINDS)}")
        raise typer.Exit(EXIT_USAGE)
    with _remote(url, api_key) as remote:
        job = remote.job(job_id)
        if job.get("status") != "completed":
            err.print(f"job {job_id} is {job.get('status')}: it has no results", highlight=False)
            raise typer.Exit(EXIT_JOB)
        results = remote.results(job, kind=kind)
    if as_json:
        _print_json(results)
    elif kind == "shots":
        print(" ".join(str(s) for s in results))
    elif kind == "histogram":
        out.print(display.histogram_view(job, results))
    else:
        out.print(display.results_view(job, results))


def backends_list(
    url: UrlOption = "http://127.0.0.1:8000/v0.4",
    api_key: KeyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """The server's backends with their status."""
    from ionstack.client import display

    with _remote(url, api_key) as remote:
        rows = remote.backends()
    _print_json(rows) if as_json else out.print(display.backends_table(rows))


def register(app: typer.Typer) -> None:
    """Mount ``submit``, ``backends`` and the ``jobs`` group on the root CLI."""
    app.command()(submit)
    app.command("backends")(backends_list)
    app.add_typer(jobs_app, name="jobs", no_args_is_help=True)
