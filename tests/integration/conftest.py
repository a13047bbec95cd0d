"""Fixtures of the integration layer: a throw-away database, empty or migrated to head, on SQLite
and on PostgreSQL (see tests/tools/databases.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.tools.databases import BACKENDS, empty_database, migrated_database


@pytest.fixture(params=BACKENDS)
async def session_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory over a fresh database migrated to head, per test and per backend."""
    prefix = request.module.__name__.rsplit(".", 1)[-1]
    async with migrated_database(request.param, tmp_path, prefix) as factory:
        yield factory


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a fresh empty database, per test and per backend (for migration tests)."""
    prefix = request.module.__name__.rsplit(".", 1)[-1]
    async with empty_database(request.param, tmp_path, prefix) as url:
        yield url
