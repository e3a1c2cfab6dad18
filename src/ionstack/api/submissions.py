"""``POST /jobs``'s writes, with group commit on SQLite.

A submission is answered 201 only once its rows are committed (durable). On SQLite every commit
is an fsync of the write-ahead log at ``synchronous=FULL``, and one database file has one writer
at a time, so submissions that arrive together would queue for one fsync each. Here they are
written together instead: while one transaction commits, the submissions that arrive wait, and
the next transaction takes all of them (up to ``IONSTACK_SQLITE_GROUP_COMMIT``) — one BEGIN, one
fsync, then each gets its own answer. Each submission runs in a savepoint of its own
(:func:`ionstack.service.jobs.submit`), so one request's 400 or 401 never touches the others';
if the commit itself fails, none of the batch is answered 201. PostgreSQL commits concurrent
transactions in parallel (and groups their WAL flushes itself): there each submission is its
own transaction, as before.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool

from ionstack.api.state import AppState
from ionstack.metrics import Metrics
from ionstack.service import accounts
from ionstack.service.jobs import Created, submit
from ionstack.store.database import transaction

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class _Pending:
    body: object
    authorization: str | None
    idempotency_key: str | None
    future: asyncio.Future[Created] = field(repr=False)


class Submissions:
    """Writes submissions, in batches on SQLite (one per API process, in its event loop)."""

    def __init__(self, state: AppState, *, metrics: Metrics | None = None) -> None:
        self._state = state
        self._metrics = metrics
        limit = state.settings.sqlite_group_commit
        self._batch = limit if state.engine.dialect.name == "sqlite" else 1
        self._pending: list[_Pending] = []
        self._draining = False
        self._task: asyncio.Task[None] | None = None  #: the running drain (kept referenced)

    async def submit(
        self, body: object, *, authorization: str | None, idempotency_key: str | None
    ) -> Created:
        """The created (or replayed) job, once durable; the request's own error otherwise."""
        if self._batch <= 1:
            [outcome] = await run_in_threadpool(
                self._write, [(body, authorization, idempotency_key)]
            )
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Created] = loop.create_future()
        self._pending.append(
            _Pending(
                body=body,
                authorization=authorization,
                idempotency_key=idempotency_key,
                future=future,
            )
        )
        if not self._draining:
            self._draining = True
            self._task = loop.create_task(self._drain(), name="group-commit")
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._batch]
                del self._pending[: self._batch]
                requests = [(p.body, p.authorization, p.idempotency_key) for p in batch]
                try:
                    outcomes = await run_in_threadpool(self._write, requests)
                except Exception as exc:  # the commit failed: nothing of the batch is durable
                    for p in batch:
                        if not p.future.done():
                            p.future.set_exception(exc)
                    continue
                for p, outcome in zip(batch, outcomes, strict=True):
                    if p.future.done():  # its client went away
                        continue
                    if isinstance(outcome, Exception):
                        p.future.set_exception(outcome)
                    else:
                        p.future.set_result(outcome)
        finally:
            self._draining = False

    def _write(
        self, requests: list[tuple[object, str | None, str | None]]
    ) -> list[Created | Exception]:
        """One transaction for ``requests`` (in a worker thread); each one's outcome."""
        state = self._state
        outcomes: list[Created | Exception] = []
        with transaction(state.sessions, write=True) as db:
            for body, authorization, idempotency_key in requests:
                try:
                    caller = accounts.authenticate(db, authorization)
                    created = submit(
                        db,
                        body,
                        caller=caller,
                        catalog=state.backends.catalog,
                        settings=state.settings,
                        now=datetime.now(UTC),
                        idempotency_key=idempotency_key,
                    )
                except Exception as exc:  # this request's own: its savepoint is rolled back
                    outcomes.append(exc)
                else:
                    outcomes.append(created)
        if self._metrics is not None:
            self._metrics.submission_batches.observe(len(requests))
        if any(isinstance(o, Created) and not o.replayed for o in outcomes):
            try:
                state.wakeup.notify()
            except Exception:  # the jobs are durable; workers also poll, so this only delays
                logger.warning(
                    "could not wake the workers", exc_info=True, extra={"action": "wakeup_failed"}
                )
        return outcomes
