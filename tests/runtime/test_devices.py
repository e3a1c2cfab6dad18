"""The device model a QPU job runs under is the characterization in force at its submission."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from ionstack.catalog import Catalog, characterization_for, characterization_id
from ionstack.runtime import devices
from ionstack.service.backends import Backends
from ionstack.settings import Settings


def test_the_characterization_in_force_is_the_newest_on_or_before_the_day(
    sessions: sessionmaker[Session],
) -> None:
    today = date(2026, 3, 10)
    backends = Backends(catalog=Catalog(), sessions=sessions, history_days=5)
    backends.ensure_history(today=today)
    forte = backends.require("qpu.forte-1")
    for day in (today, today - timedelta(days=2)):
        char = devices.characterization_in_force(sessions, forte, day)
        stored = characterization_for(forte, day)
        assert char.id == stored.id == characterization_id("qpu.forte-1", day)
        assert (char.fidelity_1q, char.fidelity_2q, char.fidelity_spam) == (
            stored.fidelity_1q,
            stored.fidelity_2q,
            stored.fidelity_spam,
        )
        assert (char.t1, char.t2, char.time_1q, char.time_2q) == (
            stored.timing.t1,
            stored.timing.t2,
            stored.timing.one_q,
            stored.timing.two_q,
        )
    # a later day with no row yet: the newest stored one is still in force
    later = devices.characterization_in_force(sessions, forte, today + timedelta(days=3))
    assert later.id == characterization_id("qpu.forte-1", today)
    # the model of a job submitted two days ago uses that day's characterization
    submitted = datetime(2026, 3, 8, 15, 0, tzinfo=UTC)
    model = devices.qpu_model(sessions, forte, submitted, Settings())
    assert model.characterization_id == characterization_id("qpu.forte-1", date(2026, 3, 8))
    assert model.native_2q == "zz"
    aria = devices.qpu_model(sessions, backends.require("qpu.aria-1"), submitted, Settings())
    assert aria.native_2q == "ms"
    assert aria.characterization_id != model.characterization_id


def test_without_stored_history_the_catalog_characterization_of_the_day_is_used() -> None:
    forte = Catalog().get("qpu.forte-1")
    assert forte is not None
    day = date(2025, 1, 2)
    char = devices.characterization_in_force(None, forte, day)
    assert char.id == characterization_id("qpu.forte-1", day)
    settings = Settings(device_coherent_fraction=0.0, device_readout_bright_share=0.5)
    model = devices.qpu_model(None, forte, datetime(2025, 1, 2, tzinfo=UTC), settings)
    assert model.overrotation == 0.0
    assert model.readout_p01 == model.readout_p10
