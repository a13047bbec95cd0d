"""The repository of Zalo event keys on SQLite and PostgreSQL: a key is claimed once, a duplicate
leaves the transaction usable, old keys are purged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.zalo.events import event_key
from storage.repositories.zalo_events import Claim, ZaloEventRepository
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


async def test_claims_in_one_statement_keep_bodies_until_the_handling_starts(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        repo = ZaloEventRepository(session)
        assert await repo.claim("m-0", NOW, '{"old": true}')
        await session.commit()
    async with session_factory() as session:
        repo = ZaloEventRepository(session)
        claims = [
            Claim("m-0", '{"retry": true}'),  # claimed before: not again
            Claim("m-1", '{"n": 1}'),
            Claim("m-1", '{"n": "again"}'),  # twice in one batch: the first one counts
            Claim("m-2"),  # an event not acted on: no body, nothing waits
            Claim("m-3", '{"n": 3}'),
        ]
        ids = await repo.claim_many(claims, NOW)
        await session.commit()
    assert sorted(ids) == ["m-1", "m-2", "m-3"]  # m-0 was claimed before
    async with session_factory() as session:
        repo = ZaloEventRepository(session)
        waiting = await repo.waiting(NOW - timedelta(hours=1))
        assert [w.body for w in waiting] == ['{"old": true}', '{"n": 1}', '{"n": 3}']
        assert await repo.waiting(NOW + timedelta(seconds=1)) == []  # claimed before "since"
        assert await repo.start([ids["m-1"]], NOW) == {ids["m-1"]}
        assert await repo.start([ids["m-1"]], NOW) == set()  # started once
        await session.commit()
    async with session_factory() as session:
        waiting = await ZaloEventRepository(session).waiting(NOW - timedelta(hours=1))
        assert [w.body for w in waiting] == ['{"old": true}', '{"n": 3}']
