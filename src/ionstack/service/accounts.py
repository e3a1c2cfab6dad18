"""Accounts: organizations, users, projects and API keys (semantics.md §8.2).

A key is shown once, at creation; only its SHA-256 hash and a short non-secret prefix are
stored. A revoked key fails authentication at once. The first start on an empty database
creates a default organization, project and owner with one key (the bootstrap).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ionstack import ids
from ionstack.errors import BadRequest, Conflict, NotFound, Unauthorized
from ionstack.store import accounts as repo
from ionstack.store.tables import ApiKey, Organization, Project, ProjectMember, User

Role = Literal["owner", "user"]

DEFAULT_ORGANIZATION = "Default Organization"
DEFAULT_PROJECT = "Default Project"
DEFAULT_OWNER_EMAIL = "owner@localhost"


@dataclass(frozen=True, kw_only=True)
class Caller:
    """Who is calling: resolved from the API key on every authenticated request."""

    key_id: str
    key_name: str
    project_id: str
    user_id: str
    organization_id: str
    role: Role
    qpu_access: bool

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


@dataclass(frozen=True, kw_only=True)
class CreatedKey:
    """A new key: the only time the secret exists outside the caller's hands."""

    id: str
    name: str
    key: str
    prefix: str
    project_id: str
    project_name: str
    user_id: str


def now() -> datetime:
    return datetime.now(UTC)


def authenticate(db: Session, authorization: str | None) -> Caller:
    """Resolve an ``Authorization: apiKey KEY`` header, or raise :class:`Unauthorized`."""
    if not authorization:
        raise Unauthorized()
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "apikey" or not key:
        raise Unauthorized()
    found = repo.key_by_hash(db, ids.hash_key(key))
    if found is None:
        raise Unauthorized()
    if found.revoked:
        raise Unauthorized()
    return Caller(
        key_id=found.key_id,
        key_name=found.key_name,
        project_id=found.project_id,
        user_id=found.user_id,
        organization_id=found.organization_id,
        role="owner" if found.role == "owner" else "user",
        qpu_access=found.qpu_access,
    )


def create_organization(db: Session, *, name: str, qpu_access: bool = True) -> Organization:
    org = Organization(id=ids.uuid7(), name=name, qpu_access=qpu_access, created_at=now())
    db.add(org)
    _flush(db, f"organization {name!r} already exists")
    return org


def create_user(
    db: Session, *, organization_id: str, email: str, name: str | None = None, role: Role = "user"
) -> User:
    if role not in ("owner", "user"):
        raise BadRequest(f"role must be owner or user, not {role!r}", keys=["role"])
    user = User(
        id=ids.user_id(),
        organization_id=organization_id,
        email=email,
        name=name or email.split("@")[0],
        role=role,
        created_at=now(),
    )
    db.add(user)
    _flush(db, f"user {email!r} already exists")
    return user


def create_project(db: Session, *, organization_id: str, name: str) -> Project:
    project = Project(id=ids.uuid7(), organization_id=organization_id, name=name, created_at=now())
    db.add(project)
    _flush(db, f"project {name!r} already exists")
    return project


def add_member(db: Session, *, project_id: str, user_id: str) -> None:
    if not repo.is_member(db, project_id=project_id, user_id=user_id):
        db.add(ProjectMember(project_id=project_id, user_id=user_id))
        db.flush()


def create_key(
    db: Session, *, project: Project, user: User, name: str, key: str | None = None
) -> CreatedKey:
    """Create an API key for ``user`` in ``project``; ``key`` fixes the secret (bootstrap)."""
    if user.organization_id != project.organization_id:
        raise BadRequest("the user and the project belong to different organizations")
    secret = key or ids.new_api_key()
    add_member(db, project_id=project.id, user_id=user.id)
    row = ApiKey(
        id=str(ids.uuid7()),
        name=name,
        prefix=ids.shown_prefix(secret),
        key_hash=ids.hash_key(secret),
        project_id=project.id,
        user_id=user.id,
        created_at=now(),
    )
    db.add(row)
    _flush(db, "this key already exists")
    return CreatedKey(
        id=row.id,
        name=name,
        key=secret,
        prefix=row.prefix,
        project_id=project.id,
        project_name=project.name,
        user_id=user.id,
    )


def revoke_key(db: Session, ident: str) -> ApiKey:
    """Revoke a key by id or shown prefix. Revoking twice keeps the first time."""
    key = repo.key_by_id_or_prefix(db, ident)
    if key is None:
        raise NotFound(f"no API key {ident!r}")
    if key.revoked_at is None:
        key.revoked_at = now()
        db.flush()
    return key


@dataclass(frozen=True, kw_only=True)
class Bootstrap:
    organization: Organization
    project: Project
    owner: User
    key: CreatedKey


def bootstrap(db: Session, *, key: str | None, qpu_access: bool = True) -> Bootstrap | None:
    """On an empty database, create the default organization, project, owner and key.

    Returns None when accounts already exist (nothing is created). Run inside a write
    transaction so two processes starting together bootstrap once.
    """
    if repo.count_organizations(db) > 0:
        return None
    org = create_organization(db, name=DEFAULT_ORGANIZATION, qpu_access=qpu_access)
    owner = create_user(
        db, organization_id=org.id, email=DEFAULT_OWNER_EMAIL, name="owner", role="owner"
    )
    project = create_project(db, organization_id=org.id, name=DEFAULT_PROJECT)
    created = create_key(db, project=project, user=owner, name="bootstrap", key=key)
    return Bootstrap(organization=org, project=project, owner=owner, key=created)


def resolve_organization(db: Session, ident: str | None) -> Organization:
    org = repo.organization_by_name_or_id(db, ident) if ident else repo.default_organization(db)
    if org is None:
        raise NotFound(f"no organization {ident!r}" if ident else "no organization yet")
    return org


def resolve_project(db: Session, ident: str, *, organization_id: str) -> Project:
    project = repo.project_by_name_or_id(db, ident, organization_id=organization_id)
    if project is None:
        raise NotFound(f"no project {ident!r}")
    return project


def resolve_user(db: Session, ident: str | None, *, organization_id: str) -> User:
    user = repo.user_by_email_or_id(db, ident) if ident else repo.owner_of(db, organization_id)
    if user is None or user.organization_id != organization_id:
        raise NotFound(f"no user {ident!r} in this organization" if ident else "no owner")
    return user


def _flush(db: Session, conflict_message: str) -> None:
    """Flush, turning a uniqueness violation into :class:`Conflict` (the caller's transaction
    is then rolled back as a whole)."""
    try:
        db.flush()
    except IntegrityError as exc:
        raise Conflict(conflict_message) from exc
