"""Energies of Pauli-term Hamiltonians on a prepared state (``hamiltonian-energy`` functions).

**Pauli strings** follow Qiskit's ``SparsePauliOp.to_list()`` order, which IonQ's ``ionq`` SDK
sends: the *last* character acts on qubit 0 (``"IZ"`` is Z on qubit 0), matching the
little-endian result keys (qubit 0 = least significant bit). Letters are ``I X Y Z``.

**Measurement.** Terms are grouped into qubit-wise commuting measurement bases: the
computational basis first (every ``I``/``Z`` term, the constraint penalty, CVaR and the
``/results/probabilities`` distribution come from it), then greedy first-fit groups of the
other terms. Each basis is the ansatz plus ``H`` (X) or ``S†·H`` (Y) on the measured qubits,
run through :func:`ionstack.quantum.simulate.run` by a caller-supplied executor.

* exact (ideal simulator, no shots): ``⟨P⟩ = Σ_k p(k)·(−1)^{|k ∧ mask(P)|}`` from the exact
  distribution of each basis — the exact expectation; ``variance`` is 0;
* sampled (noise, QPU emulation): per shot, the group's energy ``Σ_t c_t·(±1)``; ``value`` is
  the sum of the group means and ``variance`` the variance of that estimate,
  ``Σ_g s²_g / shots_g`` (sample variances).

**Constraints** (linear ``A·x ≤ b``, quadratic ``xᵀPx + rᵀx ≤ c`` over the measured bits
``x_j`` = bit of qubit j) add ``penalty × Σ max(0, lhs − rhs)`` to the energy of every outcome,
as IonQ's SDK defines violations. **CVaR** (``cvar_alpha`` in (0, 1]) averages the lowest
``alpha`` fraction of the outcome energies; it needs a diagonal (I/Z-only) Hamiltonian.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ionstack.errors import BadRequest
from ionstack.quantum.ansatz import Ansatz
from ionstack.quantum.ansatz import load as load_ansatz
from ionstack.quantum.circuit import Circuit, Gate
from ionstack.quantum.simulate import RunResult

PAULI_LETTERS = frozenset("IXYZ")
MAX_TERMS = 100_000

Execute = Callable[[Circuit, str], RunResult]
FloatArray = npt.NDArray[np.float64]


def _bad(message: str, key: str) -> BadRequest:
    return BadRequest(f'"{key}" {message}', keys=[key], source="payload")


@dataclass(frozen=True)
class Term:
    """``coefficient × P``; ``ops`` are the (qubit, letter) pairs of P other than I."""

    pauli: str
    coefficient: float
    ops: tuple[tuple[int, str], ...]

    @property
    def mask(self) -> int:
        return sum(1 << q for q, _ in self.ops)

    @property
    def diagonal(self) -> bool:
        return all(letter == "Z" for _, letter in self.ops)


@dataclass(frozen=True)
class Problem:
    """A validated ``HamiltonianEnergyData``."""

    qubits: int
    terms: tuple[Term, ...]
    linear: tuple[tuple[FloatArray, float], ...] = ()
    quadratic: tuple[tuple[FloatArray, FloatArray, float], ...] = ()
    penalty: float = 0.0
    cvar_alpha: float | None = None

    @property
    def penalized(self) -> bool:
        return self.penalty != 0.0 and bool(self.linear or self.quadratic)


@dataclass(frozen=True)
class Basis:
    """One measurement setting: a letter per measured qubit and the terms it measures."""

    letters: dict[int, str]
    terms: tuple[int, ...]
    computational: bool = False


@dataclass(frozen=True)
class Energy:
    """What a ``hamiltonian-energy`` evaluation gives."""

    value: float
    variance: float
    exact: bool
    bases: int
    term_values: tuple[float, ...]
    #: the computational-basis distribution (exact probabilities, or sampled frequencies)
    probabilities: dict[int, float]
    histogram: dict[int, int] | None
    samples: list[int] | None
    method: str
    cvar_alpha: float | None = None


# --------------------------------------------------------------------------- parsing


def _number(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad("must be a finite number", key)
    return float(value)


def _vector(value: object, n: int, key: str) -> FloatArray:
    if not isinstance(value, list):
        raise _bad("must be an array of numbers", key)
    if len(value) != n:
        raise _bad(f"must have {n} entries (one per qubit), not {len(value)}", key)
    return np.array([_number(v, f"{key}.{i}") for i, v in enumerate(value)], dtype=np.float64)


def parse_term(raw: object, *, qubits: int, key: str) -> Term:
    if not isinstance(raw, dict):
        raise _bad("must be an object with pauli_string and coefficient", key)
    pauli = raw.get("pauli_string")
    if not isinstance(pauli, str) or not pauli:
        raise _bad("must be a non-empty string", f"{key}.pauli_string")
    unknown = sorted(set(pauli) - PAULI_LETTERS)
    if unknown:
        raise _bad(
            f"has unknown Pauli letter {unknown[0]!r} (use I, X, Y, Z)", f"{key}.pauli_string"
        )
    if len(pauli) != qubits:
        raise _bad(
            f"has {len(pauli)} letters but the ansatz has {qubits} qubits", f"{key}.pauli_string"
        )
    if "coefficient" not in raw:
        raise _bad("is required", f"{key}.coefficient")
    coefficient = _number(raw["coefficient"], f"{key}.coefficient")
    ops = tuple((qubits - 1 - i, ch) for i, ch in enumerate(pauli) if ch != "I")
    return Term(pauli=pauli, coefficient=coefficient, ops=tuple(sorted(ops)))


def parse_problem(data: Mapping[str, Any], *, qubits: int, path: str) -> Problem:
    """Validate ``hamiltonian``, constraints, ``penalty`` and ``cvar_alpha`` (400 on error)."""
    raw_terms = data.get("hamiltonian")
    if not isinstance(raw_terms, list) or not raw_terms:
        raise _bad("must be a non-empty array of Pauli terms", f"{path}.hamiltonian")
    if len(raw_terms) > MAX_TERMS:
        raise _bad(f"must have at most {MAX_TERMS} terms", f"{path}.hamiltonian")
    terms = tuple(
        parse_term(t, qubits=qubits, key=f"{path}.hamiltonian.{i}") for i, t in enumerate(raw_terms)
    )
    linear = tuple(
        _linear(c, qubits, f"{path}.linear_constraints.{i}")
        for i, c in enumerate(_list(data, "linear_constraints", path))
    )
    quadratic = tuple(
        _quadratic(c, qubits, f"{path}.quadratic_constraints.{i}")
        for i, c in enumerate(_list(data, "quadratic_constraints", path))
    )
    penalty_raw = data.get("penalty")
    penalty = 0.0 if penalty_raw is None else _number(penalty_raw, f"{path}.penalty")
    alpha_raw = data.get("cvar_alpha")
    alpha = None if alpha_raw is None else _number(alpha_raw, f"{path}.cvar_alpha")
    if alpha is not None and not 0.0 < alpha <= 1.0:
        raise _bad("must be in (0, 1]", f"{path}.cvar_alpha")
    if alpha is not None and not all(t.diagonal for t in terms):
        raise _bad(
            "needs a diagonal Hamiltonian (only I and Z letters): CVaR ranks the "
            "energies of measured bitstrings",
            f"{path}.cvar_alpha",
        )
    return Problem(
        qubits=qubits,
        terms=terms,
        linear=linear,
        quadratic=quadratic,
        penalty=penalty,
        cvar_alpha=alpha,
    )


def _list(data: Mapping[str, Any], name: str, path: str) -> list[Any]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad("must be an array", f"{path}.{name}")
    return value


def _linear(raw: object, n: int, key: str) -> tuple[FloatArray, float]:
    if not isinstance(raw, dict):
        raise _bad("must be an object with coeffs and rhs", key)
    return _vector(raw.get("coeffs"), n, f"{key}.coeffs"), _number(raw.get("rhs"), f"{key}.rhs")


def _quadratic(raw: object, n: int, key: str) -> tuple[FloatArray, FloatArray, float]:
    if not isinstance(raw, dict):
        raise _bad("must be an object with quadratic_coeff, linear_coeff and rhs", key)
    rows = raw.get("quadratic_coeff")
    if not isinstance(rows, list) or len(rows) != n:
        raise _bad(f"must be an {n}×{n} matrix", f"{key}.quadratic_coeff")
    matrix = np.array([_vector(r, n, f"{key}.quadratic_coeff.{i}") for i, r in enumerate(rows)])
    return (
        matrix,
        _vector(raw.get("linear_coeff"), n, f"{key}.linear_coeff"),
        _number(raw.get("rhs"), f"{key}.rhs"),
    )


@dataclass(frozen=True)
class Job:
    """A ``hamiltonian-energy`` job's input, validated: the problem, the ansatz, its params."""

    problem: Problem
    ansatz: Ansatz
    params: tuple[float, ...]
    path: str

    def circuit(self) -> Circuit:
        return self.ansatz.circuit(self.params)


