"""Reading a ``POST /jobs`` body: schema checks (400) versus job failures (semantics.md §5.2).

Schema-level problems — wrong types, unknown keys, shots out of range, an unknown or retired
backend, ``circuit`` with ``circuits``, too many circuits or gates — raise :class:`BadRequest`
with ``validation.keys``. Everything about the circuits themselves is checked by the quantum
core and, when wrong, makes a created job that is ``failed`` with a ``failure.code``.

Leniency for real clients (clients.md §0 item 5): numeric-string ``shots``, cirq's ``lang``,
``noise.seed: null``, a missing ``gateset`` (``qis``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ionstack.catalog import Backend, Catalog
from ionstack.errors import BadRequest, Forbidden
from ionstack.service import functions

QASM3_JOB = "ionq.qasm3.v1"  #: OpenQASM 3 programs (IonQ's newer v0.4 revision; issue 15)
CIRCUIT_TYPES = ("ionq.circuit.v1", "ionq.multi-circuit.v1", QASM3_JOB)
LATER_TYPES = functions.FUNCTION_TYPES  #: quantum-function, qctrl.qaoa.v1 (issue 10)
NOISE_MODELS = (
    "ideal",
    "harmony",
    "harmony-1",
    "harmony-2",
    "aria-1",
    "aria-2",
    "forte-1",
    "forte-enterprise-1",
)
SEED_MAX = 2**31 - 1
MAX_NAME_LEN = 1000  #: the width of ``jobs.name``: a longer name is a 400, not a 500


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Request limits of semantics.md §5.3 (all settings)."""

    max_shots: int = 1_000_000
    max_circuits: int = 5_000
    max_total_gates: int = 150_000
    max_metadata_keys: int = 10
    max_metadata_key_len: int = 40
    max_metadata_value_len: int = 40_000
    debias_min_shots: int = 500
    default_shots: int = 100


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class NoiseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Literal[
        "ideal",
        "harmony",
        "harmony-1",
        "harmony-2",
        "aria-1",
        "aria-2",
        "forte-1",
        "forte-enterprise-1",
    ]
    seed: int | None = Field(default=None, ge=1, le=SEED_MAX)


class CompilationIn(_Loose):
    opt: float | None = None
    precision: str | None = None
    gate_basis: str | None = None
    service_version: str | None = None


class ErrorMitigationIn(_Loose):
    debiasing: bool | dict[str, Any] | None = None
    symmetry_verification: bool | None = None


class SettingsIn(_Loose):
    compilation: CompilationIn | None = None
    error_mitigation: ErrorMitigationIn | None = None


class JobPayload(BaseModel):
    """The spec's ``JobCreationPayload`` for circuit jobs, with the clients' known extras."""

    model_config = ConfigDict(extra="forbid")

    type: str
    backend: str
    input: dict[str, Any]
    shots: int | None = Field(default=None, ge=1)
    name: str | None = Field(default=None, max_length=MAX_NAME_LEN)
    metadata: dict[str, str] | None = None
    session_id: str | None = None
    settings: SettingsIn | None = None
    dry_run: bool = False
    noise: NoiseIn | None = None
    lang: str | None = None  #: cirq-ionq sends ``"lang": "json"``; ignored
    #: qctrl.qaoa.v1 only; its api_credentials are never stored (service/functions.py)
    external_settings: dict[str, Any] | None = None

    @field_validator("shots", mode="before")
    @classmethod
    def _shots(cls, value: object) -> object:
        # cirq-ionq sends "1000"; pydantic accepts numeric strings, but not bools as counts.
        if isinstance(value, bool):
            raise ValueError("must be an integer")
        return value


@dataclass(frozen=True, kw_only=True)
class JobRequest:
    """A schema-valid job request, with effective values filled in."""

    payload: JobPayload
    backend: Backend
    shots: int
    noise_model: str | None  #: simulator only; None for QPU backends
    noise_seed: int | None
    debiasing: bool
    circuits_raw: list[dict[str, Any]]  #: per circuit: gateset, qubits, circuit, name, registers
    #: function jobs: the non-secret fields of ``external_settings``
    external: dict[str, Any] | None = None


def parse_payload(body: object, *, limits: Limits) -> JobPayload:
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object", source="payload")
    try:
        return JobPayload.model_validate(body)
    except ValidationError as exc:
        raise bad_request(exc) from None


