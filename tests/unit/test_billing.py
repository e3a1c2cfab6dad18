"""The cost model (semantics.md §6.2) on known circuits, checked against hand-computed values,
and the usage buckets (§8.3) across day, ISO-week and month boundaries."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ionstack.quantum.circuit import parse_input
from ionstack.quantum.compile import gate_counts
from ionstack.service import billing
from ionstack.service.usage import bucket_start

ARIA = billing.default_rates("qpu.aria-1")
FORTE = billing.default_rates("qpu.forte-1")


def _cost(rates: billing.Rates, circuit: list[dict[str, Any]], *, shots: int, em: bool) -> float:
    qubits = 1 + max(q for g in circuit for q in [*g.get("targets", []), *g.get("controls", [])])
    parsed = parse_input(
        {"gateset": "qis", "qubits": qubits, "circuit": circuit}, job_type="ionq.circuit.v1"
    )[0]
    counts = gate_counts(parsed)
    return billing.job_price(rates, stats={"gate_counts": counts}, shots=shots, em=em)


BELL = [{"gate": "h", "targets": [0]}, {"gate": "cnot", "controls": [0], "targets": [1]}]


def test_default_rate_cards_are_the_public_rates() -> None:
    assert (ARIA.cost_1q_gate, ARIA.cost_2q_gate) == (0.000220, 0.000975)
    assert (ARIA.job_cost_minimum, ARIA.job_cost_minimum_em) == (12.4166, 97.50)
    assert (FORTE.cost_1q_gate, FORTE.cost_2q_gate) == (0.0001645, 0.001121)
    assert (FORTE.job_cost_minimum, FORTE.job_cost_minimum_em) == (25.7899, 168.195)
    assert billing.default_rates("qpu.forte-enterprise-1").cost_2q_gate == 0.001121
    assert billing.default_rates("qpu.aria-2").cost_2q_gate == 0.000975
    free = billing.default_rates("simulator")
    assert (free.cost_1q_gate, free.cost_2q_gate, free.minimum(True)) == (0.0, 0.0, 0.0)
    # stable ids for the built-in cards
    assert billing.default_rates("qpu.aria-1").id == ARIA.id != FORTE.id


def test_small_circuit_pays_the_minimum() -> None:
    # 1000 × (1 × 0.00022 + 1 × 0.000975) = $1.195 < $12.4166
    assert _cost(ARIA, BELL, shots=1000, em=False) == pytest.approx(12.4166)
    # with error mitigation the floor is $97.50
    assert _cost(ARIA, BELL, shots=1000, em=True) == pytest.approx(97.50)
    assert _cost(FORTE, BELL, shots=1000, em=False) == pytest.approx(25.7899)
    assert _cost(FORTE, BELL, shots=1000, em=True) == pytest.approx(168.195)


def test_large_circuit_pays_per_gate_shot() -> None:
    circuit = [{"gate": "h", "targets": [i % 10]} for i in range(100)]
    circuit += [{"gate": "cnot", "controls": [i % 9], "targets": [i % 9 + 1]} for i in range(50)]
    # 10,000 × (100 × 0.00022 + 50 × 0.000975) = 10,000 × (0.022 + 0.04875) = $707.50
    assert _cost(ARIA, circuit, shots=10_000, em=False) == pytest.approx(707.50)
    assert _cost(ARIA, circuit, shots=10_000, em=True) == pytest.approx(707.50)
    # Forte: 10,000 × (100 × 0.0001645 + 50 × 0.001121) = 10,000 × 0.072500 = $725.00
    assert _cost(FORTE, circuit, shots=10_000, em=False) == pytest.approx(725.00)


def test_multi_controlled_gates_are_billed_as_6_n_minus_2_two_qubit_gates() -> None:
    # Toffoli: N = 3 qubits → 6 two-qubit gates; 10,000 × 6 × 0.000975 = $58.50
    toffoli = [{"gate": "x", "controls": [0, 1], "targets": [2]}]
    assert _cost(ARIA, toffoli, shots=10_000, em=False) == pytest.approx(58.50)
    # NOT with three controls: 6·(4−2) = 12; 5,000 × 12 × 0.001121 = $67.26 (Forte)
    c3x = [{"gate": "x", "controls": [0, 1, 2], "targets": [3]}]
    assert _cost(FORTE, c3x, shots=5_000, em=False) == pytest.approx(67.26)
    # ... and below the minimum at 1,000 shots ($13.452 < $25.7899)
    assert _cost(FORTE, c3x, shots=1_000, em=False) == pytest.approx(25.7899)


def test_simulator_is_free() -> None:
    assert _cost(billing.default_rates("simulator"), BELL, shots=100_000, em=False) == 0.0


def test_compute_second_card_prices_quantum_compute_time() -> None:
    card = billing.Rates(
        id="x",
        backend="qpu.forte-1",
        unit="compute_second",
        cost_1q_gate=0.0,
        cost_2q_gate=0.0,
        job_cost_minimum=1.0,
        job_cost_minimum_em=5.0,
        unit_cost=0.5,
        custom=True,
    )
    # 2 s of QCT × $0.5/s = $1.00 → the $1.00 floor; 8 s → $4.00; with EM floor $5.00
    stats = {"gate_counts": {"1q": 9, "2q": 9}, "predicted_quantum_compute_time_us": 2_000_000}
    assert billing.job_price(card, stats=stats, shots=10, em=False) == pytest.approx(1.0)
    stats["predicted_quantum_compute_time_us"] = 8_000_000
    assert billing.job_price(card, stats=stats, shots=10, em=False) == pytest.approx(4.0)
    assert billing.job_price(card, stats=stats, shots=10, em=True) == pytest.approx(5.0)
    assert card.entry(em=False) == {
        "sku": "qpu.forte-1.compute_second",
        "unit": "compute_second",
        "unit_cost": 0.5,
    }


def test_rate_card_entry_names_the_minimum_in_force() -> None:
    assert ARIA.entry(em=True) == {
        "sku": "qpu.aria-1.gates",
        "unit": "gates",
        "cost_1q_gate": 0.00022,
        "cost_2q_gate": 0.000975,
        "job_cost_minimum": 97.5,
    }


@pytest.mark.parametrize(
    ("day", "modality", "clip", "expected"),
    [
        # daily: the UTC date itself
        (date(2026, 3, 31), "daily", date(2026, 3, 1), date(2026, 3, 31)),
        (date(2026, 4, 1), "daily", date(2026, 3, 1), date(2026, 4, 1)),
        # ISO weeks start on Monday: 2026-01-01 is a Thursday → week of Monday 2025-12-29
        (date(2026, 1, 1), "weekly", date(2025, 12, 1), date(2025, 12, 29)),
        (date(2026, 1, 4), "weekly", date(2025, 12, 1), date(2025, 12, 29)),  # Sunday
        (date(2026, 1, 5), "weekly", date(2025, 12, 1), date(2026, 1, 5)),  # next Monday
        # ... clipped to the window's start
        (date(2026, 1, 1), "weekly", date(2026, 1, 1), date(2026, 1, 1)),
        # monthly: calendar months, clipped
        (date(2026, 2, 28), "monthly", date(2026, 1, 15), date(2026, 2, 1)),
        (date(2026, 1, 31), "monthly", date(2026, 1, 15), date(2026, 1, 15)),
        (date(2024, 2, 29), "monthly", date(2024, 1, 1), date(2024, 2, 1)),
    ],
)
def test_usage_buckets(day: date, modality: str, clip: date, expected: date) -> None:
    assert bucket_start(day, modality, clip=clip) == expected
