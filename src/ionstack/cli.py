"""The ``ionstack`` command: serve, migrate, and the operator's admin commands.

Admin commands read the same settings as the server (``IONSTACK_DATA_DIR``,
``IONSTACK_DATABASE_URL``, or the global ``--data-dir``/``--database-url`` options), so they
work against a running server's database. ``--json`` prints machine-readable output.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ionstack.client import cli as usercli
from ionstack.errors import IonstackError

if TYPE_CHECKING:  # slow to import, and the HTTP commands never need them
    from sqlalchemy.orm import Session

    from ionstack.settings import Settings

app = typer.Typer(
    help="ionstack: a self-hosted quantum cloud that speaks the IonQ API v0.4.",
    no_args_is_help=True,
    add_completion=False,
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
projects_app = typer.Typer(help="Create and list projects.", no_args_is_help=True)
users_app = typer.Typer(help="Create and list users.", no_args_is_help=True)
orgs_app = typer.Typer(help="Create and list organizations.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(projects_app, name="projects")
app.add_typer(users_app, name="users")
app.add_typer(orgs_app, name="orgs")
rates_app = typer.Typer(help="Show and change per-backend rate cards.", no_args_is_help=True)
app.add_typer(rates_app, name="rates")
chars_app = typer.Typer(
    help="List emulated QPUs' characterizations and import real ones.", no_args_is_help=True
)
app.add_typer(chars_app, name="characterizations")

out = Console()
err = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
OrgOption = Annotated[
    str | None, typer.Option("--org", help="Organization name or id (default: the first one).")
]


def _settings(ctx: typer.Context, **overrides: Any) -> Settings:
    base: dict[str, Any] = dict(ctx.obj or {})
    base.update({k: v for k, v in overrides.items() if v is not None})
    from ionstack.settings import Settings

    return Settings(**base)


@app.callback()
def _global(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory (IONSTACK_DATA_DIR).", show_default=False)
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Database URL (IONSTACK_DATABASE_URL).", show_default=False)
    ] = None,
) -> None:
    ctx.obj = {k: v for k, v in {"data_dir": data_dir, "database_url": database_url}.items() if v}


@contextmanager
def _db(ctx: typer.Context) -> Iterator[Session]:
    from ionstack.api.state import prepare_database
    from ionstack.store.database import make_engine, make_sessionmaker, transaction

    settings = _settings(ctx)
    engine = make_engine(settings.effective_database_url, pool_size=1, max_overflow=0)
    sessions = make_sessionmaker(engine)
    try:
        made = prepare_database(settings, engine=engine, sessions=sessions)
        if made is not None and settings.bootstrap_key is None:
            _show_bootstrap(made, settings)
        with transaction(sessions, write=True) as db:
            yield db
    except IonstackError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


def _show_bootstrap(key: str, settings: Settings) -> None:
    from ionstack.api.state import bootstrap_banner

    print(bootstrap_banner(key, settings), file=sys.stderr, flush=True)


def _emit(rows: list[dict[str, Any]], *, as_json: bool, title: str) -> None:
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=title)
    for column in rows[0].keys() if rows else ["(none)"]:
        table.add_column(column)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row.values()])
    out.print(table)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address [127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [8000].")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory.")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: one per core; 0 = API only).")
    ] = None,
) -> None:
    """Start the API server (migrating the database and creating the first key if needed)."""
    import uvicorn

    from ionstack.api.state import prepare_database
    from ionstack.app import create_app
    from ionstack.logs import configure_logging
    from ionstack.metrics import multiprocess_directory
    from ionstack.runtime.supervisor import WorkerPool
    from ionstack.store.database import make_engine, make_sessionmaker

    settings = _settings(ctx, host=host, port=port, data_dir=data_dir, workers=workers)
    configure_logging(level=settings.log_level, as_json=settings.log_json)
    engine = make_engine(settings.effective_database_url, pool_size=1, max_overflow=0)
    made = prepare_database(settings, engine=engine, sessions=make_sessionmaker(engine))
    engine.dispose()
    if made is not None and settings.bootstrap_key is None:
        _show_bootstrap(made, settings)
    # one metrics directory for this server and the workers it starts (ionstack/metrics.py)
    with multiprocess_directory():
        pool = WorkerPool(settings, count=settings.effective_workers)
        pool.start()
        print(
            f"ionstack serving {settings.base_url}/v0.4 with {pool.count} worker process(es) "
            f"(docs {settings.base_url}/docs, database {_redact(settings.effective_database_url)})",
            file=sys.stderr,
            flush=True,
        )
        # uvicorn re-raises SIGTERM once it has shut down; with the default handler that would
        # kill this process before the pool below stops its workers. Exit cleanly instead.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        try:
            uvicorn.run(
                create_app(settings),
                host=settings.host,
                port=settings.port,
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=10,
            )
        finally:
            pool.stop()


@app.command()
def worker(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs run at once in this process.")] = 1,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1, max=65535, help="Serve this worker's /metrics on IONSTACK_HOST at this port."
        ),
    ] = None,
) -> None:
    """Run jobs from the queue (standalone, against the same database as the API)."""
    from ionstack.logs import configure_logging
    from ionstack.runtime.worker import run_worker_process

    settings = _settings(ctx)
    configure_logging(level=settings.log_level, as_json=settings.log_json)
    run_worker_process(settings, concurrency=concurrency, metrics_port=metrics_port)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def migrate(ctx: typer.Context) -> None:
    """Apply database migrations (also done automatically at start)."""
    from ionstack.store.database import current_revision, make_engine
    from ionstack.store.database import migrate as run_migrations

    settings = _settings(ctx)
    engine = make_engine(settings.effective_database_url, pool_size=1, max_overflow=0)
    run_migrations(engine)
    err.print(f"database at revision {current_revision(engine)}")
    engine.dispose()


# --- keys --------------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    project: Annotated[str | None, typer.Option(help="Project name or id.")] = None,
    user: Annotated[str | None, typer.Option(help="User email or id (default: the owner).")] = None,
    name: Annotated[str, typer.Option(help="A name for the key.")] = "cli",
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an API key; the key is printed on stdout, once."""
    from ionstack.service import accounts

    with _db(ctx) as db:
        organization = accounts.resolve_organization(db, org)
        the_project = accounts.resolve_project(
            db, project or accounts.DEFAULT_PROJECT, organization_id=organization.id
        )
        the_user = accounts.resolve_user(db, user, organization_id=organization.id)
        made = accounts.create_key(db, project=the_project, user=the_user, name=name)
    if as_json:
        print(
            json.dumps(
                {
                    "id": made.id,
                    "name": made.name,
                    "key": made.key,
                    "prefix": made.prefix,
                    "project_id": made.project_id,
                    "project": made.project_name,
                    "user_id": made.user_id,
                }
            )
        )
    else:
        print(made.key)


