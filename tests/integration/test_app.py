"""The composition root (bot.app) on a real database: catalog overlay and restart behaviour."""

from __future__ import annotations

from pathlib import Path

from bot.app import create_app, create_services
from bot.config import Settings
from bot.web.app import WEBCHAT_CHANNEL_KEY
from knowledge.models import Procedure
from storage.repositories import ProcedureRepository


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
