"""Running ``ionq.qasm3.v1`` jobs in a worker (issue 15).

The program is parsed again from the stored input (it was checked at submission), run shot by
shot where it must be (:func:`ionstack.quantum.dynamic.run_program`: mid-circuit measurement,
reset, feed-forward), and stored two ways:

* ``JobResult.records``: every shot's classical bits, per register, from which the v2 artifacts
  (``ionq.result.{shots,histogram,probabilities}.json.v2``) are rendered
  (:mod:`ionstack.service.artifacts`);
* the v1 columns (``probabilities``, ``histogram``, ``shots``) over ``output_all``, the final
  state of every qubit (qubit 0 least significant), so ``/results/*`` keep their meaning for
  these jobs too.

A qasm3 job always samples ``shots`` (also on the ideal simulator, where IonQ's cloud would give
exact probabilities): its answer is the shots artifact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from ionstack.quantum.dynamic import ShotsResult, run_program
from ionstack.quantum.noise import NoiseModel
from ionstack.quantum.qasm3 import parse_program
from ionstack.runtime import queue
from ionstack.service import artifacts
from ionstack.settings import Settings

QASM3_JOB = artifacts.QASM3_JOB


def compute(
    held: queue.Claim,
    *,
    model: NoiseModel | None,
    seed: int,
    settings: Settings,
    check: Callable[[], None],
) -> queue.Outcome:
    """Run a claimed qasm3 job (no database access)."""
    raw = held.input
    qubits = raw.get("qubits")
    program = parse_program(str(raw["data"]), qubits=qubits if isinstance(qubits, int) else None)
    shots = held.shots or settings.default_shots
    result = run_program(
        program,
        shots=shots,
        noise=model,
        seed=seed,
        threads=settings.engine_threads,
        memory_limit_bytes=settings.memory_limit_bytes,
        check=check,
    )
    return outcome(result, stats=held.stats)


def records_of(bits: np.ndarray[Any, Any]) -> list[int]:
    """Each shot's row of bits (column j = bit j) as one integer."""
    if bits.shape[1] == 0:
        return [0] * bits.shape[0]
    packed = np.packbits(np.ascontiguousarray(bits, dtype=np.uint8), axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def outcome(result: ShotsResult, *, stats: dict[str, Any]) -> queue.Outcome:
    layout = [(name, int(size)) for name, size in result.registers]
    records = records_of(result.bits)
    total_bits = sum(size for _name, size in layout)
    final_size = layout[-1][1] if layout else 0
    offset = total_bits - final_size  # output_all is the last register
    finals = [r >> offset for r in records]
    counts = Counter(finals)
    shots = len(finals)
    return queue.Outcome(
        probabilities={str(k): counts[k] / shots for k in sorted(counts)},
        histogram={str(k): counts[k] for k in sorted(counts)},
        shots=[str(v) for v in finals],
        variants=None,
        output={
            "simulation": {"method": result.method, "engine": result.engine},
            "registers": dict(layout),
        },
        stats=queue.billed(stats),
        execution_duration_ms=0,
        records=artifacts.pack(layout, records),
    )
