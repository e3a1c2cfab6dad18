"""test_qbraid.py, run from ``.venv-clients`` in qBraid's own venv ``.venv-clients/qbraid``.

qbraid needs pydantic 2 and the ``ionq`` SDK pydantic 1, so they cannot share a venv:
scripts/install-clients makes ``.venv-clients/qbraid`` from ``requirements-qbraid.txt``. This
runs ``test_qbraid.py`` there with pytest (it starts its own server, like this suite) and fails
with that run's report. conftest.py collects this file only where qbraid is not importable.
"""

from __future__ import annotations

import subprocess

import pytest

from conftest import REPO

HERE = REPO / "tests" / "acceptance"
QBRAID_PYTHON = REPO / ".venv-clients" / "qbraid" / "bin" / "python"


def test_qbraid_in_its_own_venv(pytestconfig: pytest.Config) -> None:
    assert QBRAID_PYTHON.exists(), f"no {QBRAID_PYTHON}: run scripts/install-clients"
    verbosity = ["-v"] if pytestconfig.get_verbosity() > 0 else ["-q"]
    command = [str(QBRAID_PYTHON), "-m", "pytest", "test_qbraid.py", "-p", "no:cacheprovider"]
    run = subprocess.run(
        [*command, *verbosity], cwd=HERE, capture_output=True, text=True, timeout=600
    )
    print(run.stdout)
    assert run.returncode == 0, f"{run.stdout[-12000:]}\n{run.stderr[-4000:]}"
