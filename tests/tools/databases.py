"""Throw-away databases for the storage tests: a SQLite file, or a fresh PostgreSQL database on
127.0.0.1:5432 (created per test and dropped after it; the test is skipped when PostgreSQL does
not answer), so every run is isolated and repeatable."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
PG_ASYNC_TEMPLATE = "postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
"""Parameters of a fixture that runs its tests on both backends."""


@contextlib.asynccontextmanager
async def empty_database(kind: str, tmp_path: Path, prefix: str) -> AsyncIterator[str]:
    """The URL of an empty database of `kind` ("sqlite" or "postgresql")."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'nested' / f'{prefix}.sqlite3'}"
        return
    asyncpg = pytest.importorskip("asyncpg")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(PG_SERVER, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_SERVER}: {exc!r}")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield PG_ASYNC_TEMPLATE.format(database=name)
    finally:
        conn = await asyncpg.connect(PG_SERVER, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@contextlib.asynccontextmanager
async def migrated_database(
    kind: str, tmp_path: Path, prefix: str
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory over an empty database of `kind` migrated to head."""
    async with empty_database(kind, tmp_path, prefix) as url, migrated(url) as factory:
        yield factory


@contextlib.asynccontextmanager
async def migrated(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory over the database at `url`, first migrated to head."""
    await upgrade(url)
    engine = create_engine(url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()
