"""Debiasing variants and aggregation (semantics.md §2.5)."""

from __future__ import annotations

import pytest
from qhelpers import native, qis

from ionstack.errors import JobFailure
from ionstack.quantum import debias
from ionstack.quantum.noise import noise_model
from ionstack.quantum.simulate import RunResult

BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]


@pytest.mark.parametrize(
    ("shots", "variants"),
    [
        (100, 5),
        (499, 5),
        (500, 5),
        (999, 9),
        (1000, 10),
        (2500, 25),
        (100000, 25),
    ],
)
def test_variant_count(shots: int, variants: int) -> None:
    assert debias.variant_count(shots) == variants


@pytest.mark.parametrize(
    ("shots", "variants", "split"),
    [
        (1000, 10, [100] * 10),
        (1003, 10, [101, 101, 101] + [100] * 7),
        (12, 5, [3, 3, 2, 2, 2]),
    ],
)
def test_shot_split_gives_extra_shots_to_the_first_variants(
    shots: int, variants: int, split: list[int]
) -> None:
    assert debias.split_shots(shots, variants) == split


def test_variants_are_seeded_injective_placements() -> None:
    a = debias.make_variants(3, shots=1250, seed=7, backend_qubits=25)
    assert a == debias.make_variants(3, shots=1250, seed=7, backend_qubits=25)
    assert a != debias.make_variants(3, shots=1250, seed=8, backend_qubits=25)
    assert len(a) == 12 and sum(v.shots for v in a) == 1250
    for v in a:
        assert len(set(v.qubit_map)) == 3 and all(0 <= q < 25 for q in v.qubit_map)
    assert len({v.flip_mask for v in a}) > 1  # the variants really differ


def test_too_wide_for_backend() -> None:
    with pytest.raises(JobFailure) as info:
        debias.make_variants(30, shots=1000, seed=1, backend_qubits=25)
    assert info.value.code == "NotEnoughQubits"


def test_too_few_shots_for_the_variants_is_a_debiasing_error() -> None:
    with pytest.raises(JobFailure) as info:
        debias.run_debiased(
            qis(BELL), shots=3, noise=noise_model("aria-1"), seed=1, backend_qubits=25
        )
    assert info.value.code == "DebiasingError"
    assert (
        info.value.message == "variant generation failed: 3 shots cannot be split over 5 variants"
    )


@pytest.mark.parametrize("gateset", ["qis", "native"])
def test_variant_results_are_logical(gateset: str) -> None:
    c = (
        qis([{"gate": "x", "target": 1}], qubits=3)
        if gateset == "qis"
        else native([{"gate": "gpi", "target": 1, "phase": 0}], qubits=3)
    )
    results = debias.run_debiased(c, shots=600, noise=None, seed=3, backend_qubits=25)
    assert len(results) == 6
    assert any(r.variant.flip_mask for r in results)
    for r in results:
        assert r.result.histogram == {2: r.shots}
        assert r.result.samples == [2] * r.shots


def test_noisy_debiased_bell() -> None:
    results = debias.run_debiased(
        qis(BELL), shots=2000, noise=noise_model("aria-1"), seed=5, backend_qubits=25
    )
    avg = debias.aggregate(results, "average")
    assert sum(avg.values()) == pytest.approx(1.0)
    assert avg[0] + avg[3] > 0.9
    assert debias.pooled_histogram(results) == {k: round(v * 2000) for k, v in avg.items()}
    assert len(debias.pooled_samples(results)) == 2000


def _variant(hist: dict[int, int]) -> debias.VariantResult:
    shots = sum(hist.values())
    v = debias.Variant(index=0, qubit_map=(0,), flip_mask=0, shots=shots)
    r = RunResult(
        probabilities={k: c / shots for k, c in hist.items()},
        histogram=hist,
        samples=None,
        method="statevector",
        qubits=2,
        engine="numpy-complex128",
    )
    return debias.VariantResult(variant=v, result=r)


def test_average_is_shot_weighted() -> None:
    vs = [_variant({0: 90, 3: 10}), _variant({0: 10, 3: 290})]
    assert debias.average(vs) == {0: 100 / 400, 3: 300 / 400}


def test_sharpen_is_plurality_vote_with_smallest_key_on_ties() -> None:
    vs = [
        _variant({0: 60, 3: 40}),
        _variant({0: 30, 3: 70}),
        _variant({1: 50, 2: 50}),
        _variant({3: 80, 0: 20}),
    ]
    assert debias.aggregate(vs, "sharpen") == {0: 0.25, 1: 0.25, 3: 0.5}
    assert debias.aggregate(vs, "voting") == debias.sharpen(vs)