def bad_request(exc: ValidationError) -> BadRequest:
    """The spec's 400 for a pydantic validation error: the first key's problem, every key."""
    first = exc.errors()[0]
    key = ".".join(str(p) for p in first["loc"])
    keys: list[str] = []
    for err in exc.errors():
        k = ".".join(str(p) for p in err["loc"])
        if k not in keys:
            keys.append(k)
    kind = first["type"]
    if kind == "missing":
        text = "is required"
    elif kind == "extra_forbidden":
        text = "is not allowed"
    else:
        msg = first["msg"]
        text = msg[0].lower() + msg[1:]
    return BadRequest(f'"{key}" {text}', keys=keys, source="payload")


def check_request(
    payload: JobPayload,
    *,
    catalog: Catalog,
    limits: Limits,
    qpu_access: bool,
    draw_seed: Any,
) -> JobRequest:
    """All synchronous (400/403) rules of semantics.md §5.2 for circuit jobs."""
    _check_type(payload.type)
    backend = _check_backend(payload.backend, catalog)
    if backend.is_qpu and not qpu_access:
        raise Forbidden(f"Your organization does not have access to {backend.name}.")
    shots = payload.shots if payload.shots is not None else limits.default_shots
    if shots > limits.max_shots:
        raise BadRequest(
            f'"shots" must be less than or equal to {limits.max_shots}',
            keys=["shots"],
            source="payload",
        )
    _check_metadata(payload.metadata, limits)
    external = functions.external_settings(payload.type, payload.external_settings)
    if payload.type in functions.FUNCTION_TYPES:
        circuits = [payload.input]  # validated with the quantum core (service/jobs.py)
        debiasing = _no_debiasing(payload)
    elif payload.type == QASM3_JOB:
        circuits = [_program_input(payload)]  # parsed by the quantum core (service/jobs.py)
        debiasing = _no_debiasing(payload)
    else:
        circuits = _circuits(payload, limits)
        debiasing = _debiasing(payload, backend, shots, limits)
    model, seed = _noise(payload, backend, draw_seed)
    return JobRequest(
        payload=payload,
        backend=backend,
        shots=shots,
        noise_model=model,
        noise_seed=seed,
        debiasing=debiasing,
        circuits_raw=circuits,
        external=external,
    )


def _check_type(job_type: str) -> None:
    if job_type in CIRCUIT_TYPES or job_type in functions.FUNCTION_TYPES:
        return
    raise BadRequest(
        f'"type" must be one of [ionq.circuit.v1, ionq.qasm3.v1, ionq.multi-circuit.v1, '
        f"quantum-function, qctrl.qaoa.v1], not {job_type!r}",
        keys=["type"],
        source="payload",
    )


def _check_backend(name: str, catalog: Catalog) -> Backend:
    backend = catalog.get(name)
    if backend is None:
        raise BadRequest(f'"backend" {name!r} is not a known backend', keys=["backend"])
    if backend.status == "retired":
        raise BadRequest(f"Backend {name} is retired.", keys=["backend"], source="payload")
    if backend.status == "unavailable":
        raise BadRequest(f"Backend {name} is unavailable.", keys=["backend"], source="payload")
    return backend


def _check_metadata(metadata: dict[str, str] | None, limits: Limits) -> None:
    if metadata is None:
        return
    if len(metadata) > limits.max_metadata_keys:
        raise BadRequest(
            f'"metadata" must have at most {limits.max_metadata_keys} keys',
            keys=["metadata"],
            source="payload",
        )
    for key, value in metadata.items():
        if len(key) > limits.max_metadata_key_len:
            raise BadRequest(
                f'"metadata" keys must be at most {limits.max_metadata_key_len} characters',
                keys=[f"metadata.{key}"],
                source="payload",
            )
        if len(value) > limits.max_metadata_value_len:
            raise BadRequest(
                f'"metadata.{key}" must be at most {limits.max_metadata_value_len} characters',
                keys=[f"metadata.{key}"],
                source="payload",
            )


