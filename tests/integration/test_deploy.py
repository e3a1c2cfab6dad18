"""The scale-out shape: processes starting together on one empty database, and the reference
deployment files in ``deploy/`` (parsed for sanity; Docker and systemd are not needed)."""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from ionstack.settings import Settings
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


# --- the reference deployment files ---------------------------------------------------------

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    assert isinstance(command, list)
    return [str(part) for part in command]


def test_compose_file_describes_the_scale_out_shape() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    apis = [s for s in services.values() if "command" in s and _command(s)[0] == "serve"]
    assert len(apis) == 2
    for api in apis:
        assert _command(api) == ["serve", "--workers", "0"]
        env = api["environment"]
        assert env["IONSTACK_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["IONSTACK_RATE_LIMIT_STORAGE"].startswith("redis://")
        assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    worker = services["worker"]
    assert _command(worker)[0] == "worker"
    assert worker["deploy"]["replicas"] == 2
    assert (
        worker["environment"]["IONSTACK_DATABASE_URL"]
        == apis[0]["environment"]["IONSTACK_DATABASE_URL"]
    )
    assert _command(services["migrate"]) == ["migrate"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    lb = services["lb"]
    assert "./nginx.conf:/etc/nginx/conf.d/default.conf:ro" in lb["volumes"]
    assert set(lb["depends_on"]) == {name for name in services if services[name] in apis}
    for service in services.values():
        if "build" in service:
            assert service["build"]["dockerfile"] == "deploy/Dockerfile"
            assert (DEPLOY / service["build"]["context"] / "pyproject.toml").exists()


def test_nginx_balances_over_both_replicas_and_leaves_413_to_ionstack() -> None:
    conf = (DEPLOY / "nginx.conf").read_text()
    upstream = re.search(r"upstream ionstack_api \{(.*?)\}", conf, re.S)
    assert upstream is not None
    servers = re.findall(r"server (\S+?)(?::(\d+))?[ ;]", upstream.group(1))
    assert [host for host, _ in servers] == ["api-1", "api-2"]
    assert {port for _, port in servers} == {"8000"}
    size = re.search(r"client_max_body_size (\d+)m;", conf)
    assert size is not None and int(size.group(1)) * 1024 * 1024 > Settings().max_body_bytes
    assert "proxy_pass http://ionstack_api;" in conf


def test_dockerfile_runs_ionstack_as_a_plain_user() -> None:
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    assert 'ENTRYPOINT ["ionstack"]' in lines
    assert 'CMD ["serve", "--workers", "0"]' in lines
    assert any(line.startswith("USER ") and "root" not in line for line in lines)
    assert "/health" in "\n".join(lines)


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


def test_systemd_units_start_api_replicas_and_workers() -> None:
    api = _unit("ionstack-api@.service")
    worker = _unit("ionstack-worker@.service")
    api_args = api["Service"]["ExecStart"].split()
    worker_args = worker["Service"]["ExecStart"].split()
    assert api_args[0].endswith("/ionstack") and api_args[1] == "serve"
    assert api_args[api_args.index("--port") + 1] == "%i"
    assert api_args[api_args.index("--workers") + 1] == "0"
    assert worker_args[0].endswith("/ionstack") and worker_args[1] == "worker"
    for unit in (api, worker):
        assert unit["Service"]["EnvironmentFile"] == "/etc/ionstack/ionstack.env"
        assert unit["Service"]["User"] == "ionstack"
        assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert int(worker["Service"]["TimeoutStopSec"]) >= 30  # time to finish or release a job
    env = (DEPLOY / "systemd" / "ionstack.env.example").read_text()
    assert "IONSTACK_DATABASE_URL=postgresql+psycopg://" in env
