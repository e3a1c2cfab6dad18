"""What a running app holds: settings, the database and the services built on it."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ionstack.catalog import Catalog
from ionstack.errors import Conflict
from ionstack.service.accounts import bootstrap
from ionstack.service.backends import Backends
from ionstack.settings import Settings
from ionstack.store.database import make_engine, make_sessionmaker, migrate, transaction
from ionstack.store.wakeups import Completions, Wakeup, wakeup_for

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    backends: Backends
    wakeup: Wakeup
    #: releases held status polls when their jobs finish (started in the app's event loop)
    completions: Completions

    @classmethod
    def open(cls, settings: Settings) -> AppState:
        engine = make_engine(
            settings.effective_database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            sqlite_synchronous=settings.sqlite_synchronous,
        )
        sessions = make_sessionmaker(engine)
        if settings.auto_migrate:
            made = prepare_database(settings, engine=engine, sessions=sessions)
            if made is not None and settings.bootstrap_key is None:
                # Shown once, on the console, never through the logs.
                print(bootstrap_banner(made, settings), file=sys.stderr, flush=True)
        backends = Backends(
            catalog=Catalog(),
            sessions=sessions,
            history_days=settings.characterization_history_days,
        )
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            backends=backends,
            wakeup=wakeup_for(engine, listen=False),
            completions=Completions(engine),
        )

    def close(self) -> None:
        self.wakeup.close()
        self.engine.dispose()


def prepare_database(
    settings: Settings, *, engine: Engine, sessions: sessionmaker[Session]
) -> str | None:
    """Migrate, then bootstrap accounts on an empty database. Returns a newly made key."""
    migrate(engine)
    key = settings.bootstrap_key.get_secret_value() if settings.bootstrap_key else None
    try:
        with transaction(sessions, write=True) as db:
            made = bootstrap(db, key=key, qpu_access=settings.bootstrap_qpu_access)
    except Conflict:
        # Another process (a replica, a worker) bootstrapped this empty database at the same
        # moment: PostgreSQL's read-committed count saw no organization in both.
        return None
    if made is None:
        return None
    logger.info("bootstrap: created the default organization, project, owner and key")
    return made.key.key


def bootstrap_banner(key: str, settings: Settings) -> str:
    """The console message that shows a generated bootstrap key, once."""
    return (
        "\n  ionstack created the default organization and its owner's API key.\n"
        "  It is shown only now; store it safely:\n\n"
        f"      IONQ_API_KEY={key}\n\n"
        f'  Try: curl -H "Authorization: apiKey $IONQ_API_KEY" {settings.base_url}/v0.4/whoami\n'
    )
