"""SQLAlchemy 2 tables. Migrations in ``store/migrations`` create exactly these.

Ids are strings (UUIDs; user ids are 24 hex characters like IonQ's ``submitter_id``) so the same
schema runs on SQLite and PostgreSQL. Timestamps are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored and returned as timezone-aware UTC on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    qpu_access: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # "owner" | "user"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProjectMember(Base):
    __tablename__ = "project_members"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: the first characters of the key: shown in listings, not enough to use it
    prefix: Mapped[str] = mapped_column(String(16))
    #: SHA-256 hex of the whole key; the key itself is never stored
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Characterization(Base):
    __tablename__ = "characterizations"
    __table_args__ = (
        UniqueConstraint("backend", "date"),
        Index("ix_characterizations_backend_date", "backend", "date"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    backend: Mapped[str] = mapped_column(String(64))
    date: Mapped[date] = mapped_column(Date)
    qubits: Mapped[int] = mapped_column(Integer)
    fidelity_1q: Mapped[float] = mapped_column(Float)
    fidelity_2q: Mapped[float] = mapped_column(Float)
    fidelity_spam: Mapped[float] = mapped_column(Float)
    #: timings in seconds: t1, t2, 1q, 2q, readout, reset
    timing: Mapped[dict[str, float]] = mapped_column(JSON)


class Job(Base):
    """A job; also the queue (design.md steps 4–7).

    A single-circuit job and each child of a multi-circuit job is a *leaf* that workers run; a
    multi-circuit parent is an aggregate whose status follows its children.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("project_id", "idempotency_key"),
        Index("ix_jobs_queue", "status", "is_parent", "priority", "id"),
        Index("ix_jobs_project_listing", "project_id", "submitter_id", "id"),
        # covers the metrics' count of top-level jobs by status and backend
        Index("ix_jobs_census", "parent_id", "deleted_at", "status", "backend"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    submitter_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    key_id: Mapped[str] = mapped_column(String(36))
    parent_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    circuit_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    type: Mapped[str] = mapped_column(String(64))
    backend: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    is_parent: Mapped[bool] = mapped_column(Boolean, default=False)
    #: queue order: lower first (session jobs 0, others 1), then id (UUIDv7 = submission order)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    #: stored as JSON text (not JSONB) so it is echoed byte for byte
    job_metadata: Mapped[dict[str, str] | None] = mapped_column("metadata", JSON, nullable=True)
    shots: Mapped[int | None] = mapped_column(Integer, nullable=True)
    noise: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)
    settings: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    #: the job's circuit input (leaf) or whole input (parent), as submitted
    input: Mapped[dict[str, object]] = mapped_column(JSON)
    child_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    stats: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    output: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    failure: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    has_results: Mapped[bool] = mapped_column(Boolean, default=False)
    sampled: Mapped[bool] = mapped_column(Boolean, default=False)
    predicted_execution_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    execution_duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    estimated_cost: Mapped[float] = mapped_column(Float, default=0.0)
    cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # --- lease (queue) ---
    worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class JobResult(Base):
    """What a leaf job produced: kept apart from the job row, which listings read often."""

    __tablename__ = "job_results"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    #: outcome (decimal string, little-endian) → probability
    probabilities: Mapped[dict[str, float]] = mapped_column(JSON)
    histogram: Mapped[dict[str, int] | None] = mapped_column(JSON, nullable=True)
    #: per-shot outcomes, in execution order, as decimal strings
    shots: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    #: debiasing variants: [{variant_id, qubit_map, shots, probabilities, histogram, samples}]
    variants: Mapped[list[dict[str, object]] | None] = mapped_column(JSON, nullable=True)
    #: ionq.qasm3.v1 jobs: ``{"registers": [[name, size], …], "shots": [record, …]}``, each
    #: record the decimal string of the shot's classical bits, registers concatenated in that
    #: order (register r's bit i at offset(r) + i, little-endian); ``output_all`` is last
    records: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)


# --- cost, budgets and sessions (issue 6; semantics.md §6, §7) ------------------------------


class RateCard(Base):
    """An operator's rate card for one backend; backends without a row use the defaults
    of ``ionstack.service.billing`` (semantics.md §6.1)."""

    __tablename__ = "rate_cards"

    backend: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: changes on every edit, so an estimate names the card it priced with
    id: Mapped[str] = mapped_column(String(36))
    unit: Mapped[str] = mapped_column(String(16))  # "gates" | "compute_second"
    cost_1q_gate: Mapped[float] = mapped_column(Float)
    cost_2q_gate: Mapped[float] = mapped_column(Float)
    job_cost_minimum: Mapped[float] = mapped_column(Float)
    job_cost_minimum_em: Mapped[float] = mapped_column(Float)
    #: USD per second of quantum compute time (unit "compute_second")
    unit_cost: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Budget(Base):
    """A spending limit: a project's budget or an organization's credit, in USD.

    No row means unlimited. ``amount`` is the total allowed over the subject's lifetime: what
    its completed jobs were charged plus what its queued jobs reserve may not exceed it.
    """

    __tablename__ = "budgets"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)  # "project" | "organization"
    subject_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    amount: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JobSession(Base):
    """A session (semantics.md §7): jobs on one backend, with optional limits."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_project", "project_id", "id"),
        Index("ix_sessions_expiry", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    creator_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    backend: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # created | started | ended
    job_count_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_limit_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cost_limit: Mapped[float | None] = mapped_column(Float, nullable=True)
    cost_limit_unit: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ender_id: Mapped[str | None] = mapped_column(String(24), nullable=True)
    #: why it ended: "user", "job_count_limit", "cost_limit" or "duration_limit"
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
