"""Device models of the emulated QPUs, derived from a characterization (issue 17).

IonQ's published simulator models (:mod:`ionstack.quantum.noise`, semantics.md §4) put the same
depolarizing channel after every gate and nothing else. An emulated ``qpu.*`` backend instead
runs under a :class:`DeviceModel` built from the characterization in force when the job was
submitted (its ``fidelity.1q/2q/spam`` medians and ``timing``), with these terms, each applied to
the compiled native circuit (every term is a Pauli channel, a unitary folded into a gate, or
classical post-processing, so the trajectory, density-matrix and stim paths all run it):

* **Fidelities** are read as *process* (entanglement) fidelities, ``e = 1 − F`` the process
  infidelity (``FIDELITY_CONVENTION = "process"``). IonQ measures its gates with direct
  randomized benchmarking, whose error rate ``r = (4ⁿ − 1)(1 − p)/4ⁿ`` is the entanglement
  infidelity (pyGSTi's definition; arXiv:2308.05071, co-written by pyGSTi's author, reports
  Forte's DRB errors 2.0e-4 and 46.4e-4), and IonQ's own ``forte-1`` simulator model puts exactly
  those figures into its channels as process infidelities (``3r₁/4 = 2.0e-4``,
  ``15r₂/16 = 46.4e-4``, semantics.md §4). ``"average"`` reads them as average gate fidelities
  instead (``e = (d + 1)/d·(1 − F)``: 25 % more 2q error, 50 % more 1q error).
* **1q gates**: depolarizing after every ``gpi``/``gpi2`` with Pauli error probability ``e₁``.
* **2q gates**: the process infidelity ``e₂`` is split into a systematic
  part ``e_c = COHERENT_FRACTION·e₂`` and a stochastic remainder. The systematic part is a static
  over-rotation of the gate angle, ``θ → θ(1 + s·δ)``, with one sign ``s = ±1`` per physical
  qubit pair drawn once per characterization (hashed from its id) and ``sin²(πδ/4) = e_c`` (a
  full-angle gate, θ = ¼ turn, is then off by ``exp(−iπδ/4·G)``, G its generator). It is folded
  into the gate matrix (no extra simulation cost). The stochastic part is 2q depolarizing with
  Pauli error probability ``e_s = (e₂ − e_c)/(1 − 16e_c/15)``, which makes the composed channel's
  process fidelity exactly ``1 − e₂`` at full angle (``(1 − e_s)(1 − e_c) + (e_s/15)·e_c``).
  Debiasing places each variant on other physical qubits, so the over-rotation changes sign
  between variants and averaging cancels its first-order effect, as on hardware.
* **Idle relaxation and dephasing**: gates run one at a time (as IonQ's timing model prices
  them, ``timing.1q``/``timing.2q`` each), so a qubit idles while other qubits' gates run, and
  explicit ``nop`` delays idle every qubit. Each idle window of length t, from the qubit's first
  gate on, becomes the Pauli twirl of amplitude damping (T1) and dephasing (T2): X, Y and Z each
  with ``a = (1 − e^{−t/T1})/4`` followed by Z with ``b = (1 − e^{−t(1/T2 − 1/T1)})/2``, so the
  Pauli transfer diagonal is exactly ``(e^{−t/T2}, e^{−t/T2}, e^{−t/T1})``. Windows of one qubit
  between two of its gates compose exactly, so one window is emitted per gap. The qubit's own
  gate time is not idle (the gate fidelity already includes it); measurement is simultaneous at
  the end, so ``timing.readout``/``reset`` add no idle time to a circuit (mid-circuit
  measurements and resets of ``ionq.qasm3.v1`` programs do: :mod:`.dynamic_device`).
* **Readout**: each measured bit flips classically, ``0 → 1`` with ``p01`` and ``1 → 0`` with
  ``p10``, where ``(p01 + p10)/2 = 1 − F_spam`` and ``p10 = READOUT_BRIGHT_SHARE·2(1 − F_spam)``
  (:func:`apply_readout`, seeded, after sampling).

Settings not in the characterization (documented in bench/README.md, overridable with
``IONSTACK_DEVICE_FIDELITY_CONVENTION``, ``IONSTACK_DEVICE_COHERENT_FRACTION`` and
``IONSTACK_DEVICE_READOUT_BRIGHT_SHARE``):

* ``COHERENT_FRACTION = 0.25``: no published split of IonQ's 2q error into coherent and
  stochastic parts was found (bench/data/published.json, ``not_found``). A quarter is an
  assumption, not a fit; arXiv:2308.05071 only says the DRB-based stochastic model over-predicts
  application performance ("significant out-of-model errors").
* ``READOUT_BRIGHT_SHARE = 0.75``: in ¹⁷¹Yb⁺ fluorescence detection the bright state (|1⟩, F = 1)
  is lost to the dark state by off-resonant pumping through the 2.1 GHz-detuned P₁/₂ F = 1 level,
  while the dark state must be pumped across the 12.6 GHz ground splitting (Noek et al.,
  arXiv:1304.3511: detection "limited by … off-resonant optical pumping"), so 1 → 0 dominates.
  The numeric share is an assumption: no published per-state split of IonQ's SPAM was found.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import stim

from ionstack.quantum import gates as G
from ionstack.quantum.circuit import Circuit, Gate
from ionstack.quantum.engines import stabilizer
from ionstack.quantum.noise import NativeFamily, NoiseModel

Matrix = npt.NDArray[np.complex128]
FidelityConvention = Literal["process", "average"]

#: How ``fidelity.1q/2q`` are read: ``process`` (1 − DRB error rate) or ``average`` fidelities.
FIDELITY_CONVENTION: FidelityConvention = "process"
#: Share of the 2q process infidelity that is a static per-pair over-rotation (assumption).
COHERENT_FRACTION = 0.25
#: Share of the SPAM error that is 1 → 0 (bright read as dark) (assumption; direction sourced).
READOUT_BRIGHT_SHARE = 0.75

_I2 = np.eye(2, dtype=np.complex128)
_I2.setflags(write=False)
_PAULI_LETTER = {0.0: "X", 0.25: "Y", 0.5: "X", 0.75: "Y"}


@dataclass(frozen=True, kw_only=True)
class Characterization:
    """The characterization numbers a device model is built from (plain values).

    Attributes:
        id: The characterization's id (seeds the per-pair systematic error).
        fidelity_1q: ``fidelity.1q.median`` (1 − the DRB error rate: a process fidelity).
        fidelity_2q: ``fidelity.2q.median`` (1 − the DRB error rate: a process fidelity).
        fidelity_spam: ``fidelity.spam.median``: ``1 − (p01 + p10)/2``.
        t1: ``timing.t1`` in seconds.
        t2: ``timing.t2`` in seconds.
        time_1q: ``timing.1q`` in seconds.
        time_2q: ``timing.2q`` in seconds.
        time_readout: ``timing.readout`` in seconds (mid-circuit measurements of
            ``ionq.qasm3.v1`` programs; terminal measurements add no idle time).
        time_reset: ``timing.reset`` in seconds (``reset`` of ``ionq.qasm3.v1`` programs).
    """

    id: str
    fidelity_1q: float
    fidelity_2q: float
    fidelity_spam: float
    t1: float
    t2: float
    time_1q: float
    time_2q: float
    time_readout: float = 0.0
    time_reset: float = 0.0


@dataclass(frozen=True, kw_only=True)
class DeviceModel(NoiseModel):
    """A :class:`NoiseModel` with a QPU's device terms (see the module docstring).

    ``p1q``/``p2q`` are the stochastic depolarizing rates (IonQ's r₁, r₂ convention).

    Attributes:
        characterization_id: The characterization the model was derived from.
        readout_p01: P(read 1 | qubit in 0).
        readout_p10: P(read 0 | qubit in 1).
        t1: Relaxation time (s); ``inf`` for none.
        t2: Dephasing time (s); ``inf`` for none.
        time_1q: Duration of a 1q native gate (s).
        time_2q: Duration of a 2q native gate (s).
        time_readout: Duration of a mid-circuit measurement (s; dynamic programs only).
        time_reset: Duration of a reset (s; dynamic programs only).
        overrotation: δ, the relative over-rotation of 2q gate angles (sign per pair).
        pair_seed: Seeds the per-pair signs (hashed from the characterization id).
        qubit_map: Logical qubit i → physical qubit ``qubit_map[i]`` (``None``: identity).
    """

    characterization_id: str
    readout_p01: float = 0.0
    readout_p10: float = 0.0
    t1: float = math.inf
    t2: float = math.inf
    time_1q: float = 0.0
    time_2q: float = 0.0
    time_readout: float = 0.0
    time_reset: float = 0.0
    overrotation: float = 0.0
    pair_seed: int = 0
    qubit_map: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (0.0 <= self.readout_p01 <= 1.0 and 0.0 <= self.readout_p10 <= 1.0):
            raise ValueError(f"readout errors out of range: {self.readout_p01}, {self.readout_p10}")
        if self.t1 <= 0 or self.t2 <= 0 or self.t2 > 2 * self.t1:
            raise ValueError(f"need 0 < T2 ≤ 2·T1, got T1={self.t1}, T2={self.t2}")

    @property
    def is_ideal(self) -> bool:
        return (
            super().is_ideal
            and self.readout_p01 == 0.0
            and self.readout_p10 == 0.0
            and self.overrotation == 0.0
            and math.isinf(self.t1)
            and math.isinf(self.t2)
        )

    @property
    def readout_error(self) -> float:
        """The mean of ``p01`` and ``p10`` (``1 − F_spam``). (Dynamic programs use the pair:
        :func:`ionstack.quantum.dynamic.readout_errors`.)"""
        return (self.readout_p01 + self.readout_p10) / 2

    @property
    def has_readout_error(self) -> bool:
        return self.readout_p01 > 0.0 or self.readout_p10 > 0.0

    def placed(self, qubit_map: Sequence[int] | None) -> DeviceModel:
        """The same device with the circuit's qubits placed on ``qubit_map``."""
        return dataclasses.replace(
            self, qubit_map=None if qubit_map is None else tuple(int(q) for q in qubit_map)
        )

    def pair_sign(self, a: int, b: int) -> int:
        """The static sign of the over-rotation on physical pair {a, b}: +1 or −1."""
        return _pair_sign(self.pair_seed, min(a, b), max(a, b))

    def describe(self) -> dict[str, object]:
        """What ``output.noise_model`` reports for a job run under this model."""
        return {
            "kind": "device",
            "backend": self.name,
            "characterization_id": self.characterization_id,
            "p1q": self.p1q,
            "p2q": self.p2q,
            "overrotation": self.overrotation,
            "readout_p01": self.readout_p01,
            "readout_p10": self.readout_p10,
            "t1": None if math.isinf(self.t1) else self.t1,
            "t2": None if math.isinf(self.t2) else self.t2,
        }


@functools.lru_cache(maxsize=4096)
def _pair_sign(seed: int, a: int, b: int) -> int:
    digest = hashlib.sha256(f"{seed}/{a}/{b}".encode()).digest()
    return 1 if digest[0] & 1 else -1


def device_model(
    name: str,
    char: Characterization,
    *,
    max_qubits: int,
    native_2q: NativeFamily,
    fidelity_convention: FidelityConvention = FIDELITY_CONVENTION,
    coherent_fraction: float = COHERENT_FRACTION,
    readout_bright_share: float = READOUT_BRIGHT_SHARE,
) -> DeviceModel:
    """The device model of a QPU from its characterization (formulas: module docstring)."""
    if not (0.0 <= coherent_fraction <= 1.0 and 0.0 <= readout_bright_share <= 1.0):
        raise ValueError("coherent_fraction and readout_bright_share must be in [0, 1]")
    if fidelity_convention not in ("process", "average"):
        raise ValueError(f"unknown fidelity convention {fidelity_convention!r}")
    # process infidelity from average fidelity: (d + 1)/d · (1 − F), d = 2 and 4
    e1 = (1.0 - char.fidelity_1q) * (1.5 if fidelity_convention == "average" else 1.0)
    e2 = (1.0 - char.fidelity_2q) * (1.25 if fidelity_convention == "average" else 1.0)
    e_c = coherent_fraction * e2
    e_s = (e2 - e_c) / (1.0 - 16.0 * e_c / 15.0)
    spam = 2.0 * (1.0 - char.fidelity_spam)
    digest = hashlib.sha256(f"device/{char.id}".encode()).digest()
    return DeviceModel(
        name=name,
        p1q=4.0 * e1 / 3.0,
        p2q=16.0 * e_s / 15.0,
        max_qubits=max_qubits,
        native_2q=native_2q,
        characterization_id=char.id,
        readout_p01=(1.0 - readout_bright_share) * spam,
        readout_p10=readout_bright_share * spam,
        t1=char.t1,
        t2=char.t2,
        time_1q=char.time_1q,
        time_2q=char.time_2q,
        time_readout=char.time_readout,
        time_reset=char.time_reset,
        overrotation=4.0 / math.pi * math.asin(math.sqrt(e_c)),
        pair_seed=int.from_bytes(digest[:8], "big"),
    )


# --------------------------------------------------------------------------- channels


def idle_probabilities(t: float, t1: float, t2: float) -> tuple[float, float]:
    """``(a, b)`` of an idle window of ``t`` seconds: X, Y, Z each with ``a``, then Z with ``b``.

    The composed Pauli channel scales ⟨X⟩, ⟨Y⟩ by ``e^{−t/T2}`` and ⟨Z⟩ by ``e^{−t/T1}``: the
    Pauli twirl of amplitude damping with T1 and dephasing with T2.
    """
    if t <= 0:
        return 0.0, 0.0
    a = 0.0 if math.isinf(t1) else -math.expm1(-t / t1) / 4.0
    rate = (0.0 if math.isinf(t2) else 1.0 / t2) - (0.0 if math.isinf(t1) else 1.0 / t1)
    b = -math.expm1(-t * rate) / 2.0
    return a, max(0.0, b)


@dataclass(frozen=True, slots=True)
class Location:
    """One gate of the noisy native circuit and the Pauli error that may follow it.

    Attributes:
        qubits: The gate's qubits (``qubits[0]`` the most significant factor of ``matrix``).
        matrix: The gate as the device runs it (over-rotation folded in; identity for idle).
        prob: Probability of a Pauli error after it.
        kind: Number of Paulis drawn uniformly: 3 (1q), 15 (2q), or 1 (``pauli`` only).
        pauli: With ``kind`` 1, the Pauli index (1 = X, 2 = Y, 3 = Z).
        ideal: The gate without its over-rotation (stim's Clifford form).
        coherent: For a 2q gate with an over-rotation: the generator's Pauli pair (``"ZZ"``,
            ``"XY"``, …) and ``sin²`` of the error angle (its Pauli twirl, used by stim).
    """

    qubits: tuple[int, ...]
    matrix: Matrix
    prob: float
    kind: int
    pauli: int = 0
    ideal: Matrix | None = None
    coherent: tuple[str, float] | None = None


def _generator(g: Gate) -> str | None:
    """The Pauli pair of a 2q native gate's generator, when both factors are Paulis."""
    if g.name == "zz":
        return "ZZ"
    phases = g.phases or (0.0, 0.0)
    letters = [_PAULI_LETTER.get(round(p % 1.0, 12)) for p in phases]
    if any(x is None for x in letters):
        return None
    return "".join(x for x in letters if x is not None)


def locations(model: NoiseModel, native: Circuit) -> list[Location]:
    """The noisy native circuit of ``model`` (a :class:`DeviceModel` or a published model)."""
    n = native.qubits
    if not isinstance(model, DeviceModel):
        out = []
        for g in native.gates:
            if g.name == "nop":
                continue
            arity = len(g.targets)
            m = G.base_matrix(g, "native")
            out.append(
                Location(g.targets, m, model.error_probability(arity), 3 if arity == 1 else 15)
            )
        return out
    phys = model.qubit_map or tuple(range(n))
    pending = [0.0] * n
    started = [False] * n
    out = []

    def idle(q: int) -> None:
        t, pending[q] = pending[q], 0.0
        if started[q]:
            out.extend(idle_locations(model, q, t))

    for g in native.gates:
        if g.name == "nop":
            wait = (g.time or 0.0) * 1e-6
            for q in range(n):
                pending[q] += wait
            continue
        qs = g.targets
        for q in qs:
            idle(q)
        out.append(gate_location(model, g, phys))
        duration = model.time_1q if len(qs) == 1 else model.time_2q
        for q in range(n):
            if q not in qs:
                pending[q] += duration
        for q in qs:
            started[q] = True
    for q in range(n):
        idle(q)
    return out


def idle_locations(model: DeviceModel, q: int, t: float) -> list[Location]:
    """The Pauli channels of qubit ``q`` idling ``t`` seconds (:func:`idle_probabilities`):
    X, Y, Z each with ``a`` (one location, ``kind`` 3), then Z with ``b``."""
    a, b = idle_probabilities(t, model.t1, model.t2)
    out = []
    if a > 0:
        out.append(Location((q,), _I2, 3 * a, 3, ideal=_I2))
    if b > 0:
        out.append(Location((q,), _I2, b, 1, pauli=3, ideal=_I2))
    return out


def gate_location(model: DeviceModel, g: Gate, phys: Sequence[int]) -> Location:
    """A native gate (not ``nop``) as the device runs it: a 2q gate over-rotated by
    ``overrotation·pair_sign`` of its physical pair (``phys[q]`` of qubit ``q``), then the
    stochastic depolarizing error of its arity."""
    qs = g.targets
    ideal = G.base_matrix(g, "native")
    if len(qs) == 1:
        return Location(qs, ideal, model.error_probability(1), 3, ideal=ideal)
    delta = model.overrotation * model.pair_sign(phys[qs[0]], phys[qs[1]])
    angle = 0.25 if g.angle is None else g.angle
    turned = dataclasses.replace(g, angle=angle * (1.0 + delta))
    matrix = ideal if delta == 0 else G.base_matrix(turned, "native")
    gen = _generator(g)
    coherent = None
    if delta != 0 and gen is not None:
        coherent = (gen, math.sin(math.pi * angle * delta) ** 2)
    return Location(qs, matrix, model.error_probability(2), 15, ideal=ideal, coherent=coherent)


def pauli_superop(pauli: int, prob: float) -> Matrix:
    """Superoperator of ``ρ → (1−p)ρ + p·PρP`` on one qubit (rows most significant)."""
    p = (_I2, G.PAULI_X, G.PAULI_Y, G.PAULI_Z)[pauli]
    out: Matrix = (1 - prob) * np.eye(4, dtype=np.complex128) + prob * np.kron(p, p.conj())
    return out


# --------------------------------------------------------------------------- readout


def apply_readout_bits(
    bits: npt.NDArray[np.bool_], p01: float, p10: float, rng: np.random.Generator
) -> npt.NDArray[np.bool_]:
    """Measured bits (shots × qubits) after classical readout error: each 0 reads 1 with
    ``p01``, each 1 reads 0 with ``p10``. One uniform draw per bit, row-major."""
    u = rng.random(bits.shape)
    flip = np.where(bits, u < p10, u < p01)
    out: npt.NDArray[np.bool_] = bits ^ flip
    return out


def apply_readout(
    samples: npt.NDArray[np.int64], n: int, p01: float, p10: float, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Little-endian outcomes of ``n ≤ 62`` qubits after readout error (see
    :func:`apply_readout_bits`; the same draws)."""
    if n > 62:
        raise ValueError("apply_readout takes at most 62 qubits; use apply_readout_bits")
    shifts = np.arange(n, dtype=np.int64)
    bits = ((samples[:, None] >> shifts) & 1).astype(bool)
    flipped = apply_readout_bits(bits, p01, p10, rng)
    out: npt.NDArray[np.int64] = (flipped.astype(np.int64) << shifts).sum(axis=1, dtype=np.int64)
    return out


# --------------------------------------------------------------------------- stim


def stim_circuit(locs: Sequence[Location]) -> stim.Circuit | None:
    """The noisy circuit for stim, or ``None`` if a gate is not Clifford.

    stim runs Clifford gates only, so a 2q gate's over-rotation enters as its Pauli twirl: the
    generator's Pauli pair with probability ``sin²`` of the error angle (exact for the
    distribution of a single gate's outcomes; it drops the coherent build-up over repeated
    gates). Idle and gate errors are the same Pauli channels as on the other paths.
    """
    out = stim.Circuit()
    for loc in locs:
        qubits = list(loc.qubits)
        if loc.ideal is not None and loc.ideal is not _I2:
            local = stabilizer.gate_circuit(loc.qubits, (), loc.ideal)
            if local is None:
                return None
            out += local
        if loc.coherent is not None:
            letters, p = loc.coherent
            targets = [
                stim.target_x(q) if c == "X" else stim.target_y(q) if c == "Y" else stim.target_z(q)
                for c, q in zip(letters, qubits, strict=True)
            ]
            out.append("CORRELATED_ERROR", targets, p)
        if loc.prob <= 0:
            continue
        if loc.kind == 1:
            name = {1: "X_ERROR", 2: "Y_ERROR", 3: "Z_ERROR"}[loc.pauli]
            out.append(name, qubits, loc.prob)
        else:
            out.append("DEPOLARIZE1" if loc.kind == 3 else "DEPOLARIZE2", qubits, loc.prob)
    return out
