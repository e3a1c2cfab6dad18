"""The circuit model and the parser of the spec's circuit JSON (semantics.md §0–1, §5.3–5.4, §5.8).

:func:`parse_circuit` turns one ``circuit`` array into a frozen :class:`Circuit`;
:func:`parse_input` handles the ``input`` object of ``ionq.circuit.v1`` and
``ionq.multi-circuit.v1`` jobs (per-circuit gateset, qubits, name and registers inheritance).

The parser is lenient the way real clients need (clients.md §0 item 5, §7): ``target`` or
``targets``, ``control`` or ``controls``, ``cnot`` with ``controls``, ``x`` with controls,
native ``zz`` with ``phase`` as an alias of ``angle``, ``ms`` without ``angle`` (¼),
integral floats (``0.0``) as qubit indices, and ``pauliexp`` with ``terms``/``coefficients``/
``time``. Normalisations: ``cnot`` and ``not`` become ``x``; a single-qubit gate listing several
targets becomes one gate per target (semantics.md §1.1 [P]).

Every invalid circuit raises :class:`~ionstack.errors.JobFailure` whose message names the gate
index and field, e.g. ``input.circuit[3].target: qubit 5 out of range for 2 qubits``, and whose
``key`` is the dotted path (``input.circuit.3.target``). Codes (semantics.md §5.4):
``InvalidInput`` for gate-level problems and mixed gatesets, ``PreflightError`` for a gate name
that no gateset knows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ionstack.errors import FailureCode, JobFailure
from ionstack.quantum.gates import GATES, GateSet, GateSpec

JobType = Literal["ionq.circuit.v1", "ionq.multi-circuit.v1"]
Registers = dict[str, tuple[int | None, ...]]

_COMMON_KEYS = frozenset({"gate", "target", "targets", "control", "controls"})
_PAULI_LETTERS = frozenset("IXYZ")
MS_DEFAULT_ANGLE = 0.25


@dataclass(frozen=True, slots=True)
class Gate:
    """One gate, normalised.

    Attributes:
        name: Wire name (``cnot``/``not`` are stored as ``x``).
        targets: Target qubits; ``targets[0]`` is the most significant factor of the matrix.
        controls: Control qubits (QIS only).
        rotation: QIS angle in radians (``rx ry rz xx yy zz``, ``z`` as the phase gate P(λ)).
        phase: Native ``gpi``/``gpi2`` phase in turns.
        phases: Native ``ms`` phases ``(φ0, φ1)`` in turns.
        angle: Native ``ms``/``zz`` angle in turns.
        terms: ``pauliexp`` Pauli strings (string index j acts on ``targets[m-1-j]``).
        coefficients: ``pauliexp`` real coefficients.
        time: ``pauliexp`` evolution time (≥ 0); ``nop`` idle time in µs.
    """

    name: str
    targets: tuple[int, ...]
    controls: tuple[int, ...] = ()
    rotation: float | None = None
    phase: float | None = None
    phases: tuple[float, ...] | None = None
    angle: float | None = None
    terms: tuple[str, ...] | None = None
    coefficients: tuple[float, ...] | None = None
    time: float | None = None

    @property
    def qubits(self) -> tuple[int, ...]:
        """``controls + targets``, the order of :func:`~ionstack.quantum.gates.gate_matrix`."""
        return self.controls + self.targets


@dataclass(frozen=True, slots=True)
class Circuit:
    """A validated circuit.

    Attributes:
        qubits: Declared width (else max index + 1).
        gateset: ``"qis"`` or ``"native"``.
        gates: The gates in time order.
        name: ``circuits[i].name`` of a multi-circuit job, else ``None``.
        registers: ``circuits[i].registers`` (echoed; v1 results ignore them, semantics.md §2.4).
    """

    qubits: int
    gateset: GateSet
    gates: tuple[Gate, ...]
    name: str | None = None
    registers: Registers | None = field(default=None, hash=False)


# --------------------------------------------------------------------------- paths & errors


@dataclass(frozen=True, slots=True)
class _Path:
    parts: tuple[str | int, ...]

    @classmethod
    def parse(cls, text: str) -> _Path:
        parts: list[str | int] = []
        for token in re.findall(r"[^.\[\]]+", text):
            parts.append(int(token) if token.isdigit() else token)
        return cls(tuple(parts))

    def __truediv__(self, part: str | int) -> _Path:
        return _Path((*self.parts, part))

    @property
    def message(self) -> str:
        out = ""
        for p in self.parts:
            out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
        return out

    @property
    def key(self) -> str:
        return ".".join(str(p) for p in self.parts)

    def fail(self, text: str, code: FailureCode = "InvalidInput") -> JobFailure:
        return JobFailure(code, f"{self.message}: {text}", key=self.key)


# --------------------------------------------------------------------------- scalars


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _real(v: object, where: _Path) -> float:
    if not _is_number(v) or not math.isfinite(float(v)):  # type: ignore[arg-type]
        raise where.fail(f"must be a finite number, got {v!r}")
    return float(v)  # type: ignore[arg-type]


def _index(v: object, where: _Path) -> int:
    if not _is_number(v) or not math.isfinite(float(v)):  # type: ignore[arg-type]
        raise where.fail(f"qubit index must be a non-negative integer, got {v!r}")
    f = float(v)  # type: ignore[arg-type]
    if f != int(f) or f < 0:
        raise where.fail(f"qubit index must be a non-negative integer, got {v!r}")
    return int(f)


def _ranged(v: object, where: _Path, lo: float, hi: float) -> float:
    x = _real(v, where)
    if not lo <= x <= hi:
        raise where.fail(f"{x!r} is outside [{lo:g}, {hi:g}]")
    return x


def parse_qubit_count(v: object, where: str) -> int:
    """Validate a ``qubits`` field (integer ≥ 1; an integral float is accepted)."""
    path = _Path.parse(where)
    if not _is_number(v) or not math.isfinite(float(v)):  # type: ignore[arg-type]
        raise path.fail(f"must be a positive integer, got {v!r}")
    f = float(v)  # type: ignore[arg-type]
    if f != int(f) or f < 1:
        raise path.fail(f"must be a positive integer, got {v!r}")
    return int(f)


# --------------------------------------------------------------------------- qubit fields


def _qubit_list(raw: Mapping[str, Any], one: str, many: str, where: _Path) -> tuple[int, ...]:
    """Read ``target``/``targets`` (or ``control``/``controls``); both given → invalid."""
    has_one, has_many = one in raw, many in raw
    if has_one and has_many:
        raise (where / many).fail(f"give either {one!r} or {many!r}, not both")
    if has_one:
        return (_index(raw[one], where / one),)
    if not has_many:
        return ()
    value = raw[many]
    if not isinstance(value, list | tuple):
        raise (where / many).fail(f"must be a list of qubit indices, got {value!r}")
    return tuple(_index(v, where / many / i) for i, v in enumerate(value))


def _field_of(raw: Mapping[str, Any], one: str, many: str) -> str:
    return one if one in raw else many


def _check_qubits(
    raw: Mapping[str, Any],
    targets: tuple[int, ...],
    controls: tuple[int, ...],
    qubits: int | None,
    where: _Path,
) -> None:
    for kind, (one, many), values in (
        ("target", ("target", "targets"), targets),
        ("control", ("control", "controls"), controls),
    ):
        name = _field_of(raw, one, many)
        for i, q in enumerate(values):
            if qubits is not None and q >= qubits:
                loc = where / name if name == one else where / name / i
                raise loc.fail(f"qubit {q} out of range for {qubits} qubits")
        if len(set(values)) != len(values):
            raise (where / name).fail(f"duplicate {kind} qubits {list(values)}")
    if set(targets) & set(controls):
        both = sorted(set(targets) & set(controls))
        raise (where / _field_of(raw, "control", "controls")).fail(
            f"qubits {both} are both control and target"
        )


# --------------------------------------------------------------------------- parameters


def _qis_params(spec: GateSpec, raw: Mapping[str, Any], where: _Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "rotation" in raw:
        out["rotation"] = _real(raw["rotation"], where / "rotation")
    if spec.name == "pauliexp":
        out.update(_pauliexp_params(raw, where))
    return out


def _pauliexp_params(raw: Mapping[str, Any], where: _Path) -> dict[str, Any]:
    terms, coeffs = raw["terms"], raw["coefficients"]
    if not isinstance(terms, list | tuple) or not all(isinstance(t, str) for t in terms):
        raise (where / "terms").fail("must be a list of Pauli strings")
    if not isinstance(coeffs, list | tuple):
        raise (where / "coefficients").fail("must be a list of real numbers")
    values = tuple(_real(c, where / "coefficients" / i) for i, c in enumerate(coeffs))
    if len(terms) != len(values):
        raise (where / "coefficients").fail(f"{len(values)} coefficients for {len(terms)} terms")
    time = _real(raw["time"], where / "time")
    if time < 0:
        raise (where / "time").fail(f"must be ≥ 0, got {time!r}")
    return {"terms": tuple(t.upper() for t in terms), "coefficients": values, "time": time}


def _check_terms(terms: tuple[str, ...], width: int, where: _Path) -> None:
    for i, term in enumerate(terms):
        if len(term) != width:
            raise (where / "terms" / i).fail(
                f"term {term!r} has length {len(term)}, expected {width} (one letter per target)"
            )
        if not set(term) <= _PAULI_LETTERS:
            raise (where / "terms" / i).fail(f"term {term!r} has letters outside I, X, Y, Z")


def _native_params(spec: GateSpec, raw: Mapping[str, Any], where: _Path) -> dict[str, Any]:
    if spec.name in ("gpi", "gpi2"):
        return {"phase": _ranged(raw["phase"], where / "phase", -1.0, 1.0)}
    if spec.name == "ms":
        phases = raw["phases"]
        if not isinstance(phases, list | tuple) or len(phases) != 2:
            raise (where / "phases").fail(f"must be a list of two phases, got {phases!r}")
        values = tuple(_ranged(p, where / "phases" / i, -1.0, 1.0) for i, p in enumerate(phases))
        angle = raw.get("angle", MS_DEFAULT_ANGLE)
        return {"phases": values, "angle": _ranged(angle, where / "angle", 0.0, 0.25)}
    if spec.name == "zz":
        return {"angle": _ranged(raw["angle"], where / "angle", -1.0, 1.0)}
    if "time" in raw:  # nop
        t = _real(raw["time"], where / "time")
        if t < 0:
            raise (where / "time").fail(f"must be ≥ 0, got {t!r}")
        return {"time": t}
    return {}


# --------------------------------------------------------------------------- one gate


def _lookup(raw: object, gateset: GateSet, where: _Path) -> tuple[GateSpec, dict[str, Any]]:
    if not isinstance(raw, Mapping):
        raise where.fail(f"each gate must be an object, got {type(raw).__name__}")
    name = raw.get("gate")
    if not isinstance(name, str):
        raise (where / "gate").fail(
            "missing gate name" if name is None else f"gate name must be a string, got {name!r}"
        )
    key = name.strip().lower()
    spec = GATES[gateset].get(key)
    if spec is None:
        other: GateSet = "native" if gateset == "qis" else "qis"
        if key in GATES[other]:
            raise (where / "gate").fail(
                f"{name!r} is a {other} gate but the circuit's gateset is {gateset!r}"
                " (gatesets cannot be mixed)"
            )
        raise (where / "gate").fail(f"unknown gate {name!r}", "PreflightError")
    body = dict(raw)
    if key == "zz" and gateset == "native" and "phase" in body and "angle" not in body:
        body["angle"] = body.pop("phase")  # cirq-ionq sends the ZZ angle as "phase"
    return spec, body


def _check_fields(spec: GateSpec, raw: Mapping[str, Any], where: _Path) -> None:
    allowed = _COMMON_KEYS | set(spec.params) | set(spec.optional)
    for k in raw:
        if k not in allowed:
            raise (where / k).fail(f"field {k!r} is not allowed on gate {spec.name!r}")
    for k in spec.params:
        if k not in raw:
            raise (where / k).fail(f"gate {spec.name!r} requires {k!r}")
    if not spec.controllable and ("control" in raw or "controls" in raw):
        raise (where / _field_of(raw, "control", "controls")).fail(
            f"gate {spec.name!r} does not take controls"
        )


def _check_arity(
    spec: GateSpec,
    targets: tuple[int, ...],
    controls: tuple[int, ...],
    raw: Mapping[str, Any],
    where: _Path,
) -> None:
    tfield = where / _field_of(raw, "target", "targets")
    if not targets and spec.name != "nop":
        raise tfield.fail(f"gate {spec.name!r} requires a target")
    if spec.arity == 2 and len(targets) != 2:
        raise tfield.fail(f"gate {spec.name!r} takes exactly 2 targets, got {len(targets)}")
    if spec.name == "cnot":
        if not controls:
            raise (where / "control").fail("gate 'cnot' requires a control")
        if len(targets) != 1:
            raise tfield.fail(f"gate 'cnot' takes exactly 1 target, got {len(targets)}")


def _parse_gate(raw: object, gateset: GateSet, qubits: int | None, where: _Path) -> list[Gate]:
    spec, body = _lookup(raw, gateset, where)
    _check_fields(spec, body, where)
    targets = _qubit_list(body, "target", "targets", where)
    controls = _qubit_list(body, "control", "controls", where)
    _check_arity(spec, targets, controls, body, where)
    _check_qubits(body, targets, controls, qubits, where)
    params = (_qis_params if gateset == "qis" else _native_params)(spec, body, where)
    if spec.name == "pauliexp":
        _check_terms(params["terms"], len(targets), where)
    name = "x" if spec.name in ("cnot", "not") else spec.name
    if spec.broadcast and len(targets) > 1:
        return [Gate(name, (t,), controls, **params) for t in targets]
    return [Gate(name, targets, controls, **params)]


# --------------------------------------------------------------------------- circuits


def _gateset(value: object, where: str) -> GateSet:
    if value == "qis" or value == "native":
        return value
    raise _Path.parse(where).fail(f"gateset must be 'qis' or 'native', got {value!r}")


def _width(gates: Sequence[Gate]) -> int:
    return max((max(g.qubits) + 1 for g in gates if g.qubits), default=1)


def _registers(raw: object, qubits: int, where: _Path) -> Registers:
    if not isinstance(raw, Mapping):
        raise where.fail("registers must be an object of name → list of qubit indices")
    out: Registers = {}
    for name, entries in raw.items():
        if not isinstance(entries, list | tuple):
            raise (where / str(name)).fail("must be a list of qubit indices or null")
        values: list[int | None] = []
        for i, v in enumerate(entries):
            if v is None:
                values.append(None)
                continue
            q = _index(v, where / str(name) / i)
            if q >= qubits:
                raise (where / str(name) / i).fail(f"qubit {q} out of range for {qubits} qubits")
            values.append(q)
        out[str(name)] = tuple(values)
    return out


def parse_circuit(
    circuit: Sequence[Mapping[str, Any]],
    *,
    gateset: str,
    qubits: int | None,
    path: str = "input.circuit",
    name: str | None = None,
    registers: Mapping[str, Any] | None = None,
    registers_path: str = "input.registers",
) -> Circuit:
    """Parse and validate one ``circuit`` array.

    Args:
        circuit: The gate objects as decoded from JSON.
        gateset: ``"qis"`` (angles in radians) or ``"native"`` (turns).
        qubits: The declared width, or ``None`` to use max index + 1.
        path: Where the array sits in the request, for messages and keys.
        name: Circuit name to carry along (multi-circuit jobs).
        registers: ``registers`` object to validate and carry along (semantics.md §2.4).
        registers_path: Where ``registers`` sits in the request.

    Returns:
        The frozen circuit; ``cnot``/``not`` normalised to ``x``, broadcast 1q gates split.

    Raises:
        JobFailure: ``InvalidInput`` (bad field, range, qubit, mixed gateset) or
            ``PreflightError`` (unknown gate name), naming the gate index and field.
    """
    where = _Path.parse(path)
    gs = _gateset(gateset, "input.gateset")
    if not isinstance(circuit, list | tuple):
        raise where.fail("circuit must be a list of gates")
    gates: list[Gate] = []
    for i, raw in enumerate(circuit):
        gates.extend(_parse_gate(raw, gs, qubits, where / i))
    width = qubits if qubits is not None else _width(gates)
    regs = _registers(registers, width, _Path.parse(registers_path)) if registers else None
    return Circuit(qubits=width, gateset=gs, gates=tuple(gates), name=name, registers=regs)


def _optional_qubits(value: object, where: str) -> int | None:
    return None if value is None else parse_qubit_count(value, where)


def _single(inp: Mapping[str, Any]) -> list[Circuit]:
    if "circuits" in inp:
        raise _Path.parse("input.circuits").fail("not allowed with type ionq.circuit.v1")
    if "circuit" not in inp:
        raise _Path.parse("input.circuit").fail("missing circuit")
    return [
        parse_circuit(
            inp["circuit"],
            gateset=_gateset(inp.get("gateset", "qis"), "input.gateset"),
            qubits=_optional_qubits(inp.get("qubits"), "input.qubits"),
            registers=inp.get("registers"),
        )
    ]


def _multi(inp: Mapping[str, Any]) -> list[Circuit]:
    if "circuit" in inp:
        raise _Path.parse("input.circuit").fail("not allowed with type ionq.multi-circuit.v1")
    circuits = inp.get("circuits")
    if not isinstance(circuits, list) or not circuits:
        raise _Path.parse("input.circuits").fail("must be a non-empty list of circuits")
    parent_gs = inp.get("gateset", "qis")
    parent_q = _optional_qubits(inp.get("qubits"), "input.qubits")
    out = []
    for i, entry in enumerate(circuits):
        base = f"input.circuits[{i}]"
        if not isinstance(entry, Mapping) or "circuit" not in entry:
            raise _Path.parse(base).fail("each entry must be an object with a 'circuit'")
        gs = _gateset(entry.get("gateset", parent_gs), f"{base}.gateset")
        own_q = _optional_qubits(entry.get("qubits"), f"{base}.qubits")
        name = entry.get("name")
        if name is not None and not isinstance(name, str):
            raise _Path.parse(f"{base}.name").fail("must be a string")
        out.append(
            parse_circuit(
                entry["circuit"],
                gateset=gs,
                qubits=own_q if own_q is not None else parent_q,
                path=f"{base}.circuit",
                name=name,
                registers=entry.get("registers"),
                registers_path=f"{base}.registers",
            )
        )
    return out


def parse_input(input: Mapping[str, Any], *, job_type: str) -> list[Circuit]:
    """Parse the ``input`` of a circuit job into its circuits (semantics.md §5.8).

    ``ionq.circuit.v1`` gives one circuit. ``ionq.multi-circuit.v1`` gives one per entry of
    ``input.circuits`` in order; each inherits ``gateset`` and ``qubits`` from the parent
    ``input`` unless it sets its own, and its width falls back to max index + 1. ``name`` and
    ``registers`` are per circuit. A missing ``gateset`` defaults to ``"qis"`` (lenient).

    Raises:
        JobFailure: as :func:`parse_circuit`; ``input.circuit`` and ``input.circuits``
            together, or an unknown ``job_type``, are ``InvalidInput``.
    """
    if not isinstance(input, Mapping):
        raise _Path.parse("input").fail("must be an object")
    if job_type == "ionq.circuit.v1":
        return _single(input)
    if job_type == "ionq.multi-circuit.v1":
        return _multi(input)
    raise _Path(("type",)).fail(f"unsupported job type {job_type!r}")
