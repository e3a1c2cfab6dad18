"""Simulator noise models (semantics.md §4).

IonQ approximates each system by depolarizing channels after every 1q and every 2q gate
(S6 "Simulation with Noise Models"). With rate r, the 1q channel has Kraus operators
``√(1-3r/4)·I`` and ``√(r/4)·σ_i``: a uniformly random X, Y or Z with probability 3r/4. The 2q
channel applies one of the 15 non-identity Pauli pairs with probability 15r/16. No readout
error. Average gate fidelity is ``1-r/2`` (1q) and ``1-3r/4`` (2q), hence the conversion from
characterization fidelities ``r₁ = 2(1-F₁)``, ``r₂ = (4/3)(1-F₂)`` used for emulated QPUs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NativeFamily = Literal["ms", "zz"]


@dataclass(frozen=True, kw_only=True)
class NoiseModel:
    """A depolarizing noise model.

    Attributes:
        name: ``noise.model`` name (``ideal``, ``aria-1``, …).
        p1q: r₁, the 1q depolarizing rate (error probability 3r₁/4 per 1q gate).
        p2q: r₂, the 2q depolarizing rate (error probability 15r₂/16 per 2q gate).
        max_qubits: Largest circuit the model accepts (else ``NotEnoughQubits``, enforced by
            the caller).
        native_2q: The native 2q gate of the emulated system (``None``: both, the ideal model).
    """

    name: str
    p1q: float
    p2q: float
    max_qubits: int
    native_2q: NativeFamily | None

    def __post_init__(self) -> None:
        if not (0.0 <= self.p1q <= 4 / 3 and 0.0 <= self.p2q <= 16 / 15):
            raise ValueError(f"depolarizing rates out of range: {self.p1q}, {self.p2q}")

    @property
    def is_ideal(self) -> bool:
        """No noise at all."""
        return self.p1q == 0.0 and self.p2q == 0.0

    def error_probability(self, arity: int) -> float:
        """Probability of a non-identity Pauli after a gate on ``arity`` qubits."""
        return 3 * self.p1q / 4 if arity == 1 else 15 * self.p2q / 16


_FORTE_R1 = 0.0002666666666666667
_FORTE_R2 = 0.004949333333333333

NOISE_MODELS: dict[str, NoiseModel] = {
    m.name: m
    for m in (
        NoiseModel(name="ideal", p1q=0.0, p2q=0.0, max_qubits=29, native_2q=None),
        NoiseModel(name="aria-1", p1q=0.0005, p2q=0.0133, max_qubits=25, native_2q="ms"),
        NoiseModel(
            name="aria-2", p1q=0.0006573333333333332, p2q=0.01856, max_qubits=25, native_2q="ms"
        ),
        NoiseModel(name="forte-1", p1q=_FORTE_R1, p2q=_FORTE_R2, max_qubits=36, native_2q="zz"),
        NoiseModel(
            name="forte-enterprise-1", p1q=_FORTE_R1, p2q=_FORTE_R2, max_qubits=36, native_2q="zz"
        ),
        NoiseModel(name="harmony", p1q=0.013, p2q=0.0531, max_qubits=11, native_2q="ms"),
        NoiseModel(name="harmony-1", p1q=0.013, p2q=0.0531, max_qubits=11, native_2q="ms"),
        NoiseModel(name="harmony-2", p1q=0.013, p2q=0.0531, max_qubits=11, native_2q="ms"),
    )
}


def noise_model(name: str) -> NoiseModel:
    """The model of semantics.md §4 named ``name``.

    Raises:
        KeyError: unknown model name.
    """
    try:
        return NOISE_MODELS[name]
    except KeyError:
        raise KeyError(f"unknown noise model {name!r}") from None


def from_fidelities(
    name: str, *, f1q: float, f2q: float, max_qubits: int, native_2q: NativeFamily
) -> NoiseModel:
    """A model from characterization fidelities: ``r₁ = 2(1−F₁)``, ``r₂ = (4/3)(1−F₂)``.

    Used to emulate a QPU from its current characterization (semantics.md §4, QPU emulation).
    """
    return NoiseModel(
        name=name,
        p1q=2 * (1 - f1q),
        p2q=4 * (1 - f2q) / 3,
        max_qubits=max_qubits,
        native_2q=native_2q,
    )
