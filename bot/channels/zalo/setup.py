"""Zalo in the running app: the OA's API client and tokens, the bot, the channel and the
webhook route, started and stopped with the web app (``python -m bot`` serves Zalo when
``ZALO_APP_ID``, ``ZALO_OA_SECRET_KEY`` and ``ZALO_APP_SECRET`` are set)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
from aiogram import Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.logs import redact_from_now_on

from .api import ZaloApi
from .channel import ZaloChannel
from .session import ZaloBot
from .tokens import ACCESS_LIFETIME, ZaloTokens
from .webhook import ZaloWebhook, create_zalo_webhook

logger = logging.getLogger(__name__)


@dataclass
class Zalo:
    """The Zalo pieces of one app, and their start and stop."""

    settings: Settings
    http: aiohttp.ClientSession
    tokens: ZaloTokens
    bot: ZaloBot
    channel: ZaloChannel
    webhook: ZaloWebhook
    api: ZaloApi  # the OA's API client (the bot's, and ZNS for the outbox)

    async def start(self, _app: web.Application | None = None) -> None:
        """Store the first token pair from the settings, unless a pair is stored already (a
        refreshed one: the settings' refresh token has been spent), and queue again the events
        acknowledged before the last stop and never handled."""
        access, refresh = self.settings.zalo_access_token, self.settings.zalo_refresh_token
        if access is not None and refresh is not None:
            stored = await self.tokens.seed(
                access.get_secret_value(),
                refresh.get_secret_value(),
                ACCESS_LIFETIME,
                replace=False,
            )
            logger.info("Zalo: %s", "first tokens stored" if stored else "stored tokens kept")
        await self.webhook.recover()  # before the endpoint takes requests: the order holds
        logger.info("Zalo: webhook at %s", self.settings.zalo_webhook_path)

    async def close(self, _app: web.Application | None = None) -> None:
        await self.webhook.close()
        await self.http.close()


def create_zalo(
    settings: Settings,
    dispatcher: Dispatcher,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    default: DefaultBotProperties | None = None,
) -> Zalo:
    """Everything Zalo needs, from the settings (``settings.zalo_enabled`` must be true)."""
    assert settings.zalo_app_id and settings.zalo_oa_secret_key and settings.zalo_app_secret
    http = aiohttp.ClientSession()
    tokens = ZaloTokens(
        session_factory,
        http,
        app_id=settings.zalo_app_id,
        app_secret=settings.zalo_app_secret.get_secret_value(),
        oauth_base=settings.zalo_oauth_base,
        on_new_secret=redact_from_now_on,
    )
    api = ZaloApi(
        http, tokens, api_base=settings.zalo_api_base, business_base=settings.zalo_business_base
    )
    zalo_bot = ZaloBot(
        api, session_factory, default=default, request_info_image=settings.zalo_request_info_image
    )
    channel = ZaloChannel(dispatcher, zalo_bot, session_factory)
    webhook = create_zalo_webhook(
        app_id=settings.zalo_app_id,
        oa_secret_key=settings.zalo_oa_secret_key,
        session_factory=session_factory,
        handle=channel.handle,
    )
    return Zalo(settings, http, tokens, zalo_bot, channel, webhook, api)


def setup_zalo(app: web.Application, zalo: Zalo) -> None:
    app.router.add_post(zalo.settings.zalo_webhook_path, zalo.webhook.handler)
    app.on_startup.append(zalo.start)
    app.on_cleanup.append(zalo.close)
    app[ZALO_KEY] = zalo


ZALO_KEY = web.AppKey("zalo", Zalo)
