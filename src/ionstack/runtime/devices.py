"""The device model an emulated QPU job runs under (issue 17).

A ``qpu.*`` job runs under :func:`ionstack.quantum.device.device_model` of the backend's
characterization in force when the job was submitted: the newest stored one measured on or
before the submission date (the daily history, ``GET /backends/{b}/characterizations``). If
none is stored (a history pruned past the job, or a database without seeds), the catalog's
deterministic characterization of that date is used: the same values and id the server stores
for it (:func:`ionstack.catalog.characterization_for`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session, sessionmaker

from ionstack.catalog import Backend, characterization_for
from ionstack.quantum.device import Characterization, DeviceModel, device_model
from ionstack.quantum.noise import NativeFamily
from ionstack.settings import Settings
from ionstack.store import characterizations as char_repo
from ionstack.store.database import transaction


def characterization_in_force(
    sessions: sessionmaker[Session] | None, backend: Backend, day: date
) -> Characterization:
    """The characterization of ``backend`` current on ``day`` as plain values."""
    row = None
    if sessions is not None:
        with transaction(sessions) as db:
            found = char_repo.in_force(db, backend.name, day)
            if found is not None:
                t = found.timing
                row = Characterization(
                    id=str(found.id),
                    fidelity_1q=float(found.fidelity_1q),
                    fidelity_2q=float(found.fidelity_2q),
                    fidelity_spam=float(found.fidelity_spam),
                    t1=float(t["t1"]),
                    t2=float(t["t2"]),
                    time_1q=float(t["1q"]),
                    time_2q=float(t["2q"]),
                    time_readout=float(t.get("readout", 0.0)),
                    time_reset=float(t.get("reset", 0.0)),
                )
    if row is not None:
        return row
    seed = characterization_for(backend, day)
    return Characterization(
        id=seed.id,
        fidelity_1q=seed.fidelity_1q,
        fidelity_2q=seed.fidelity_2q,
        fidelity_spam=seed.fidelity_spam,
        t1=seed.timing.t1,
        t2=seed.timing.t2,
        time_1q=seed.timing.one_q,
        time_2q=seed.timing.two_q,
        time_readout=seed.timing.readout,
        time_reset=seed.timing.reset,
    )


def qpu_model(
    sessions: sessionmaker[Session] | None,
    backend: Backend,
    submitted_at: datetime | None,
    settings: Settings,
) -> DeviceModel:
    """The device model of an emulated QPU job submitted at ``submitted_at``."""
    day = (submitted_at or datetime.now(UTC)).date()
    family: NativeFamily = "zz" if backend.native_2q == ("zz",) else "ms"
    return device_model(
        backend.name,
        characterization_in_force(sessions, backend, day),
        max_qubits=min(backend.qubits, settings.emulation_max_qubits),
        native_2q=family,
        fidelity_convention=settings.device_fidelity_convention,
        coherent_fraction=settings.device_coherent_fraction,
        readout_bright_share=settings.device_readout_bright_share,
    )
