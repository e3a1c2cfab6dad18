"""Noise models of semantics.md §4."""

from __future__ import annotations

import pytest

from ionstack.quantum.noise import NOISE_MODELS, NoiseModel, from_fidelities, noise_model

TABLE = [  # semantics.md §4, typed in
    ("ideal", 0.0, 0.0, 29, None),
    ("aria-1", 0.0005, 0.0133, 25, "ms"),
    ("aria-2", 0.0006573333333333332, 0.01856, 25, "ms"),
    ("forte-1", 0.0002666666666666667, 0.004949333333333333, 29, "zz"),
    ("forte-enterprise-1", 0.0002666666666666667, 0.004949333333333333, 29, "zz"),
    ("harmony", 0.013, 0.0531, 11, "ms"),
    ("harmony-1", 0.013, 0.0531, 11, "ms"),
    ("harmony-2", 0.013, 0.0531, 11, "ms"),
]


@pytest.mark.parametrize(("name", "r1", "r2", "qubits", "family"), TABLE, ids=[t[0] for t in TABLE])
def test_models_match_semantics_table(
    name: str, r1: float, r2: float, qubits: int, family: str | None
) -> None:
    m = noise_model(name)
    assert (m.name, m.p1q, m.p2q, m.max_qubits, m.native_2q) == (name, r1, r2, qubits, family)


def test_table_has_exactly_the_spec_enum() -> None:
    assert set(NOISE_MODELS) == {t[0] for t in TABLE}


def test_error_probabilities_are_the_pauli_sampling_form() -> None:
    m = noise_model("aria-1")
    assert m.error_probability(1) == pytest.approx(3 * 0.0005 / 4)
    assert m.error_probability(2) == pytest.approx(15 * 0.0133 / 16)
    assert noise_model("ideal").is_ideal and not m.is_ideal


def test_fidelity_conversion_reproduces_harmony_row() -> None:
    # semantics.md §4: Harmony 99.35 % / 96.02 % → r = 2(1−F₁), (4/3)(1−F₂)
    m = from_fidelities("harmony", f1q=0.9935, f2q=0.9602, max_qubits=11, native_2q="ms")
    assert m.p1q == pytest.approx(0.013)
    assert m.p2q == pytest.approx(0.0531, abs=1e-4)


def test_unknown_model_and_bad_rates() -> None:
    with pytest.raises(KeyError):
        noise_model("aria-9")
    with pytest.raises(ValueError):
        NoiseModel(name="x", p1q=-0.1, p2q=0.0, max_qubits=2, native_2q="ms")
