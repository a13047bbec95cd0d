"""Migration 0008 on SQLite and PostgreSQL: the misses' and learned phrasings' tables come and
go, and the upsert that counts a miss works on each backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from storage.db import create_engine, create_session_factory
from storage.migrate import current, downgrade, upgrade
from storage.repositories.search_misses import SearchMissRepository
from tests.tools.databases import BACKENDS, empty_database


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("kind", BACKENDS)
async def test_0008_up_down_and_counting(kind: str, tmp_path: Path) -> None:
    async with empty_database(kind, tmp_path, "m0008") as url:
        await upgrade(url, "0008")
        assert await current(url) == "0008"
        assert {"search_misses", "learned_phrasings"} <= await _tables(url)
        engine = create_engine(url)
        try:
            async with create_session_factory(engine)() as session:
                repo = SearchMissRepository(session)
                for _ in range(3):
                    assert await repo.record("làm  passport", "nothing", "zalo")
                assert await repo.record("Làm passport", "nothing", "zalo")
                assert await repo.record("làm passport", "asked_again", "zalo")
                assert not await repo.record("0912345678", "nothing", "zalo")
                await session.commit()
                rows = await repo.all_rows()
        finally:
            await engine.dispose()
        assert sorted((r.kind, r.count) for r in rows) == [("asked_again", 1), ("nothing", 4)]
        await downgrade(url, "0007")
        assert not {"search_misses", "learned_phrasings"} & await _tables(url)
        await upgrade(url)
