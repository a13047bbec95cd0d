"""Run the Alembic migrations from code, without an alembic.ini, from any working directory."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import pool
from sqlalchemy.engine import Connection

from storage.db import create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_config(url: str) -> Config:
    """An Alembic config pointing at ``storage/migrations`` for ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates "%"; escape it so URL-encoded passwords survive.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["url"] = url
    return config


def upgrade_sync(url: str, revision: str = "head") -> None:
    """Upgrade to ``revision``; call only where no event loop is running (e.g. a CLI)."""
    command.upgrade(make_config(url), revision)


def downgrade_sync(url: str, revision: str) -> None:
    """Downgrade to ``revision`` ("base" removes everything); no running event loop allowed."""
    command.downgrade(make_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade to ``revision`` from async code (runs Alembic in a worker thread)."""
    await asyncio.to_thread(upgrade_sync, url, revision)


async def downgrade(url: str, revision: str) -> None:
    """Downgrade to ``revision`` from async code (runs Alembic in a worker thread)."""
    await asyncio.to_thread(downgrade_sync, url, revision)


async def current(url: str) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current_revision)
    finally:
        await engine.dispose()


def _current_revision(sync_conn: Connection) -> str | None:
    return MigrationContext.configure(sync_conn).get_current_revision()
