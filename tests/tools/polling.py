"""The Telegram side of `python -m bot` run inside a test: the production bot and dispatcher long
polling the stand-in server, with an outbox worker sending through it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram import run_polling
from bot.config import Settings
from bot.factory import create_bot, create_dispatcher
from bot.jobs.outbox import OutboxWorker
from bot.jobs.senders import TelegramSender
from tests.tools.telegram_server import FakeTelegram

Renderers = Callable[[Any], dict[str, Any]]  # the dispatcher's i18n -> outbox renderers


@contextlib.asynccontextmanager
async def polling_with_outbox(
    fake: FakeTelegram,
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    index: Any,
    renderers: Renderers,
    *,
    before_start: Callable[[OutboxWorker], Awaitable[None]] | None = None,
) -> AsyncIterator[tuple[Bot, Dispatcher, OutboxWorker]]:
    """Poll `fake` and run the outbox until the block ends; `before_start` runs first."""
    bot: Bot = create_bot(settings)
    dispatcher = create_dispatcher(settings=settings, index=index, session_factory=factory)
    worker = OutboxWorker(
        factory,
        {"telegram": TelegramSender(bot, part_interval=0.05)},
        renderers(dispatcher["i18n"]),
        idle_poll=0.1,
    )
    dispatcher["outbox"] = worker
    if before_start is not None:
        await before_start(worker)
    since = fake.mark()
    polling = asyncio.create_task(run_polling(bot, dispatcher, polling_timeout=1))
    sending = asyncio.create_task(worker.run())
    try:
        await fake.wait_for(lambda c: c.method == "getUpdates", since=since)
        yield bot, dispatcher, worker
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
        with contextlib.suppress(RuntimeError):
            await dispatcher.stop_polling()
        await asyncio.wait_for(polling, 5)
        await bot.session.close()


def bot_settings(fake: FakeTelegram, database_url: str, **overrides: Any) -> Settings:
    """The settings `python -m bot` would read to talk to `fake` over `database_url`."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=fake.token,
        telegram_api_server=fake.base_url,
        database_url=database_url,
        **overrides,
    )
