"""Queries over organizations, users, projects and API keys."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from ionstack.store.prepared import Prepared
from ionstack.store.tables import ApiKey, Organization, Project, ProjectMember, User


def count_organizations(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Organization)) or 0


@dataclass(frozen=True, slots=True)
class KeyOwner:
    """What authentication needs of a key, its user, project and organization (one row)."""

    key_id: str
    key_name: str
    revoked: bool
    project_id: str
    user_id: str
    role: str
    organization_id: str
    qpu_access: bool


_KEY_OWNER = (
    select(
        ApiKey.id,
        ApiKey.name,
        ApiKey.revoked_at,
        Project.id,
        User.id,
        User.role,
        Organization.id,
        Organization.qpu_access,
    )
    .join(Project, Project.id == ApiKey.project_id)
    .join(User, User.id == ApiKey.user_id)
    .join(Organization, Organization.id == Project.organization_id)
)
_KEY_OWNER_BY_HASH = Prepared(_KEY_OWNER.where(ApiKey.key_hash == bindparam("key_hash")))


def key_by_hash(db: Session, key_hash: str) -> KeyOwner | None:
    """The key with this hash and its owners, as plain values (no ORM objects: this runs on
    every request)."""
    row = _KEY_OWNER_BY_HASH.first(db, key_hash=key_hash)
    if row is None:
        return None
    key_id, name, revoked_at, project_id, user_id, role, org_id, qpu_access = row
    return KeyOwner(
        key_id=key_id,
        key_name=name,
        revoked=revoked_at is not None,
        project_id=project_id,
        user_id=user_id,
        role=role,
        organization_id=org_id,
        qpu_access=bool(qpu_access),
    )


def key_by_id_or_prefix(db: Session, ident: str) -> ApiKey | None:
    by_id = db.get(ApiKey, ident)
    if by_id is not None:
        return by_id
    found = db.scalars(select(ApiKey).where(ApiKey.prefix == ident)).all()
    return found[0] if len(found) == 1 else None


def list_keys(db: Session, *, project_id: str | None = None) -> list[tuple[ApiKey, Project, User]]:
    query = (
        select(ApiKey, Project, User)
        .join(Project, Project.id == ApiKey.project_id)
        .join(User, User.id == ApiKey.user_id)
        .order_by(ApiKey.created_at, ApiKey.id)
    )
    if project_id is not None:
        query = query.where(ApiKey.project_id == project_id)
    return [(r[0], r[1], r[2]) for r in db.execute(query).all()]


def default_organization(db: Session) -> Organization | None:
    return db.scalars(select(Organization).order_by(Organization.created_at).limit(1)).first()


def organization_by_name_or_id(db: Session, ident: str) -> Organization | None:
    return (
        db.get(Organization, ident)
        or db.scalars(select(Organization).where(Organization.name == ident)).first()
    )


def project_by_name_or_id(db: Session, ident: str, *, organization_id: str) -> Project | None:
    found = db.get(Project, ident)
    if found is not None and found.organization_id == organization_id:
        return found
    return db.scalars(
        select(Project).where(Project.organization_id == organization_id, Project.name == ident)
    ).first()


def list_projects(db: Session, *, organization_id: str | None = None) -> list[Project]:
    query = select(Project).order_by(Project.created_at, Project.name)
    if organization_id is not None:
        query = query.where(Project.organization_id == organization_id)
    return list(db.scalars(query).all())


def user_by_email_or_id(db: Session, ident: str) -> User | None:
    return db.get(User, ident) or db.scalars(select(User).where(User.email == ident)).first()


def list_users(db: Session, *, organization_id: str | None = None) -> list[User]:
    query = select(User).order_by(User.created_at, User.email)
    if organization_id is not None:
        query = query.where(User.organization_id == organization_id)
    return list(db.scalars(query).all())


def owner_of(db: Session, organization_id: str) -> User | None:
    return db.scalars(
        select(User)
        .where(User.organization_id == organization_id, User.role == "owner")
        .order_by(User.created_at)
        .limit(1)
    ).first()


def is_member(db: Session, *, project_id: str, user_id: str) -> bool:
    return db.get(ProjectMember, (project_id, user_id)) is not None


def list_organizations(db: Session) -> list[Organization]:
    return list(db.scalars(select(Organization).order_by(Organization.created_at)).all())
