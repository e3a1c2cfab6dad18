from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ionstack import ids
from ionstack.errors import Conflict, NotFound, Unauthorized
from ionstack.service import accounts
from ionstack.store.database import transaction
from ionstack.store.tables import ApiKey


def test_bootstrap_creates_org_project_owner_and_key_once(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions, write=True) as db:
        made = accounts.bootstrap(db, key=None)
    assert made is not None
    assert made.owner.role == "owner"
    assert made.key.key.startswith(ids.KEY_PREFIX)
    with transaction(sessions, write=True) as db:
        assert accounts.bootstrap(db, key=None) is None  # already has accounts
        caller = accounts.authenticate(db, f"apiKey {made.key.key}")
    assert caller.project_id == made.project.id
    assert caller.organization_id == made.organization.id
    assert caller.is_owner


def test_bootstrap_with_a_fixed_key(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions, write=True) as db:
        made = accounts.bootstrap(db, key="my-fixed-bootstrap-key")
    assert made is not None and made.key.key == "my-fixed-bootstrap-key"
    with transaction(sessions) as db:
        assert accounts.authenticate(db, "apiKey my-fixed-bootstrap-key").key_name == "bootstrap"


def test_only_the_hash_and_a_prefix_are_stored(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions, write=True) as db:
        made = accounts.bootstrap(db, key=None)
    assert made is not None
    with transaction(sessions) as db:
        row = db.scalars(select(ApiKey)).one()
        stored = [str(getattr(row, c.key)) for c in ApiKey.__table__.columns]
    assert all(made.key.key not in value for value in stored)
    assert row.key_hash == ids.hash_key(made.key.key)
    assert made.key.key.startswith(row.prefix)


@pytest.mark.parametrize(
    "header",
    [None, "", "apiKey", "apiKey ", "Bearer abc", "apiKey wrong-key", "apikey-nospace"],
    ids=["missing", "empty", "scheme-only", "scheme-blank", "bearer", "unknown", "malformed"],
)
def test_bad_credentials_are_unauthorized(
    sessions: sessionmaker[Session], header: str | None
) -> None:
    with transaction(sessions, write=True) as db:
        accounts.bootstrap(db, key="the-real-key")
    with transaction(sessions) as db, pytest.raises(Unauthorized):
        accounts.authenticate(db, header)


def test_revoked_key_fails_at_once_and_others_keep_working(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions, write=True) as db:
        made = accounts.bootstrap(db, key=None)
        assert made is not None
        second = accounts.create_key(db, project=made.project, user=made.owner, name="second")
    with transaction(sessions, write=True) as db:
        accounts.revoke_key(db, second.prefix)
    with transaction(sessions) as db:
        with pytest.raises(Unauthorized):
            accounts.authenticate(db, f"apiKey {second.key}")
        assert accounts.authenticate(db, f"apiKey {made.key.key}").key_id == made.key.id


def test_users_projects_and_conflicts(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions, write=True) as db:
        made = accounts.bootstrap(db, key=None)
        assert made is not None
        org = made.organization.id
        alice = accounts.create_user(db, organization_id=org, email="alice@lab.example")
        lab = accounts.create_project(db, organization_id=org, name="lab")
        key = accounts.create_key(db, project=lab, user=alice, name="alice-lab")
    with pytest.raises(Conflict), transaction(sessions, write=True) as db:
        accounts.create_project(db, organization_id=org, name="lab")
    with pytest.raises(Conflict), transaction(sessions, write=True) as db:
        accounts.create_user(db, organization_id=org, email="alice@lab.example")
    with transaction(sessions) as db:
        caller = accounts.authenticate(db, f"apiKey {key.key}")
        assert caller.role == "user" and not caller.is_owner
        assert caller.project_id == lab.id
        with pytest.raises(NotFound):
            accounts.resolve_project(db, "nope", organization_id=org)
