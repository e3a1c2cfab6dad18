"""Configuration: one pydantic-settings object, read from ``IONSTACK_*`` environment variables.

Nothing reads the environment at import time. ``Settings()`` is built by the CLI (or by
``app_from_env``) and passed down; tests build their own. Every [P] constant of semantics.md is
a field here with its documented default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("ionstack", appauthor=False))


class Settings(BaseSettings):
    """Every knob of an ionstack server. Environment prefix: ``IONSTACK_``."""

    model_config = SettingsConfigDict(env_prefix="IONSTACK_", extra="ignore")

    # --- where things live -------------------------------------------------------------------
    data_dir: Path = Field(
        default_factory=_default_data_dir, description="Directory for the embedded database."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Default: SQLite file ionstack.db in the data directory. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str | None = Field(
        default=None, description="Base URL printed for users (default http://HOST:PORT)."
    )

    # --- processes ---------------------------------------------------------------------------
    workers: int | None = Field(
        default=None, ge=0, description="Worker processes started by `serve` (default: cores)."
    )
    engine_threads: int = Field(default=0, ge=0, description="Simulator threads (0 = cores).")

    # --- database ----------------------------------------------------------------------------
    auto_migrate: bool = Field(default=True, description="Apply migrations at start.")
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = Field(
        default="FULL", description="SQLite durability: FULL survives power loss too."
    )
    sqlite_group_commit: int = Field(
        default=64,
        ge=1,
        description="SQLite: at most this many submissions that arrive together are committed "
        "in one transaction (one fsync); 1 commits each on its own.",
    )

    # --- accounts ----------------------------------------------------------------------------
    bootstrap_key: SecretStr | None = Field(
        default=None, description="API key of the default owner created on first start."
    )
    bootstrap_qpu_access: bool = Field(
        default=True, description="Whether the default organization may submit to QPUs."
    )

    # --- HTTP --------------------------------------------------------------------------------
    max_body_bytes: int = Field(default=10 * MB, ge=1024, description="Larger bodies get 413.")
    max_drain_bytes: int = Field(
        default=64 * MB,
        ge=0,
        description="An over-limit body is read and thrown away up to this size, so that clients "
        "that write their whole body first can read the 413; a longer one is cut off.",
    )
    rate_limit: str = Field(
        default="200/second;6000/minute",
        description="Per API key (or client address), in the limits library's notation; "
        "empty disables.",
    )
    rate_limit_storage: str = Field(
        default="memory://", description="limits storage URI; redis://… shares counters."
    )
    log_level: str = "info"
    log_json: bool = False
    metrics_enabled: bool = Field(default=True, description="Serve Prometheus /metrics.")
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, /metrics needs `Authorization: Bearer <token>`; else it is open.",
    )

    # --- jobs (semantics.md §5.3; every value a [P] default) ----------------------------------
    default_shots: int = Field(default=100, ge=1)
    max_shots: int = Field(default=1_000_000, ge=1)
    max_circuits: int = Field(default=5_000, ge=1)
    max_total_gates: int = Field(default=150_000, ge=1)
    qpu_max_shots: int = Field(default=10_000, ge=1, description="More → TooManyShots.")
    qpu_max_controls: int = Field(default=7, ge=1, description="More → TooManyControls.")
    emulation_max_qubits: int = Field(
        default=36,
        ge=1,
        description="Widest circuit an emulated QPU or noisy model runs (also capped by the "
        "system's qubit count: Aria 25, Forte 36); beyond 29 qubits only circuits with a "
        "cheaper method (Clifford: stim; low entanglement: matrix-product states) run.",
    )
    simulator_max_qubits: int = Field(
        default=64,
        ge=1,
        description="Widest ideal-simulator circuit accepted; beyond ~30 qubits only circuits "
        "with a cheaper exact method (e.g. Clifford) fit in memory.",
    )
    mps_max_bond: int = Field(
        default=256,
        ge=2,
        description="Bond-dimension cap of matrix-product-state simulation (wide circuits).",
    )
    mps_max_discarded: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="A matrix-product-state run fails (SimulationError) once truncation at the "
        "cap discarded more than this much of the state (≈ 1 − fidelity).",
    )
    max_predicted_hours: float = Field(default=6.0, gt=0)
    max_native_ops: int = Field(default=30_000, ge=1)
    debias_min_shots: int = Field(default=500, ge=1)
    simulation_timeout_s: float = Field(default=600.0, gt=0, description="→ SimulationTimeout.")
    memory_limit_bytes: int | None = Field(
        default=None, description="Simulator memory budget (default: 3/4 of RAM)."
    )
    host_memory_bytes: int | None = Field(
        default=None,
        ge=0,
        description="Memory the workers of one host may hold at once for large simulations, "
        "shared through <data dir>/memory (default: 3/4 of RAM; 0 turns the shared budget off).",
    )
    isolate_above_bytes: int = Field(
        default=256 << 20,
        ge=0,
        description="A job whose memory estimate is at least this runs in a child process with "
        "an OS memory limit (RLIMIT_DATA; runtime/isolation.py); smaller jobs run in the "
        "worker's thread (0: none does).",
    )
    isolate_margin: float = Field(
        default=1.5,
        gt=0,
        description="A child's memory limit: this × the job's estimate, plus its answer, its "
        "engine threads and the process's own memory at start.",
    )
    emulate_qpu_duration: bool = Field(
        default=False, description="Emulated QPU jobs take their predicted duration."
    )
    device_fidelity_convention: Literal["process", "average"] = Field(
        default="process",
        description="Emulated QPUs: read the characterization's 1q/2q fidelities as process "
        "fidelities (1 − the DRB error rate, as IonQ's forte-1 model does) or as average gate "
        "fidelities (quantum/device.py).",
    )
    device_coherent_fraction: float = Field(
        default=0.25,
        ge=0.0,
        le=1.0,
        description="Emulated QPUs: share of the 2q gate error that is a static per-pair "
        "over-rotation (quantum/device.py; an assumption, bench/README.md).",
    )
    device_readout_bright_share: float = Field(
        default=0.75,
        ge=0.0,
        le=1.0,
        description="Emulated QPUs: share of the SPAM error that reads 1 as 0 "
        "(quantum/device.py; direction from Yb+ detection physics, value an assumption).",
    )

    # --- queue and workers -------------------------------------------------------------------
    lease_seconds: float = Field(default=30.0, gt=0, description="A worker's hold on a job.")
    max_attempts: int = Field(default=3, ge=1, description="Runs before InternalError.")
    poll_interval_s: float = Field(
        default=2.0, gt=0, description="Fallback queue poll when no wake-up arrives."
    )
    poll_hold_s: float = Field(
        default=5.0,
        ge=0,
        le=25,
        description="How long GET /jobs/{id} on an unfinished job may wait for it to finish "
        "(0: answer at once).",
    )
    poll_recheck_s: float = Field(
        default=1.0,
        gt=0,
        description="A held poll re-reads its job this often, in case a finished signal was lost.",
    )

    # --- sessions (semantics.md §7; the upper bounds are [P]) ----------------------------------
    session_max_job_count: int = Field(
        default=10_000, ge=1, description="Largest job_count_limit a session may ask for."
    )
    session_max_duration_min: int = Field(
        default=7 * 24 * 60, ge=1, description="Largest duration_limit_min (minutes)."
    )
    session_max_cost_usd: float = Field(
        default=1_000_000.0, gt=0, description="Largest cost_limit value (USD)."
    )

    usage_max_days: int = Field(
        default=3660, ge=1, description="Longest window of an organization usage report."
    )

    # --- catalog -----------------------------------------------------------------------------
    characterization_history_days: int = Field(
        default=30, ge=1, description="Days of daily characterization history to seed."
    )
    calibration_backend: str = Field(
        default="qpu.aria-1",
        description="The QPU behind the legacy /calibrations paths that cirq-ionq reads.",
    )

    @field_validator("data_dir", mode="before")
    @classmethod
    def _expand(cls, value: object) -> object:
        if isinstance(value, str):
            return Path(os.path.expanduser(value))
        return value

    @property
    def effective_database_url(self) -> str:
        """The database URL in force: the configured one or the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'ionstack.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def effective_workers(self) -> int:
        if self.workers is not None:
            return self.workers
        return max(1, os.cpu_count() or 1)

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"
