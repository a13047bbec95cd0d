"""Telegram channel: long polling or webhook, on top of the shared dispatcher."""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.types import BotCommand
from aiogram.utils.i18n import I18n
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.config import Settings
from handlers.common import texts
from handlers.i18n import create_i18n

logger = logging.getLogger(__name__)

DEFAULT_POLLING_TIMEOUT = 10  # seconds a getUpdates long poll waits on the Bot API server


def _i18n_of(dispatcher: Dispatcher) -> I18n:
    i18n = dispatcher.workflow_data.get("i18n")
    return i18n if isinstance(i18n, I18n) else create_i18n()


async def set_bot_commands(bot: Bot, i18n: I18n) -> None:
    """The command menu in every language: the default locale without a language code, the
    others for clients whose language matches."""
    for locale in (
        i18n.default_locale,
        *(x for x in i18n.available_locales if x != i18n.default_locale),
    ):
        with i18n.context(), i18n.use_locale(locale):
            commands = [BotCommand(command=c, description=d) for c, d in texts.bot_commands()]
        await bot.set_my_commands(
            commands, language_code=None if locale == i18n.default_locale else locale
        )


async def run_polling(
    bot: Bot, dispatcher: Dispatcher, *, polling_timeout: int = DEFAULT_POLLING_TIMEOUT
) -> None:
    """Serve Telegram by long polling until cancelled or `dispatcher.stop_polling()`.

    Meant to run as a task next to the web app: signals are left to the caller, and the bot
    session is closed when polling ends.
    """
    # getUpdates is refused while a webhook is set; keep the updates queued meanwhile.
    await bot.delete_webhook(drop_pending_updates=False)
    await set_bot_commands(bot, _i18n_of(dispatcher))
    logger.info("Telegram: long polling")
    await dispatcher.start_polling(
        bot,
        handle_signals=False,
        close_bot_session=True,
        polling_timeout=polling_timeout,
    )


def webhook_url(settings: Settings) -> str:
    if not settings.webhook_base_url:
        raise ValueError("WEBHOOK_BASE_URL is required in webhook mode")
    return settings.webhook_base_url.rstrip("/") + "/" + settings.webhook_path.lstrip("/")


def setup_webhook(
    app: web.Application, bot: Bot, dispatcher: Dispatcher, settings: Settings
) -> None:
    """Receive Telegram updates on `settings.webhook_path` of `app`.

    Refuses to start without WEBHOOK_SECRET: requests whose X-Telegram-Bot-Api-Secret-Token
    header does not match are answered 401. On start-up the webhook is (re)registered with
    Telegram and the command menu is set; pending updates are kept.
    """
    if settings.webhook_secret is None:
        raise ValueError("WEBHOOK_SECRET is required in webhook mode")
    url = webhook_url(settings)
    if not url.startswith("https://"):
        logger.warning("The webhook URL is not HTTPS; Telegram only calls HTTPS webhooks")
    secret = settings.webhook_secret.get_secret_value()

    handler = SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token=secret)
    handler.register(app, path=settings.webhook_path)
    setup_application(app, dispatcher, bot=bot)

    async def register_webhook(_app: web.Application) -> None:
        await bot.set_webhook(
            url=url,
            secret_token=secret,
            drop_pending_updates=False,
            allowed_updates=dispatcher.resolve_used_update_types(),
        )
        await set_bot_commands(bot, _i18n_of(dispatcher))
        logger.info("Telegram: webhook registered on path %s", settings.webhook_path)

    app.on_startup.append(register_webhook)


__all__ = ["run_polling", "set_bot_commands", "setup_webhook", "webhook_url"]
