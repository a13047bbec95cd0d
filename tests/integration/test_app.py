"""The composition root (bot.app) on a real database: catalog overlay and restart behaviour."""

from __future__ import annotations

from pathlib import Path

from bot.app import create_app
from bot.channels.webchat.routes import WEBCHAT_CHANNEL_KEY
from bot.config import Settings
from bot.services import create_services
from knowledge.models import Procedure
from storage.repositories.procedures import ProcedureRepository


async def test_web_chat_visitors_keep_their_chat_across_restarts(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.sqlite3'}")
    token = "A" * 32
    ids = []
    for _ in range(2):  # two process lifetimes on one database, no WEB_SECRET configured
        services = await create_services(settings)
        try:
            app, _bot, _dp = create_app(services)
            ids.append(app[WEBCHAT_CHANNEL_KEY].hub.chat_id_for(token))
        finally:
            await services.close()
    assert ids[0] == ids[1]

    other = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'b.sqlite3'}")
    services = await create_services(other)
    try:
        app, _bot, _dp = create_app(services)
        assert app[WEBCHAT_CHANNEL_KEY].hub.chat_id_for(token) != ids[0]  # a secret per deployment
    finally:
        await services.close()


async def test_imported_procedures_overlay_the_shipped_catalog(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.sqlite3'}")
    services = await create_services(settings)
    try:
        shipped = services.index.get("1.001193")
        assert shipped is not None and shipped.documents
        async with services.session_factory() as session:
            await ProcedureRepository(session).upsert_many(
                [Procedure(code="1.001193.H19", name="Đăng ký khai sinh", agencies=("UBND xã A",))],
                source="province.xlsx",
            )
            await session.commit()
    finally:
        await services.close()

    services = await create_services(settings)
    try:
        province = services.index.get("1.001193.H19")
        assert province is not None
        assert province.agencies == ("UBND xã A",)
        assert province.documents == shipped.documents  # the national details fill the gaps
        assert len(services.index) == len(services.index.procedures)
        assert services.index.get("1.001193") is not None  # the national record stays
    finally:
        await services.close()


async def test_housekeeping_forgets_idle_conversations(tmp_path: Path) -> None:
    import asyncio
    import contextlib
    from datetime import UTC, datetime, timedelta

    from aiogram.fsm.storage.base import StorageKey
    from sqlalchemy import func, select

    from bot.app import housekeeping
    from storage.fsm import SQLAlchemyStorage
    from storage.models import FsmRecord, InboxToken, SearchMiss
    from storage.repositories.agencies import AgencyRepository
    from storage.repositories.inbox_tokens import InboxTokenRepository
    from storage.repositories.officials import OfficialRepository
    from storage.repositories.search_misses import SearchMissRepository

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}")
    services = await create_services(settings)
    try:
        storage = SQLAlchemyStorage(services.session_factory)
        await storage.set_data(StorageKey(bot_id=1, chat_id=5, user_id=5), {"q": "x"})
        await storage.set_data(StorageKey(bot_id=1, chat_id=6, user_id=6), {"q": "y"})
        async with services.session_factory() as session:
            first = (await session.execute(select(FsmRecord))).scalars().first()
            assert first is not None
            first.updated_at = datetime.now(UTC) - timedelta(days=31)
            # inbox sign-in tokens: one expired two days ago, one still valid
            agency = await AgencyRepository(session).save("so-x", "Sở X")
            code, _ = await OfficialRepository(session).create_invitation(agency.id, "officer")
            official = await OfficialRepository(session).enroll(code, channel="web", chat_id="w")
            tokens = InboxTokenRepository(session)
            await tokens.issue(
                official,
                kind="link",
                ttl=timedelta(minutes=15),
                now=datetime.now(UTC) - timedelta(days=2),
            )
            valid = await tokens.issue(official, kind="session", ttl=timedelta(hours=8))
            # search misses: one nobody asked again for 100 days, one asked now
            misses = SearchMissRepository(session)
            await misses.record("câu hỏi cũ về thủ tục", "nothing", "web")
            await misses.record("câu hỏi mới về thủ tục", "nothing", "web")
            old = (
                await session.execute(select(SearchMiss).where(SearchMiss.text.like("%cũ%")))
            ).scalar_one()
            old.last_seen = datetime.now(UTC) - timedelta(days=100)
            await session.commit()
        task = asyncio.create_task(housekeeping(services, every=3600))
        for _ in range(100):
            async with services.session_factory() as session:
                count = await session.scalar(select(func.count()).select_from(FsmRecord))
                left = await session.scalar(select(func.count()).select_from(InboxToken))
                asked = await session.scalar(select(func.count()).select_from(SearchMiss))
            if count == 1 and left == 1 and asked == 1:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert count == 1 and left == 1 and asked == 1
        async with services.session_factory() as session:
            assert await InboxTokenRepository(session).session_official(valid) is not None
    finally:
        await services.close()
