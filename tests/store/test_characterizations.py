from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session, sessionmaker

from ionstack.catalog import Catalog, characterization_id
from ionstack.service.backends import Backends
from ionstack.store.database import transaction


def test_history_is_seeded_once_with_stable_ids(sessions: sessionmaker[Session]) -> None:
    today = date(2026, 3, 10)
    day = [today]
    backends = Backends(catalog=Catalog(), sessions=sessions, history_days=5, today=lambda: day[0])
    qpus_with_data = [b for b in Catalog() if b.has_characterizations]
    assert backends.ensure_history(today=today) == 5 * len(qpus_with_data)
    # A second process (fresh service object) adds nothing for the same day...
    again = Backends(catalog=Catalog(), sessions=sessions, history_days=5)
    assert again.ensure_history(today=today) == 0
    # ...and exactly one row per backend the next day.
    assert again.ensure_history(today=today + timedelta(days=1)) == len(qpus_with_data)
    day[0] = today + timedelta(days=1)
    aria = backends.require("qpu.aria-1")
    with transaction(sessions) as db:
        state = backends.state(db, aria)
        assert state.characterization is not None
        assert state.characterization.id == characterization_id(
            "qpu.aria-1", today + timedelta(days=1)
        )


def test_pages_are_newest_first_and_count_remaining_pages(sessions: sessionmaker[Session]) -> None:
    today = date(2026, 3, 10)
    backends = Backends(catalog=Catalog(), sessions=sessions, history_days=7, today=lambda: today)
    aria = backends.require("qpu.aria-1")
    with transaction(sessions) as db:
        first = backends.characterizations(db, aria, start=None, end=None, limit=3, page=1)
        last = backends.characterizations(db, aria, start=None, end=None, limit=3, page=3)
        window = backends.characterizations(
            db, aria, start=date(2026, 3, 5), end=date(2026, 3, 8), limit=10, page=1
        )
    assert [c.date for c in first.items] == [date(2026, 3, d) for d in (10, 9, 8)]
    assert first.pages == 2
    assert [c.date for c in last.items] == [date(2026, 3, 4)]
    assert last.pages == 0
    assert [c.date for c in window.items] == [date(2026, 3, d) for d in (7, 6, 5)]
