"""The database as every command opens it: the schema brought up to date first."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade


async def open_database(
    settings: Settings,
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    """Upgrade the schema, then the engine (the caller disposes of it) and its sessions."""
    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    return engine, create_session_factory(engine)
