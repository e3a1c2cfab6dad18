"""Simulate what the circuit uses (issue 16 §2): a circuit declared wider than the qubits its
gates touch runs at the touched width and answers at the declared one, with the same keys and
statistics as the same circuit declared narrow."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from qhelpers import native, qis, random_qis
from scipy import stats

from ionstack.quantum import debias
from ionstack.quantum.noise import noise_model
from ionstack.quantum.simulate import run
from ionstack.quantum.width import used_qubits

#: Where the 7 qubits of the narrow circuit sit in the wide one (not a prefix: keys move).
PLACES = (1, 4, 6, 10, 15, 20, 24)
WIDE = 25


def _spread(key: int) -> int:
    return sum(((key >> i) & 1) << q for i, q in enumerate(PLACES))


def _placed(gates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for g in gates:
        g = dict(g)
        for field in ("target", "control"):
            if field in g:
                g[field] = PLACES[g[field]]
        for field in ("targets", "controls"):
            if field in g:
                g[field] = [PLACES[q] for q in g[field]]
        out.append(g)
    return out


GATES = random_qis(7, 4, seed=11)
NARROW = qis(GATES, qubits=7)
WIDE_CIRCUIT = qis(_placed(GATES), WIDE)


def test_used_qubits_ignore_idle_and_nop() -> None:
    assert used_qubits(WIDE_CIRCUIT) == PLACES
    assert used_qubits(qis([], qubits=5)) == (0,)
    timed = native(
        [{"gate": "nop", "targets": [0, 2], "time": 5.0}, {"gate": "gpi", "target": 3, "phase": 0}],
        qubits=6,
    )
    assert used_qubits(timed) == (3,)
    assert run(timed, shots=None, noise=None, seed=0).probabilities == {8: 1.0}


def test_ideal_exact_is_the_narrow_answer_at_the_declared_positions() -> None:
    narrow = run(NARROW, shots=None, noise=None, seed=0)
    wide = run(WIDE_CIRCUIT, shots=None, noise=None, seed=0)
    assert (wide.qubits, wide.simulated_qubits) == (WIDE, 7)
    assert narrow.simulated_qubits == 7
    assert list(wide.probabilities) == [_spread(k) for k in narrow.probabilities]
    assert list(wide.probabilities.values()) == pytest.approx(
        list(narrow.probabilities.values()), abs=1e-12
    )
    assert wide.engine == "numpy-complex128"  # the 7-qubit engine, not the 25-qubit one


@pytest.mark.parametrize("model", [None, "aria-1", "forte-1"])
def test_sampled_shots_are_the_narrow_shots_at_the_declared_positions(model: str | None) -> None:
    noise = noise_model(model) if model else None
    narrow = run(NARROW, shots=700, noise=noise, seed=5)
    wide = run(WIDE_CIRCUIT, shots=700, noise=noise, seed=5)
    assert (wide.qubits, wide.simulated_qubits) == (WIDE, 7)
    assert narrow.samples is not None and narrow.histogram is not None
    assert wide.samples == [_spread(k) for k in narrow.samples]
    assert wide.histogram == {_spread(k): c for k, c in narrow.histogram.items()}
    assert list(wide.histogram) == sorted(wide.histogram)
    assert wide.probabilities == {_spread(k): p for k, p in narrow.probabilities.items()}


def test_debiased_has_the_narrow_statistics_and_simulates_7_qubits() -> None:
    shots, model = 4000, noise_model("aria-1")
    narrow = debias.run_debiased(NARROW, shots=shots, noise=model, seed=9, backend_qubits=25)
    wide = debias.run_debiased(WIDE_CIRCUIT, shots=shots, noise=model, seed=9, backend_qubits=25)
    assert {v.result.simulated_qubits for v in wide} == {7}
    assert any(v.variant.flip_mask for v in wide)
    idle = sum(1 << q for q in range(WIDE)) ^ sum(1 << q for q in PLACES)
    wide_hist = debias.pooled_histogram(wide)
    assert all(k & idle == 0 for k in wide_hist)  # idle qubits read 0, never flipped
    # same distribution: two-sample chi-square over the outcomes seen, rare ones pooled
    narrow_hist = {_spread(k): c for k, c in debias.pooled_histogram(narrow).items()}
    keys = sorted(set(narrow_hist) | set(wide_hist))
    a = np.array([narrow_hist.get(k, 0) for k in keys], dtype=float)
    b = np.array([wide_hist.get(k, 0) for k in keys], dtype=float)
    big = (a + b) >= 20
    table = np.array([[*a[big], a[~big].sum()], [*b[big], b[~big].sum()]])
    table = table[:, table.sum(axis=0) > 0]
    assert stats.chi2_contingency(table).pvalue > 1e-3