@keys_app.command("list")
def keys_list(
    ctx: typer.Context,
    project: Annotated[str | None, typer.Option(help="Only this project.")] = None,
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List API keys (never the secrets: only their prefixes)."""
    from ionstack.service import accounts
    from ionstack.store import accounts as repo

    with _db(ctx) as db:
        project_id = None
        if project:
            organization = accounts.resolve_organization(db, org)
            project_id = accounts.resolve_project(db, project, organization_id=organization.id).id
        rows = [
            {
                "id": k.id,
                "name": k.name,
                "prefix": k.prefix,
                "project": p.name,
                "user": u.email,
                "created_at": k.created_at.isoformat(),
                "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            }
            for k, p, u in repo.list_keys(db, project_id=project_id)
        ]
    _emit(rows, as_json=as_json, title="API keys")


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Key id or prefix.")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a key: requests with it get 401 at once."""
    from ionstack.service import accounts

    with _db(ctx) as db:
        row = accounts.revoke_key(db, key)
        result = {
            "id": row.id,
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        }
    if as_json:
        print(json.dumps(result))
    else:
        err.print(f"revoked key {result['id']}")


# --- projects ----------------------------------------------------------------------------------


@projects_app.command("create")
def projects_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name (unique in its organization).")],
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a project."""
    from ionstack.service import accounts

    with _db(ctx) as db:
        organization = accounts.resolve_organization(db, org)
        project = accounts.create_project(db, organization_id=organization.id, name=name)
        result = {"id": project.id, "name": project.name, "organization_id": organization.id}
    print(json.dumps(result) if as_json else project.id)


@projects_app.command("list")
def projects_list(ctx: typer.Context, org: OrgOption = None, as_json: JsonFlag = False) -> None:
    """List projects."""
    from ionstack.service import accounts
    from ionstack.store import accounts as repo

    with _db(ctx) as db:
        organization_id = accounts.resolve_organization(db, org).id if org else None
        rows = [
            {"id": p.id, "name": p.name, "organization_id": p.organization_id}
            for p in repo.list_projects(db, organization_id=organization_id)
        ]
    _emit(rows, as_json=as_json, title="Projects")


# --- users -------------------------------------------------------------------------------------


@users_app.command("create")
def users_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's email (unique).")],
    role: Annotated[str, typer.Option(help="owner or user.")] = "user",
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    project: Annotated[list[str] | None, typer.Option(help="Add to this project (repeat).")] = None,
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a user in an organization."""
    from ionstack.service import accounts

    with _db(ctx) as db:
        organization = accounts.resolve_organization(db, org)
        if role not in ("owner", "user"):
            err.print("[red]error:[/red] --role must be owner or user")
            raise typer.Exit(2)
        user = accounts.create_user(
            db,
            organization_id=organization.id,
            email=email,
            name=name,
            role="owner" if role == "owner" else "user",
        )
        for ident in project or []:
            the_project = accounts.resolve_project(db, ident, organization_id=organization.id)
            accounts.add_member(db, project_id=the_project.id, user_id=user.id)
        result = {"id": user.id, "email": user.email, "role": user.role}
    print(json.dumps(result) if as_json else user.id)


@users_app.command("list")
def users_list(ctx: typer.Context, org: OrgOption = None, as_json: JsonFlag = False) -> None:
    """List users."""
    from ionstack.service import accounts
    from ionstack.store import accounts as repo

    with _db(ctx) as db:
        organization_id = accounts.resolve_organization(db, org).id if org else None
        rows = [
            {
                "id": u.id,
                "email": u.email,
                "name": u.name,
                "role": u.role,
                "organization_id": u.organization_id,
            }
            for u in repo.list_users(db, organization_id=organization_id)
        ]
    _emit(rows, as_json=as_json, title="Users")


# --- organizations -----------------------------------------------------------------------------


@orgs_app.command("create")
def orgs_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Organization name (unique).")],
    owner: Annotated[str, typer.Option(help="Email of its owner (created).")],
    qpu_access: Annotated[bool, typer.Option(help="May submit to QPUs.")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Create an organization with its owner and a default project."""
    from ionstack.service import accounts

    with _db(ctx) as db:
        org = accounts.create_organization(db, name=name, qpu_access=qpu_access)
        user = accounts.create_user(db, organization_id=org.id, email=owner, role="owner")
        project = accounts.create_project(db, organization_id=org.id, name=accounts.DEFAULT_PROJECT)
        accounts.add_member(db, project_id=project.id, user_id=user.id)
        result = {"id": org.id, "name": org.name, "owner_id": user.id, "project_id": project.id}
    print(json.dumps(result) if as_json else org.id)


@orgs_app.command("list")
def orgs_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List organizations."""
    from ionstack.store import accounts as repo

    with _db(ctx) as db:
        rows = [
            {"id": o.id, "name": o.name, "qpu_access": o.qpu_access}
            for o in repo.list_organizations(db)
        ]
    _emit(rows, as_json=as_json, title="Organizations")


# --- cost: rate cards, project budgets, organization credit (service/billing.py) ------------

Limit = Annotated[str, typer.Argument(help="An amount in USD, or 'unlimited'.")]


def _limit(value: str) -> float | None:
    if value.strip().lower() in ("unlimited", "none"):
        return None
    try:
        return float(value)
    except ValueError:
        err.print(f"[red]error:[/red] {value!r} is neither a number nor 'unlimited'")
        raise typer.Exit(2) from None


def _rates_row(r: Any) -> dict[str, Any]:
    return {
        "backend": r.backend,
        "id": r.id,
        "unit": r.unit,
        "cost_1q_gate": r.cost_1q_gate,
        "cost_2q_gate": r.cost_2q_gate,
        "job_cost_minimum": r.job_cost_minimum,
        "job_cost_minimum_em": r.job_cost_minimum_em,
        "unit_cost": r.unit_cost,
        "source": "operator" if r.custom else "default",
    }


@rates_app.command("list")
def rates_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The rate card in force for every backend (USD)."""
    from ionstack.catalog import Catalog
    from ionstack.service import billing

    with _db(ctx) as db:
        rows = [_rates_row(r) for r in billing.all_rates(db, Catalog())]
    _emit(rows, as_json=as_json, title="Rate cards")


@rates_app.command("set")
def rates_set(
    ctx: typer.Context,
    backend: Annotated[str, typer.Argument(help="Backend, e.g. qpu.aria-1.")],
    unit: Annotated[str | None, typer.Option(help="gates or compute_second.")] = None,
    cost_1q_gate: Annotated[float | None, typer.Option(help="USD per 1q gate-shot.")] = None,
    cost_2q_gate: Annotated[float | None, typer.Option(help="USD per 2q gate-shot.")] = None,
    minimum: Annotated[float | None, typer.Option(help="Minimum per job (USD).")] = None,
    minimum_em: Annotated[
        float | None, typer.Option(help="Minimum per job with error mitigation (USD).")
    ] = None,
    unit_cost: Annotated[
        float | None, typer.Option(help="USD per QCT second (compute_second cards).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change a backend's rate card (options not given keep their values)."""
    from ionstack.catalog import Catalog
    from ionstack.service import accounts, billing

    with _db(ctx) as db:
        rates = billing.set_rates(
            db,
            Catalog(),
            backend,
            now=accounts.now(),
            unit=unit,
            cost_1q_gate=cost_1q_gate,
            cost_2q_gate=cost_2q_gate,
            job_cost_minimum=minimum,
            job_cost_minimum_em=minimum_em,
            unit_cost=unit_cost,
        )
        row = _rates_row(rates)
    _emit([row], as_json=as_json, title="Rate card")


@rates_app.command("reset")
def rates_reset(
    ctx: typer.Context,
    backend: Annotated[str, typer.Argument(help="Backend, e.g. qpu.aria-1.")],
    as_json: JsonFlag = False,
) -> None:
    """Go back to the built-in rate card of a backend."""
    from ionstack.catalog import Catalog
    from ionstack.service import billing

    with _db(ctx) as db:
        row = _rates_row(billing.reset_rates(db, Catalog(), backend))
    _emit([row], as_json=as_json, title="Rate card")


def _char_row(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "backend": r.backend,
        "date": r.date.isoformat(),
        "1q": r.fidelity_1q,
        "2q": r.fidelity_2q,
        "spam": r.fidelity_spam,
        "t1": r.timing["t1"],
        "t2": r.timing["t2"],
    }


@chars_app.command("list")
def characterizations_list(
    ctx: typer.Context,
    backend: Annotated[str, typer.Argument(help="Backend, e.g. qpu.forte-1.")],
    limit: Annotated[int, typer.Option(min=1, help="Newest first, at most this many.")] = 10,
    as_json: JsonFlag = False,
) -> None:
    """A backend's stored characterizations, newest first."""
    from ionstack.store import characterizations as repo

    with _db(ctx) as db:
        rows, _ = repo.page(db, backend=backend, start=None, end=None, limit=limit, page_number=1)
        found = [_char_row(r) for r in rows]
    _emit(found, as_json=as_json, title=f"Characterizations of {backend}")


@chars_app.command("import")
def characterizations_import(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(
            help="JSON files, each one characterization or a list (IonQ's v0.4 or v0.3 shape).",
            exists=True,
            dir_okay=False,
        ),
    ],
    backend: Annotated[
        str | None, typer.Option(help="The backend, when the files do not name it.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Store real characterizations in place of the emulated ones of their dates: emulated
    jobs submitted from each date on run under its device model. All or nothing."""
    from ionstack.catalog import Catalog
    from ionstack.errors import BadRequest
    from ionstack.service import accounts
    from ionstack.service.characterizations import import_characterization

    bodies: list[tuple[str, object]] = []
    for path in files:
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            err.print(f"[red]error:[/red] {path.name}: not JSON ({exc})")
            raise typer.Exit(1) from None
        items = loaded if isinstance(loaded, list) else [loaded]
        bodies += [
            (f"{path.name}[{i}]" if len(items) > 1 else path.name, b) for i, b in enumerate(items)
        ]
    rows = []
    with _db(ctx) as db:
        catalog, today = Catalog(), accounts.now().date()
        days = _settings(ctx).characterization_history_days
        for label, body in bodies:
            try:
                done = import_characterization(
                    db, catalog, body, today=today, history_days=days, backend=backend
                )
            except BadRequest as exc:
                raise BadRequest(f"{label}: {exc.message}") from None
            rows.append(
                {
                    "id": done.id,
                    "backend": done.backend,
                    "date": done.date.isoformat(),
                    "replaced": done.replaced,
                }
            )
    _emit(rows, as_json=as_json, title="Imported characterizations")


def _balance_row(name: str, ident: str, balance: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "name": name,
        "limit": "unlimited" if balance.limit is None else round(balance.limit, 6),
        "charged": round(balance.charged, 6),
        "reserved": round(balance.reserved, 6),
        "remaining": "unlimited" if balance.remaining is None else round(balance.remaining, 6),
    }


@projects_app.command("set-budget")
def projects_set_budget(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    amount: Limit,
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Cap what a project's jobs may cost in total (charged + reserved), or lift the cap."""
    from ionstack.service import accounts, billing

    with _db(ctx) as db:
        organization = accounts.resolve_organization(db, org)
        the_project = accounts.resolve_project(db, project, organization_id=organization.id)
        billing.set_project_budget(db, the_project.id, _limit(amount), now=accounts.now())
        row = _balance_row(
            the_project.name, the_project.id, billing.project_balance(db, the_project.id)
        )
    _emit([row], as_json=as_json, title="Project budget")


@projects_app.command("budget")
def projects_budget(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Show a project's budget: limit, charged, reserved, remaining."""
    from ionstack.service import accounts, billing

    with _db(ctx) as db:
        organization = accounts.resolve_organization(db, org)
        the_project = accounts.resolve_project(db, project, organization_id=organization.id)
        row = _balance_row(
            the_project.name, the_project.id, billing.project_balance(db, the_project.id)
        )
    _emit([row], as_json=as_json, title="Project budget")


@orgs_app.command("set-balance")
def orgs_set_balance(
    ctx: typer.Context,
    amount: Limit,
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Set an organization's remaining credit balance (USD), or make it unlimited."""
    from ionstack.service import accounts, billing

    with _db(ctx) as db:
        organization = accounts.resolve_organization(db, org)
        billing.set_organization_credit(db, organization.id, _limit(amount), now=accounts.now())
        row = _balance_row(
            organization.name, organization.id, billing.organization_balance(db, organization.id)
        )
    _emit([row], as_json=as_json, title="Organization balance")


@orgs_app.command("add-credit")
def orgs_add_credit(
    ctx: typer.Context,
    amount: Annotated[float, typer.Argument(help="USD to add to the balance.")],
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Add credit to an organization's (limited) balance."""
    from ionstack.service import accounts, billing

    with _db(ctx) as db:
        organization = accounts.resolve_organization(db, org)
        billing.add_organization_credit(db, organization.id, amount, now=accounts.now())
        row = _balance_row(
            organization.name, organization.id, billing.organization_balance(db, organization.id)
        )
    _emit([row], as_json=as_json, title="Organization balance")


@orgs_app.command("balance")
def orgs_balance(ctx: typer.Context, org: OrgOption = None, as_json: JsonFlag = False) -> None:
    """Show an organization's credit: limit, charged, reserved, remaining."""
    from ionstack.service import accounts, billing

    with _db(ctx) as db:
        organization = accounts.resolve_organization(db, org)
        row = _balance_row(
            organization.name, organization.id, billing.organization_balance(db, organization.id)
        )
    _emit([row], as_json=as_json, title="Organization balance")


usercli.register(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
