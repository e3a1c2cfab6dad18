"""Simulate what the circuit uses (issue 16 §2).

Qubits that no gate touches stay |0⟩: the engines run on the touched qubits only, renumbered
``0..w-1`` in their declared order (:func:`compact`), and the answer is mapped back to the
declared positions (:func:`restore`): keys, shots and histograms are exactly those of the
declared circuit, with the idle qubits' bits 0. ``nop`` gates (idle time, no noise) touch
nothing and are dropped from the compacted circuit.

:func:`restore` is the one place where a result returns to the declared width: a per-qubit
readout error (none in today's models) would be applied there to every declared qubit, the
idle ones included, by sampling their flips without simulating them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ionstack.quantum.circuit import Circuit
from ionstack.quantum.sampling import Probabilities

if TYPE_CHECKING:
    from ionstack.quantum.simulate import RunResult


def used_qubits(circuit: Circuit) -> tuple[int, ...]:
    """The qubits some gate acts on, ascending (at least qubit 0, so a run has a width)."""
    used = {q for g in circuit.gates if g.name != "nop" for q in g.qubits}
    return tuple(sorted(used)) if used else (0,)


def compact(circuit: Circuit, used: tuple[int, ...]) -> Circuit:
    """``circuit`` on ``len(used)`` qubits, qubit ``used[i]`` renumbered ``i``."""
    if used == tuple(range(circuit.qubits)):
        return circuit
    index = {q: i for i, q in enumerate(used)}
    gates = tuple(
        replace(
            g,
            targets=tuple(index[q] for q in g.targets),
            controls=tuple(index[q] for q in g.controls),
        )
        for g in circuit.gates
        if g.name != "nop"
    )
    return replace(circuit, qubits=len(used), gates=gates)


def _spread_array(keys: np.ndarray, used: tuple[int, ...]) -> np.ndarray:
    out = np.zeros_like(keys)
    for i, q in enumerate(used):
        out |= ((keys >> i) & 1) << q
    return out


def _spread(key: int, used: tuple[int, ...]) -> int:
    out = 0
    for i, q in enumerate(used):
        out |= ((key >> i) & 1) << q
    return out


def restore(result: RunResult, used: tuple[int, ...], qubits: int) -> RunResult:
    """A result of the compacted circuit at the declared width ``qubits``.

    The map is monotonic (used qubits keep their order), so ascending keys stay ascending.
    ``simulated_qubits`` records the width the engine ran.
    """
    width = len(used)
    if used == tuple(range(width)):  # the same integers: only the width changes
        return replace(result, qubits=qubits, simulated_qubits=width)
    wide = qubits > 62
    probs: Mapping[int, float]
    if isinstance(result.probabilities, Probabilities) and not wide:
        probs = Probabilities(
            _spread_array(result.probabilities.outcomes, used), result.probabilities.probs
        )
    else:
        probs = {_spread(k, used): v for k, v in result.probabilities.items()}
    histogram = (
        None
        if result.histogram is None
        else {_spread(k, used): c for k, c in result.histogram.items()}
    )
    samples = result.samples
    if samples is not None:
        if wide or width > 62:
            samples = [_spread(k, used) for k in samples]
        else:
            samples = _spread_array(np.asarray(samples, dtype=np.int64), used).tolist()
    return replace(
        result,
        probabilities=probs,
        histogram=histogram,
        samples=samples,
        qubits=qubits,
        simulated_qubits=width,
    )
