"""Fixtures of the end-to-end layer: the stand-in Bot API server on loopback, a real aiogram Bot
talking to it over HTTP, headless Chromium, and the search index over the whole shipped catalog
(built once per run). Every test here is marked `slow`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.factory import default_bot_properties
from knowledge.catalog import load_default_catalog
from knowledge.search import SearchIndex
from tests.tools.browser import launch_chromium
from tests.tools.telegram_server import FakeTelegram

TOKEN = "123456:TEST-fake-token_ABCdef"
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """The stand-in Telegram server, started on a free loopback port."""
    server = FakeTelegram(token=TOKEN)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def telegram_bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    """A real aiogram Bot whose HTTP session talks to the stand-in server."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    bot = Bot(token=TOKEN, session=session, default=default_bot_properties())
    try:
        yield bot
    finally:
        await bot.session.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium (Debian's), for the page tests."""
    async with launch_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="session")
def index() -> SearchIndex:
    """The search index over the whole shipped catalog (a module may override it)."""
    return SearchIndex.build(list(load_default_catalog()))
