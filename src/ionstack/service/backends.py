"""Backends and their characterization history (semantics.md §3)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from ionstack.catalog import Backend, Catalog, characterization_for
from ionstack.errors import NotFound
from ionstack.store import characterizations as repo
from ionstack.store.database import transaction
from ionstack.store.tables import Characterization

#: pages beyond this are empty (no history is that long; keeps offsets within 64 bits)
MAX_PAGE_NUMBER = 10**9


@dataclass(frozen=True, kw_only=True)
class BackendState:
    """A backend with the facts that change: its newest characterization and queue."""

    backend: Backend
    characterization: Characterization | None
    last_updated: datetime
    average_queue_time_ms: int


@dataclass(frozen=True, kw_only=True)
class CharacterizationPage:
    items: list[Characterization]
    pages: int  #: remaining pages after this one (spec: "number of remaining pages")


def fill_history(db: Session, catalog: Catalog, *, today: date, days: int) -> int:
    """Store each QPU's catalog characterizations from the last ``days`` days up to ``today``
    that come after its newest stored one; returns how many were added."""
    first = today - timedelta(days=days - 1)
    newest = repo.newest_dates(db)
    added = 0
    for backend in catalog:
        if not backend.has_characterizations:
            continue
        start = (
            max(first, newest[backend.name] + timedelta(days=1))
            if (backend.name in newest)
            else first
        )
        count = (today - start).days + 1
        seeds = [characterization_for(backend, start + timedelta(days=i)) for i in range(count)]
        added += repo.insert_missing(db, seeds)
    return added


class Backends:
    """Reads the catalog and keeps each QPU's daily characterization history up to date."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        sessions: sessionmaker[Session],
        history_days: int,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self.catalog = catalog
        self._today = today
        self._sessions = sessions
        self._history_days = history_days
        self._ensured: date | None = None
        self._lock = threading.Lock()

    def ensure_history(self, *, today: date | None = None) -> int:
        """Store every characterization from the history window up to ``today``.

        Idempotent and cheap once done for the day (ids are deterministic, so racing
        processes insert the same rows; the unique id makes the second insert a no-op).
        """
        today = today or self._today()
        with self._lock:
            if self._ensured == today:
                return 0
            added = self._insert_history(today)
            self._ensured = today
            return added

    def _insert_history(self, today: date) -> int:
        with transaction(self._sessions, write=True) as db:
            return fill_history(db, self.catalog, today=today, days=self._history_days)

    def require(self, name: str) -> Backend:
        backend = self.catalog.get(name)
        if backend is None:
            raise NotFound(f"Backend {name!r} not found.")
        return backend

    def state(self, db: Session, backend: Backend) -> BackendState:
        self.ensure_history()
        char = repo.newest(db, backend.name) if backend.has_characterizations else None
        if char is not None:
            last = datetime(char.date.year, char.date.month, char.date.day, tzinfo=UTC)
        else:
            today = self._today()
            last = datetime(today.year, today.month, today.day, tzinfo=UTC)
        return BackendState(
            backend=backend, characterization=char, last_updated=last, average_queue_time_ms=0
        )

    def states(self, db: Session) -> list[BackendState]:
        return [self.state(db, b) for b in self.catalog]

    def characterizations(
        self,
        db: Session,
        backend: Backend,
        *,
        start: date | None,
        end: date | None,
        limit: int,
        page: int,
    ) -> CharacterizationPage:
        self.ensure_history()
        if not backend.has_characterizations or page > MAX_PAGE_NUMBER:
            return CharacterizationPage(items=[], pages=0)
        items, total = repo.page(
            db, backend=backend.name, start=start, end=end, limit=limit, page_number=page
        )
        total_pages = math.ceil(total / limit)
        return CharacterizationPage(items=items, pages=max(0, total_pages - page))

    def characterization_by_id(self, db: Session, ident: str) -> Characterization:
        """A characterization of any backend (the v0.3-style ``/characterizations/{id}``)."""
        self.ensure_history()
        found = repo.get(db, ident)
        if found is None:
            raise NotFound()
        return found

    def newest_characterization(self, db: Session, backend: Backend) -> Characterization:
        self.ensure_history()
        found = repo.newest(db, backend.name) if backend.has_characterizations else None
        if found is None:
            raise NotFound()
        return found

    def characterization(self, db: Session, backend: Backend, ident: str) -> Characterization:
        self.ensure_history()
        found = repo.get(db, ident)
        if found is None or found.backend != backend.name:
            raise NotFound()
        return found
