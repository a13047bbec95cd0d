"""The repository of Zalo event keys on SQLite and PostgreSQL: a key is claimed once, a duplicate
leaves the transaction usable, old keys are purged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.zalo.events import event_key
from storage.repositories.zalo_events import ZaloEventRepository
from tests.tools.zalo_signing import follow_event

NOW = datetime(2026, 3, 15, 1, 30, tzinfo=UTC)


async def test_the_repository_claims_a_key_once_and_purges_old_keys(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    key = event_key(follow_event("u1", NOW))
    async with session_factory() as session:
        repo = ZaloEventRepository(session)
        assert await repo.claim(key, NOW - timedelta(days=3))
        assert not await repo.claim(key, NOW)  # the transaction is still usable after this
        assert await repo.claim("m-1", NOW)
        await session.commit()
    async with session_factory() as session:
        assert not await ZaloEventRepository(session).claim(key, NOW)
        assert await ZaloEventRepository(session).purge(NOW - timedelta(days=2)) == 1
        await session.commit()
    async with session_factory() as session:
        assert await ZaloEventRepository(session).claim(key, NOW)
        assert not await ZaloEventRepository(session).claim("m-1", NOW)
        await session.commit()