def read_input(inp: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    """The ``HamiltonianEnergyData`` and its path, from either input shape of the spec.

    ``{"data": {"type": "hamiltonian-energy", "data": {…}}, "params"}`` (``HamiltonianEnergyInput``,
    what the ``ionq`` SDK sends) or ``{"type": "hamiltonian-energy", "data": {…}, "params"}``
    (``GenericQuantumFunctionInput``).
    """
    outer = inp.get("data")
    if "type" in inp:
        kind, data, path, type_key = inp.get("type"), outer, "input.data", "input.type"
    else:
        if not isinstance(outer, dict):
            raise _bad("must be an object with type and data", "input.data")
        kind, data = outer.get("type"), outer.get("data")
        path, type_key = "input.data.data", "input.data.type"
    if kind != "hamiltonian-energy":
        raise _bad(
            f"must be 'hamiltonian-energy' (the one quantum function served), not {kind!r}",
            type_key,
        )
    if not isinstance(data, dict):
        raise _bad("must be an object with hamiltonian and ansatz", path)
    return data, path


def _params(raw: object) -> tuple[float, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _bad("must be an array of numbers", "input.params")
    return tuple(_number(v, f"input.params.{i}") for i, v in enumerate(raw))


def load_job(inp: Mapping[str, Any]) -> Job:
    """Validate a ``quantum-function`` input.

    Raises:
        BadRequest: unknown function, bad Pauli terms (letters, lengths), constraints of the
            wrong size, ``cvar_alpha`` out of range, ``params`` not matching the ansatz.
        JobFailure: the ansatz cannot be read or run (``InvalidInput``/``PreflightError``).
    """
    data, path = read_input(inp)
    raw_ansatz = data.get("ansatz")
    if not isinstance(raw_ansatz, dict) or "data" not in raw_ansatz:
        raise _bad("must be an object with data", f"{path}.ansatz")
    if not isinstance(raw_ansatz["data"], str):
        raise _bad("must be a string (OpenQASM or circuit JSON)", f"{path}.ansatz.data")
    params = _params(inp.get("params"))
    parsed = load_ansatz(raw_ansatz["data"], key=f"{path}.ansatz.data")
    if len(params) != len(parsed.parameters):
        raise _bad(
            f"has {len(params)} values but the ansatz declares {len(parsed.parameters)} parameters",
            "input.params",
        )
    problem = parse_problem(data, qubits=parsed.qubits, path=path)
    return Job(problem=problem, ansatz=parsed, params=params, path=path)


# --------------------------------------------------------------------------- bases


def measurement_bases(problem: Problem) -> list[Basis]:
    """The computational basis first, then greedy qubit-wise commuting groups."""
    diagonal = tuple(i for i, t in enumerate(problem.terms) if t.diagonal and t.ops)
    bases = [
        Basis(letters=dict.fromkeys(range(problem.qubits), "Z"), terms=diagonal, computational=True)
    ]
    open_groups: list[tuple[dict[int, str], list[int]]] = []
    for i, term in enumerate(problem.terms):
        if term.diagonal:
            continue
        for letters, members in open_groups:
            if all(letters.get(q, letter) == letter for q, letter in term.ops):
                letters.update(term.ops)
                members.append(i)
                break
        else:
            open_groups.append((dict(term.ops), [i]))
    bases.extend(Basis(letters=letters, terms=tuple(m)) for letters, m in open_groups)
    return bases


def basis_circuit(ansatz: Circuit, basis: Basis) -> Circuit:
    """The ansatz followed by the rotations that measure ``basis`` in the Z basis."""
    extra: list[Gate] = []
    for q in sorted(basis.letters):
        letter = basis.letters[q]
        if letter == "X":
            extra.append(Gate(name="h", targets=(q,)))
        elif letter == "Y":
            extra.extend((Gate(name="si", targets=(q,)), Gate(name="h", targets=(q,))))
    return Circuit(qubits=ansatz.qubits, gateset=ansatz.gateset, gates=ansatz.gates + tuple(extra))


# --------------------------------------------------------------------------- energies


def _signs(outcomes: npt.NDArray[np.int64], mask: int) -> FloatArray:
    parity = np.zeros(outcomes.shape, dtype=np.int64)
    masked = outcomes & mask
    while np.any(masked):
        parity ^= masked & 1
        masked = masked >> 1
    return 1.0 - 2.0 * parity.astype(np.float64)


def _bits(outcomes: npt.NDArray[np.int64], n: int) -> FloatArray:
    return ((outcomes[:, None] >> np.arange(n)) & 1).astype(np.float64)


def violations(problem: Problem, outcomes: npt.NDArray[np.int64]) -> FloatArray:
    """Σ of the positive parts of ``lhs − rhs`` over all constraints, per outcome."""
    x = _bits(outcomes, problem.qubits)
    total = np.zeros(len(outcomes))
    for coeffs, rhs in problem.linear:
        total += np.maximum(x @ coeffs - rhs, 0.0)
    for matrix, coeffs, rhs in problem.quadratic:
        total += np.maximum(np.einsum("ki,ij,kj->k", x, matrix, x) + x @ coeffs - rhs, 0.0)
    return total


def outcome_energies(problem: Problem, basis: Basis, outcomes: npt.NDArray[np.int64]) -> FloatArray:
    """The energy each outcome of ``basis`` contributes (its terms, plus the penalty)."""
    energy = np.zeros(len(outcomes))
    for i in basis.terms:
        term = problem.terms[i]
        energy += term.coefficient * _signs(outcomes, term.mask)
    if basis.computational and problem.penalized:
        energy += problem.penalty * violations(problem, outcomes)
    return energy


def _constant(problem: Problem) -> float:
    return sum(t.coefficient for t in problem.terms if not t.ops)


def _cvar_exact(values: FloatArray, weights: FloatArray, alpha: float) -> float:
    order = np.argsort(values, kind="stable")
    remaining, total = alpha, 0.0
    for k in order:
        take = min(float(weights[k]), remaining)
        total += take * float(values[k])
        remaining -= take
        if remaining <= 1e-15:
            break
    return total / (alpha - max(remaining, 0.0))


def evaluate(
    problem: Problem, ansatz: Circuit, *, execute: Execute, check: Callable[[], None] | None = None
) -> Energy:
    """``⟨H⟩`` (+ penalty, or its CVaR) on the state the ansatz prepares."""
    bases = measurement_bases(problem)
    constant = _constant(problem)
    term_values = [t.coefficient if not t.ops else 0.0 for t in problem.terms]
    value, variance, exact = constant, 0.0, True
    first: RunResult | None = None
    for index, basis in enumerate(bases):
        if check is not None:
            check()
        if not basis.terms and not basis.computational:
            continue
        result = execute(basis_circuit(ansatz, basis), f"basis-{index}")
        first = first or result
        mean, var, sampled = _basis_energy(problem, basis, result, term_values)
        value += mean
        variance += var
        exact = exact and not sampled
    assert first is not None
    if problem.cvar_alpha is not None:
        value, variance = _cvar(problem, bases[0], first, constant)
    return Energy(
        value=float(value),
        variance=float(variance),
        exact=exact,
        bases=len(bases),
        term_values=tuple(float(v) for v in term_values),
        probabilities=dict(first.probabilities),
        histogram=first.histogram,
        samples=first.samples,
        method=first.method,
        cvar_alpha=problem.cvar_alpha,
    )


def _basis_energy(
    problem: Problem, basis: Basis, result: RunResult, term_values: list[float]
) -> tuple[float, float, bool]:
    if result.histogram is None:
        outcomes = np.fromiter(result.probabilities, dtype=np.int64)
        weights = np.fromiter(result.probabilities.values(), dtype=np.float64)
        weights = weights / weights.sum()
        for i in basis.terms:
            term = problem.terms[i]
            term_values[i] = term.coefficient * float(weights @ _signs(outcomes, term.mask))
        mean = float(weights @ outcome_energies(problem, basis, outcomes))
        return mean, 0.0, False
    samples = np.asarray(result.samples, dtype=np.int64)
    for i in basis.terms:
        term = problem.terms[i]
        term_values[i] = term.coefficient * float(_signs(samples, term.mask).mean())
    per_shot = outcome_energies(problem, basis, samples)
    var = float(per_shot.var(ddof=1)) / len(per_shot) if len(per_shot) > 1 else 0.0
    return float(per_shot.mean()), var, True


def _cvar(
    problem: Problem, basis: Basis, result: RunResult, constant: float
) -> tuple[float, float]:
    alpha = problem.cvar_alpha
    assert alpha is not None
    if result.histogram is None:
        outcomes = np.fromiter(result.probabilities, dtype=np.int64)
        weights = np.fromiter(result.probabilities.values(), dtype=np.float64)
        values = outcome_energies(problem, basis, outcomes) + constant
        return _cvar_exact(values, weights / weights.sum(), alpha), 0.0
    samples = np.asarray(result.samples, dtype=np.int64)
    values = np.sort(outcome_energies(problem, basis, samples) + constant, kind="stable")
    kept = values[: max(1, math.ceil(alpha * len(values)))]
    var = float(kept.var(ddof=1)) / len(kept) if len(kept) > 1 else 0.0
    return float(kept.mean()), var
