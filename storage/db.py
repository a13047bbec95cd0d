"""Engine and session factories; nothing is created at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 5000


def _prepare_sqlite_file(database: str | None) -> None:
    """Create the parent folder of a SQLite database file if it is missing."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_on_connect(dbapi_connection: Any, _connection_record: Any) -> None:
    """WAL lets readers run beside one writer; the busy timeout waits instead of failing."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def create_engine(url: str, **engine_kwargs: Any) -> AsyncEngine:
    """Create an async engine for ``sqlite+aiosqlite://`` or ``postgresql+asyncpg://`` URLs.

    For SQLite the database folder is created and WAL, foreign keys and a busy timeout are
    enabled on every new connection. Extra keyword arguments go to ``create_async_engine``.
    """
    parsed = make_url(url)
    # Statement parameters hold citizens' names, phones and ID numbers: keep them out of the
    # messages of database errors, which end up in logs.
    engine_kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite_file(parsed.database)
        engine = create_async_engine(parsed, **engine_kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        return engine
    engine_kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(parsed, **engine_kwargs)


def sqlite_file_of(engine: AsyncEngine) -> Path | None:
    """The file of a SQLite engine's database (None for another database, or in memory)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.database.startswith("file:"):
        return None
    return Path(url.database).expanduser()


def sqlite_file_engine(
    path: Path, *, synchronous: str = "NORMAL", secure_delete: bool = False
) -> Engine:
    """A synchronous engine on the SQLite file ``path`` (created with its folder), with the
    pragmas of the application's engines (WAL, busy timeout), holding one connection: for a
    store that a thread of its own writes in one go. ``synchronous="FULL"`` makes each commit
    durable against a power cut too (NORMAL: against a crash of the process); ``secure_delete``
    overwrites deleted content."""
    if synchronous not in ("NORMAL", "FULL"):
        raise ValueError("synchronous must be NORMAL or FULL")
    _prepare_sqlite_file(str(path))
    engine = create_sync_engine(
        f"sqlite:///{path}", hide_parameters=True, pool_size=1, max_overflow=0
    )
    event.listen(engine, "connect", _sqlite_on_connect)

    def _sync(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA synchronous={synchronous}")
        if secure_delete:
            dbapi_connection.execute("PRAGMA secure_delete=ON")

    event.listen(engine, "connect", _sync)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Session factory whose objects stay readable after commit."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
