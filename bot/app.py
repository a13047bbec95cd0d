"""The running assistant: database, catalog and search, web app, and Telegram when configured."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import UTC, datetime, timedelta

from aiogram import Bot, Dispatcher
from aiohttp import web

from bot.channels.telegram import run_polling, setup_webhook
from bot.channels.webchat.hub import WebChatHub
from bot.channels.webchat.routes import create_web_app
from bot.channels.webchat.session import WebChatBot
from bot.channels.zalo.setup import Zalo, create_zalo, setup_zalo
from bot.config import Settings
from bot.factory import create_bot, create_dispatcher, default_bot_properties
from bot.jobs.digest import start_scheduler
from bot.jobs.outbox import OUTBOX_KEY, OutboxWorker
from bot.jobs.senders import TelegramSender, WebChatSender, ZaloSender
from bot.logs import PathOnlyAccessLogger
from bot.services import Services, create_services
from bot.web.dossier_api import setup_dossier_api
from bot.web.inbox.routes import setup_inbox
from bot.web.open311.routes import setup_open311
from bot.web.publication import setup_publication
from handlers.contracts import Renderer, Sender
from handlers.digest.notifications import create_digest_renderers
from handlers.dossiers.notifications import create_dossier_renderers
from handlers.petitions.notifications import create_petition_renderers
from storage.outbox import purge_sent
from storage.repositories.fsm_records import FsmRepository
from storage.repositories.inbox_tokens import InboxTokenRepository
from storage.repositories.lookup_failures import LookupFailureRepository
from storage.repositories.processed_updates import ProcessedUpdateRepository
from storage.repositories.search_misses import SearchMissRepository
from storage.repositories.zalo_users import ZaloUserRepository

logger = logging.getLogger(__name__)


def create_app(services: Services) -> tuple[web.Application, Bot | None, Dispatcher]:
    """The aiohttp app serving the web chat (and the Telegram webhook in webhook mode, and the
    Zalo webhook when Zalo is configured)."""
    settings = services.settings
    dispatcher = create_dispatcher(
        settings=settings, index=services.index, session_factory=services.session_factory
    )
    hub = WebChatHub(secret=services.web_secret)
    web_bot = WebChatBot(hub, default=default_bot_properties())
    app = create_web_app(dispatcher=dispatcher, settings=settings, hub=hub, bot=web_bot)
    telegram_bot = create_bot(settings) if settings.bot_token is not None else None
    if telegram_bot is not None and settings.telegram_mode == "webhook":
        setup_webhook(app, telegram_bot, dispatcher, settings)
    zalo = None
    if settings.zalo_enabled:
        zalo = create_zalo(
            settings, dispatcher, services.session_factory, default=default_bot_properties()
        )
        setup_zalo(app, zalo)
    worker = create_outbox_worker(services, web_bot, hub, telegram_bot, dispatcher, zalo)
    dispatcher["outbox"] = worker
    app[OUTBOX_KEY] = worker
    if zalo is not None:
        zalo.channel.outbox = worker
    setup_dossier_api(app, services.session_factory)
    setup_open311(app, services.session_factory, services.index)
    setup_publication(app, services.session_factory)
    setup_inbox(app, services.session_factory, settings, index=services.index)
    return app, telegram_bot, dispatcher


def create_outbox_worker(
    services: Services,
    web_bot: WebChatBot,
    hub: WebChatHub,
    telegram_bot: Bot | None,
    dispatcher: Dispatcher,
    zalo: Zalo | None = None,
) -> OutboxWorker:
    """The worker that sends what the outbox holds: to the web chat always, to Telegram and
    Zalo when configured (their rows wait, pending, while they are not)."""
    senders: dict[str, Sender] = {"web": WebChatSender(web_bot, hub)}
    if telegram_bot is not None:
        senders["telegram"] = TelegramSender(telegram_bot)
    if zalo is not None:
        senders["zalo"] = ZaloSender(
            zalo.bot,
            services.session_factory,
            zns_api=zalo.api,
            zns_templates=services.settings.zalo_zns_templates,
        )
    renderers: dict[str, Renderer] = {
        **create_dossier_renderers(dispatcher["i18n"], services.index),
        **create_petition_renderers(dispatcher["i18n"]),
        **create_digest_renderers(dispatcher["i18n"]),
    }
    return OutboxWorker(services.session_factory, senders, renderers)


FSM_IDLE_DAYS = 30  # conversation state untouched this long is forgotten
OUTBOX_KEEP_DAYS = 30  # sent messages (and their de-duplication keys) are kept this long
LOOKUP_FAILURES_KEEP_DAYS = 2  # failed lookups matter for 15 min (per user) and 24 h (per code)
PROCESSED_UPDATES_KEEP_DAYS = 2  # Telegram gives up re-sending an update within a day
ZALO_BUTTONS_KEEP_DAYS = 30  # a Zalo button older than this no longer counts as a press
SEARCH_MISSES_KEEP_DAYS = 90  # a question nobody asked again in this long is forgotten
HOUSEKEEPING_EVERY = 3600.0  # seconds


async def housekeeping(services: Services, *, every: float = HOUSEKEEPING_EVERY) -> None:
    """Forget idle conversation states, now and then every `every` seconds, until cancelled."""
    while True:
        try:
            cutoff = datetime.now(UTC) - timedelta(days=FSM_IDLE_DAYS)
            now = datetime.now(UTC)
            async with services.session_factory() as session:
                removed = await FsmRepository(session).delete_idle(cutoff)
                purged = await purge_sent(session, now - timedelta(days=OUTBOX_KEEP_DAYS))
                await LookupFailureRepository(session).purge(
                    now - timedelta(days=LOOKUP_FAILURES_KEEP_DAYS)
                )
                await ProcessedUpdateRepository(session).purge(
                    now - timedelta(days=PROCESSED_UPDATES_KEEP_DAYS)
                )
                await InboxTokenRepository(session).purge(now - timedelta(days=1))
                await ZaloUserRepository(session).purge_buttons(
                    now - timedelta(days=ZALO_BUTTONS_KEEP_DAYS)
                )
                await SearchMissRepository(session).purge(
                    now - timedelta(days=SEARCH_MISSES_KEEP_DAYS)
                )
                await session.commit()
            if removed:
                logger.info("Housekeeping: forgot %d idle conversation states", removed)
            if purged:
                logger.info("Housekeeping: purged %d sent outbox messages", purged)
        except Exception:  # a failed sweep must not stop the assistant; the next one retries
            logger.exception("Housekeeping failed")
        await asyncio.sleep(every)


def create_runner(app: web.Application) -> web.AppRunner:
    """The app's runner; its access log leaves out query strings (they may hold secrets)."""
    return web.AppRunner(app, access_log_class=PathOnlyAccessLogger)