def _circuits(payload: JobPayload, limits: Limits) -> list[dict[str, Any]]:
    """Split the input into per-circuit raw inputs and apply the size rules (400)."""
    inp = payload.input
    if "circuit" in inp and "circuits" in inp:
        raise BadRequest(
            '"input.circuit" and "input.circuits" cannot be given together',
            keys=["input.circuit", "input.circuits"],
            source="payload",
        )
    if payload.type == "ionq.circuit.v1":
        gates = inp.get("circuit")
        if not isinstance(gates, list):
            raise BadRequest('"input.circuit" must be an array of gates', keys=["input.circuit"])
        entries = [
            {
                "gateset": inp.get("gateset", "qis"),
                "qubits": inp.get("qubits"),
                "circuit": gates,
                **({"registers": inp["registers"]} if "registers" in inp else {}),
            }
        ]
    else:
        listed = inp.get("circuits")
        if not isinstance(listed, list) or not listed:
            raise BadRequest('"input.circuits" must be a non-empty array', keys=["input.circuits"])
        if len(listed) > limits.max_circuits:
            raise BadRequest(
                f'"input.circuits" must contain at most {limits.max_circuits} circuits',
                keys=["input.circuits"],
                source="payload",
            )
        entries = [_child_input(inp, entry, i) for i, entry in enumerate(listed)]
    total = sum(len(e["circuit"]) for e in entries)
    if total > limits.max_total_gates:
        raise BadRequest(
            f"A job may contain at most {limits.max_total_gates} gates in total ({total} given)",
            keys=["input"],
            source="payload",
        )
    return entries


def _program_input(payload: JobPayload) -> dict[str, Any]:
    """``input`` of an ``ionq.qasm3.v1`` job: ``{"data": "<OpenQASM 3>", "qubits"?: n}``."""
    inp = payload.input
    data = inp.get("data")
    if not isinstance(data, str) or not data.strip():
        raise BadRequest(
            '"input.data" must be a non-empty string of OpenQASM 3',
            keys=["input.data"],
            source="payload",
        )
    qubits = inp.get("qubits")
    if qubits is not None and (isinstance(qubits, bool) or not isinstance(qubits, int)):
        raise BadRequest('"input.qubits" must be an integer', keys=["input.qubits"])
    if qubits is not None and qubits < 1:
        raise BadRequest('"input.qubits" must be at least 1', keys=["input.qubits"])
    return {"data": data, **({"qubits": qubits} if qubits is not None else {})}


def _child_input(parent: dict[str, Any], entry: object, index: int) -> dict[str, Any]:
    where = f"input.circuits.{index}"
    if not isinstance(entry, dict) or not isinstance(entry.get("circuit"), list):
        raise BadRequest(f'"{where}.circuit" must be an array of gates', keys=[f"{where}.circuit"])
    child: dict[str, Any] = {
        "gateset": entry.get("gateset", parent.get("gateset", "qis")),
        "qubits": entry.get("qubits", parent.get("qubits")),
        "circuit": entry["circuit"],
    }
    for optional in ("name", "registers"):
        if optional in entry:
            child[optional] = entry[optional]
    name = entry.get("name")
    if isinstance(name, str) and len(name) > MAX_NAME_LEN:
        raise BadRequest(
            f'"{where}.name" must be at most {MAX_NAME_LEN} characters',
            keys=[f"{where}.name"],
            source="payload",
        )
    return child


def _debiasing(payload: JobPayload, backend: Backend, shots: int, limits: Limits) -> bool:
    em = payload.settings.error_mitigation if payload.settings else None
    asked = em.debiasing if em is not None else None
    if not backend.is_qpu:
        return False  # not available on any simulator (semantics.md §2.5)
    if asked is None:
        return shots >= limits.debias_min_shots
    enabled = bool(asked)
    if enabled and shots < limits.debias_min_shots:
        raise BadRequest(
            f"Debiasing requires at least {limits.debias_min_shots} shots.",
            keys=["settings.error_mitigation.debiasing"],
            source="payload",
        )
    return enabled


def _no_debiasing(payload: JobPayload) -> bool:
    """Function and OpenQASM 3 jobs run without debiasing (its variants rewrite a flat circuit);
    asking for it is a 400, not silently ignored."""
    em = payload.settings.error_mitigation if payload.settings else None
    if em is not None and em.debiasing:
        raise BadRequest(
            f"Debiasing is not available for {payload.type} jobs on this server.",
            keys=["settings.error_mitigation.debiasing"],
            source="payload",
        )
    return False


def _noise(payload: JobPayload, backend: Backend, draw_seed: Any) -> tuple[str | None, int | None]:
    if backend.is_qpu:
        return None, None  # noise is a simulator option; ignored for QPUs (semantics.md §4)
    if payload.noise is None or payload.noise.model == "ideal":
        return "ideal", None
    seed = payload.noise.seed if payload.noise.seed is not None else int(draw_seed())
    return payload.noise.model, seed
