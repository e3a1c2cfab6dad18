"""A small HTTP client of the IonQ v0.4 API, for the user commands of the ``ionstack`` CLI.

It uses only operations of the v0.4 spec and the ``Authorization: apiKey KEY`` header, so it
works against an ionstack server and against IonQ Cloud (``https://api.ionq.co/v0.4``) alike.
Errors come back as :class:`RemoteError` carrying the server's error body.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ionstack.errors import IonstackError

DEFAULT_URL = "http://127.0.0.1:8000/v0.4"
TERMINAL = ("completed", "failed", "canceled")
RESULT_KINDS = ("probabilities", "histogram", "shots")


class RemoteError(IonstackError):
    """A request the server refused (its error body in ``reply``) or could not be made."""

    def __init__(
        self, message: str, *, status: int | None = None, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reply = body or {}


class PayloadError(IonstackError):
    """The job file is not a job payload or a circuit input."""


@dataclass(frozen=True, kw_only=True)
class JobOptions:
    """What ``ionstack submit`` flags change in a payload (None: keep the file's value)."""

    backend: str | None = None
    shots: int | None = None
    noise: str | None = None
    seed: int | None = None
    name: str | None = None


def build_payload(document: object, *, options: JobOptions) -> dict[str, Any]:
    """A job payload from a file's JSON: a whole payload (it has ``input``), or just the input.

    Args:
        document: the parsed JSON of the file.
        options: flags that override or fill in payload fields.

    Raises:
        PayloadError: the document is neither a payload nor an input.
    """
    if not isinstance(document, dict):
        raise PayloadError("the job file must hold a JSON object")
    if "input" in document:
        payload = dict(document)
    elif "circuit" in document or "circuits" in document:
        multi = "circuits" in document
        payload = {
            "type": "ionq.multi-circuit.v1" if multi else "ionq.circuit.v1",
            "input": document,
        }
    else:
        raise PayloadError(
            'the job file needs "input" (a whole job) or "circuit"/"circuits" (a job input)'
        )
    payload.setdefault("type", "ionq.circuit.v1")
    if options.backend is not None or "backend" not in payload:
        payload["backend"] = options.backend or "simulator"
    if options.shots is not None:
        payload["shots"] = options.shots
    if options.name is not None:
        payload["name"] = options.name
    if options.noise is not None or options.seed is not None:
        noise = dict(payload.get("noise") or {})
        if options.noise is not None:
            noise["model"] = options.noise
        if options.seed is not None:
            noise["seed"] = options.seed
        noise.setdefault("model", "ideal")
        payload["noise"] = noise
    return payload


def read_document(text: str, *, source: str) -> object:
    """Parse a job file's text; a clear :class:`PayloadError` when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise PayloadError(f"{source} is not valid JSON: {exc}") from None


class Remote:
    """The API at ``url`` (the versioned base, e.g. ``http://127.0.0.1:8000/v0.4``)."""

    def __init__(
        self,
        *,
        url: str,
        api_key: str | None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        headers = {"User-Agent": "ionstack-cli"}
        if api_key:
            headers["Authorization"] = f"apiKey {api_key}"
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- requests ----------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RemoteError(f"cannot reach {self.url}: {exc}") from None
        if response.is_success:
            return response.json() if response.content else None
        raise _error(response)

    def submit(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``POST /jobs``: ``{"id", "status", "session_id"}``."""
        created: dict[str, Any] = self._request("POST", "/jobs", json=payload)
        return created

    def job(self, job_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self._request("GET", f"/jobs/{job_id}")
        return found

    def jobs(
        self, *, status: str | None = None, backend: str | None = None, limit: int = 25
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` jobs, newest first, following ``next`` across pages."""
        jobs: list[dict[str, Any]] = []
        cursor: str | None = None
        while len(jobs) < limit:
            params: dict[str, Any] = {"limit": min(25, limit - len(jobs))}
            if status:
                params["status"] = status
            if backend:
                params["target"] = backend
            if cursor:
                params["next"] = cursor
            page = self._request("GET", "/jobs", params=params)
            jobs.extend(page.get("jobs") or [])
            cursor = page.get("next")
            if not cursor or not page.get("jobs"):
                break
        return jobs[:limit]

    def cancel(self, job_id: str) -> dict[str, Any]:
        done: dict[str, Any] = self._request("PUT", f"/jobs/{job_id}/status/cancel")
        return done

    def results(
        self, job: dict[str, Any], *, kind: str = "probabilities"
    ) -> dict[str, Any] | list[Any]:
        """A completed job's results of ``kind``, from the URL the job advertises."""
        links = job.get("results") or {}
        link = (links.get(kind) or {}).get("url") if isinstance(links, dict) else None
        if not link:
            have = ", ".join(sorted(links)) if isinstance(links, dict) and links else "none"
            raise RemoteError(f"job {job.get('id')} has no {kind} results (it has: {have})")
        found: dict[str, Any] | list[Any] = self._request("GET", self._path(link))
        return found

    def backends(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._request("GET", "/backends")
        return found

    def _path(self, link: str) -> str:
        """A result URL as given by the job (``/v0.4/jobs/…`` or absolute) → a request path."""
        if link.startswith(("http://", "https://")):
            return link
        base_path = urlsplit(self.url).path.rstrip("/")
        if base_path and link.startswith(base_path + "/"):
            return link[len(base_path) :]
        return link

    # --- waiting -----------------------------------------------------------------------------

    def wait(
        self,
        job_id: str,
        *,
        on_update: Callable[[dict[str, Any]], None] | None = None,
        timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> dict[str, Any]:
        """Poll ``GET /jobs/{id}`` (backing off from 0.1 s to 2 s) until the job is terminal.

        Raises:
            RemoteError: on a server error, or ``timeout`` seconds passed.
        """
        started = clock()
        delay = 0.1
        while True:
            job = self.job(job_id)
            if on_update is not None:
                on_update(job)
            if job.get("status") in TERMINAL:
                return job
            if timeout is not None and clock() - started > timeout:
                raise RemoteError(f"job {job_id} still {job.get('status')} after {timeout:g} s")
            sleep(delay)
            delay = min(2.0, delay * 1.5)


def _error(response: httpx.Response) -> RemoteError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "message" in body:
        message = f"{response.status_code} {body.get('error') or response.reason_phrase}: "
        message += str(body["message"])
        keys = (body.get("validation") or {}).get("keys") if body.get("validation") else None
        if keys:
            message += f" (keys: {', '.join(map(str, keys))})"
        return RemoteError(message, status=response.status_code, body=body)
    text = response.text.strip()[:200] or response.reason_phrase
    return RemoteError(
        f"{response.status_code} {text}", status=response.status_code, body={"message": text}
    )
