"""The scale-out shape: processes starting together on one empty database, and the reference
deployment files in ``deploy/`` (parsed for sanity; Docker and systemd are not needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from ionstack.store.database import make_engine, make_sessionmaker, transaction
from ionstack.store.tables import ApiKey, Organization

KEY = "isk_deploy_test_key_0123456789abcdef"


def test_processes_starting_together_on_an_empty_database_bootstrap_once(
    database_url: str, tmp_path: Path
) -> None:
    # Replicas and workers of a fresh deployment all migrate and bootstrap at start; on
    # PostgreSQL they used to collide on the default organization and exit.
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONSTACK_")}
    env.update(
        IONSTACK_DATABASE_URL=database_url,
        IONSTACK_DATA_DIR=str(tmp_path),
        IONSTACK_BOOTSTRAP_KEY=KEY,
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ionstack", "orgs", "list", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = [(p.communicate(timeout=120)[1], p.returncode) for p in procs]
    assert [code for _, code in outcomes] == [0] * 4, outcomes
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with transaction(make_sessionmaker(engine)) as db:
            assert db.scalar(select(func.count()).select_from(Organization)) == 1
            assert db.scalar(select(func.count()).select_from(ApiKey)) == 1
    finally:
        engine.dispose()