async def run(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM (or cancellation), then shut down cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    services = await create_services(settings)
    telegram_bot: Bot | None = None
    runner: web.AppRunner | None = None
    polling: asyncio.Task[None] | None = None
    waiter = asyncio.create_task(stop.wait())
    janitor = asyncio.create_task(housekeeping(services))
    outbox_task: asyncio.Task[None] | None = None
    digests: asyncio.Task[None] | None = None
    try:
        app, telegram_bot, dispatcher = create_app(services)
        outbox_task = asyncio.create_task(app[OUTBOX_KEY].run(), name="outbox")
        digests = start_scheduler(services.session_factory, settings, app[OUTBOX_KEY])
        runner = create_runner(app)
        await runner.setup()
        await web.TCPSite(runner, settings.web_host, settings.web_port).start()
        logger.info("Web chat: http://%s:%d/", settings.web_host, settings.web_port)
        if telegram_bot is not None and settings.telegram_mode == "polling":
            polling = asyncio.create_task(run_polling(telegram_bot, dispatcher))
        elif telegram_bot is None:
            logger.info("Telegram: off (set BOT_TOKEN to enable)")
        await asyncio.wait(
            [waiter, *([polling] if polling is not None else [])],
            return_when=asyncio.FIRST_COMPLETED,
        )
        if polling is not None and polling.done() and not polling.cancelled():
            error = polling.exception()
            if error is not None:
                logger.error("Telegram polling stopped: %s", error)
                raise error
        logger.info("Shutting down")
    finally:
        waiter.cancel()
        janitor.cancel()
        if digests is not None:
            digests.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await digests
        if outbox_task is not None:
            outbox_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await outbox_task  # lets sends in flight finish (a few seconds at most)
        if polling is not None and not polling.done():
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await polling
        if runner is not None:
            await runner.cleanup()
        if telegram_bot is not None:
            await telegram_bot.session.close()
        await services.close()
