"""The user's HTTP client: the ``ionstack submit|jobs|backends`` commands, which talk HTTP to a
server (ionstack or IonQ Cloud) with only the v0.4 API and an ``Authorization: apiKey`` header.

- :mod:`.cli` — the typer commands (mounted on the ``ionstack`` command by ``ionstack.cli``).
- :mod:`.remote` — the small HTTP client of the v0.4 API and the job payloads it builds.
- :mod:`.display` — how jobs, results and backends are shown in a terminal (rich).

It imports nothing of the server side (no FastAPI, SQLAlchemy or quantum core) but the one
exception root in ``ionstack.errors``, so ``ionstack submit`` starts fast; a test holds it to that.
"""
