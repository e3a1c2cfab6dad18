"""Spec conformance: schemathesis against a real server, every operation of the contract.

Positive and negative cases, checked for server errors and response-schema violations. The
contract is the spec with its known defects corrected, all listed in one place:
``tests/support/spec.py`` (``SPEC_DEFECTS``, semantics.md §10.1).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from support import spec
from support.server import BOOTSTRAP_KEY, Server

SERVER_WORKERS = 1
#: examples per operation and phase; the seed makes every run generate the same cases
MAX_EXAMPLES = 25
SEED = 20261125


def _schemathesis(contract: Path, server: Server, tmp_path: Path) -> None:
    """schemathesis on ``contract`` against the server: no server error, responses as specified."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            str(contract),
            "--url",
            server.url,
            "-H",
            f"Authorization: apiKey {BOOTSTRAP_KEY}",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--mode",
            "all",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,  # schemathesis keeps a cache directory in its working directory
    )
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]


def test_every_operation_conforms(server: Server, tmp_path: Path) -> None:
    contract = tmp_path / "contract.yml"
    contract.write_text(yaml.safe_dump(spec.spec(), sort_keys=False))
    _schemathesis(contract, server, tmp_path)


#: the operations IonQ's newer revision added (spec/CHANGES-2026-09.md), served beside the old
NEWER_OPERATIONS = ("CloneJob", "MoveJob", "GetJobArtifact", "GetFormatSchema")


def test_the_newer_revisions_operations_conform(server: Server, tmp_path: Path) -> None:
    newer = json.loads((spec.SPEC_PATH.parent / "ionq-openapi-v0.4-2026-09.json").read_text())
    newer["paths"] = {
        path: {
            method: op
            for method, op in item.items()
            if isinstance(op, dict) and op.get("operationId") in NEWER_OPERATIONS
        }
        for path, item in newer["paths"].items()
    }
    newer["paths"] = {path: item for path, item in newer["paths"].items() if item}
    assert sorted(
        op["operationId"] for item in newer["paths"].values() for op in item.values()
    ) == sorted(NEWER_OPERATIONS)
    contract = tmp_path / "newer.json"
    contract.write_text(json.dumps(newer))
    _schemathesis(contract, server, tmp_path)
