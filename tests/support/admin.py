"""The operator's ``ionstack`` admin commands against a running server's database, in-process.

The same commands as ``support.server.cli`` (same code, same settings: the server's
``IONSTACK_*`` environment), without starting a Python process per command (about 2 s each).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from typer.testing import CliRunner

from ionstack.cli import app

from .server import Server


def admin(server: Server, *args: str) -> Any:
    """Run ``ionstack ARGS --json`` on the server's database; its parsed JSON output."""
    env = {k: v for k, v in server.env.items() if k.startswith("IONSTACK_")}
    done = CliRunner().invoke(app, [*args, "--json"], env=env, catch_exceptions=False)
    assert done.exit_code == 0, f"ionstack {' '.join(args)}: {done.output}"
    return json.loads(done.stdout)


@dataclass(frozen=True)
class Project:
    """The project of a fresh organization (so its usage and budgets are its own), and a
    client with its owner's key."""

    id: str
    organization_id: str
    client: httpx.Client

    def set_budget(self, server: Server, amount: str) -> None:
        """``ionstack projects set-budget``: an amount in USD, or ``unlimited``."""
        admin(server, "projects", "set-budget", self.id, amount, "--org", self.organization_id)

    def budget(self, server: Server) -> dict[str, Any]:
        """``ionstack projects budget``: limit, charged, reserved, remaining."""
        rows = admin(server, "projects", "budget", self.id, "--org", self.organization_id)
        assert isinstance(rows, list) and len(rows) == 1
        row: dict[str, Any] = rows[0]
        return row


@contextmanager
def new_project(server: Server, prefix: str = "p") -> Iterator[Project]:
    """A new organization (QPU access, its owner, its default project) and a key there."""
    tag = f"{prefix}-{uuid.uuid4().hex[:8]}"
    org = admin(server, "orgs", "create", tag, "--owner", f"{tag}@example.org")
    key = admin(
        server, "keys", "create", "--org", org["id"], "--project", org["project_id"], "--name", tag
    )
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"apiKey {key['key']}"}, timeout=60
    ) as client:
        yield Project(id=org["project_id"], organization_id=org["id"], client=client)
