"""Wire models written from the spec (ionq-openapi-v0.4.yml), for responses and the docs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class ErrorValidation(Wire):
    source: str
    keys: list[str]


class Error(Wire):
    """The spec's error body (``Error`` / ``BadRequestError``)."""

    statusCode: int
    error: str
    message: str
    validation: ErrorValidation | None = None


class Whoami(Wire):
    key_id: str
    key_name: str
    project_id: str


class Backend(Wire):
    backend: str
    status: str
    qubits: int
    average_queue_time: int
    last_updated: str
    degraded: bool | None = None
    characterization_id: str | None = None
    location: str | None = None
    kw: float | None = None
    # extensions read by newer clients (semantics.md §3.1)
    supported_native_gates: list[str] | None = None
    supported_error_mitigations: list[str] | None = None
    noise_models: list[str] | None = None


class FidelityMedian(Wire):
    median: float


class SpamFidelity(Wire):
    median: float
    stderr: float | None = None


class Fidelity(Wire):
    one_q: FidelityMedian = Field(alias="1q")
    two_q: FidelityMedian = Field(alias="2q")
    spam: SpamFidelity


class Timing(Wire):
    t1: float
    t2: float
    one_q: float = Field(alias="1q")
    two_q: float = Field(alias="2q")
    readout: float
    reset: float


class Characterization(Wire):
    id: str
    date: str
    backend: str
    qubits: int
    connectivity: list[list[int]]
    fidelity: Fidelity
    timing: Timing


class CharacterizationList(Wire):
    characterizations: list[Characterization]
    pages: int


class Health(Wire):
    status: str
    database: str
    revision: str | None
