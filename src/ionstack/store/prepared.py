"""Hot statements: a Core statement compiled once per dialect and run on the DBAPI cursor.

SQLAlchemy's execution path costs about 180 µs of Python per statement on this project's
machines (cache key, execution context, result object) — far more than SQLite's own work for a
primary-key lookup (about 10 µs). The few statements that every request runs (the API key and
its owners, the job, its result row, the rate card; bench/README.md "Request path") go through
:class:`Prepared` instead: the statement is still written once, in SQLAlchemy Core; it is
compiled for the session's dialect on first use and executed on the session's own DBAPI
connection — inside the session's transaction — with each bound value through its type's bind
processor and each column through its result processor (timestamps, booleans, JSON), so the
values are those the ORM would give (tests/store/test_prepared.py holds them equal, column by
column, on SQLite and PostgreSQL); a driver's error is raised as SQLAlchemy raises it
(``IntegrityError`` for a duplicate key, …), so callers catch the same exceptions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import Compiled

Processor = Callable[[Any], Any] | None


@dataclass
class _Form:
    """The statement compiled for one dialect."""

    sql: str
    positional: tuple[str, ...] | None  #: bind names in order (qmark, format), or None (named)
    binds: dict[str, Processor]
    types: tuple[Any, ...]  #: the selected columns' SQLAlchemy types
    #: each column's result processor, made on the first execution (some dialects need the
    #: cursor's own type code for it, e.g. psycopg's numerics)
    columns: tuple[Processor, ...] | None = None


class Prepared:
    """A Core SELECT (or INSERT) run on the DBAPI connection; see the module's docstring."""

    def __init__(self, statement: Executable) -> None:
        self._statement = statement
        self._forms: dict[str, _Form] = {}
        self._lock = threading.Lock()

    def _form(self, dialect: Dialect) -> _Form:
        form = self._forms.get(dialect.name)
        if form is None:
            with self._lock:
                form = self._forms.get(dialect.name) or _compile(self._statement, dialect)
                self._forms[dialect.name] = form
        return form

    def rows(self, db: Session, **params: Any) -> list[tuple[Any, ...]]:
        """All rows, each value through its column's result processor."""
        connection = db.connection()  # begins the session's transaction if it has not
        dialect = connection.dialect
        form = self._form(dialect)
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        arguments = _arguments(form, params)
        try:
            try:
                cursor.execute(form.sql, arguments)
            except dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy raises it: IntegrityError, …
                raise DBAPIError.instance(
                    form.sql, arguments, exc, dialect.loaded_dbapi.Error, dialect=dialect
                ) from exc
            if not form.types:
                return []
            fetched = cursor.fetchall()
            processors = form.columns
            if processors is None:
                processors = form.columns = _processors(form.types, cursor.description, dialect)
        finally:
            cursor.close()
        if not any(processors):
            return [tuple(row) for row in fetched]
        return [
            tuple(p(v) if p is not None else v for p, v in zip(processors, row, strict=True))
            for row in fetched
        ]

    def first(self, db: Session, **params: Any) -> tuple[Any, ...] | None:
        found = self.rows(db, **params)
        return found[0] if found else None


def mapped_columns(entity: type[Any]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """The attribute names of a mapped class and their columns, in the same order (an
    attribute may be named apart from its column, e.g. ``meta`` for ``metadata``)."""
    attributes = inspect(entity).column_attrs
    return tuple(a.key for a in attributes), tuple(a.columns[0] for a in attributes)


def _arguments(form: _Form, params: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
    values = {
        name: (processor(params[name]) if processor is not None else params[name])
        for name, processor in form.binds.items()
    }
    if form.positional is None:
        return values
    return tuple(values[name] for name in form.positional)


def _compile(statement: Executable, dialect: Dialect) -> _Form:
    compiled: Compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    binds = getattr(compiled, "binds", {})
    bind_processors: dict[str, Processor] = {
        name: bind.type.dialect_impl(dialect).bind_processor(dialect)
        for name, bind in binds.items()
    }
    positional = getattr(compiled, "positiontup", None)
    selected = getattr(statement, "selected_columns", ())
    return _Form(
        sql=str(compiled),
        positional=tuple(positional) if positional is not None else None,
        binds=bind_processors,
        types=tuple(column.type for column in selected),
    )


def _processors(
    types: tuple[Any, ...], description: Any, dialect: Dialect
) -> tuple[Processor, ...]:
    return tuple(
        type_.dialect_impl(dialect).result_processor(dialect, column[1])
        for type_, column in zip(types, description, strict=True)
    )
