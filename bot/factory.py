"""Factories for the aiogram objects; nothing is created at import time."""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.strategy import FSMStrategy
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from handlers.i18n import create_i18n
from handlers.middlewares import register_middlewares
from handlers.procedures.learning import RecentResults
from handlers.routers import create_routers
from knowledge.search import SearchIndex
from storage.fsm import SQLAlchemyStorage

logger = logging.getLogger(__name__)

__all__ = ["create_bot", "create_dispatcher", "create_i18n", "default_bot_properties"]


def default_bot_properties() -> DefaultBotProperties:
    """HTML parse mode for every channel: the renderers escape all catalog text for it."""
    return DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True)


def create_bot(settings: Settings) -> Bot:
    """The Telegram bot, talking to `settings.telegram_api_server` (Telegram's or a
    self-hosted/stand-in Bot API server)."""
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set; Telegram cannot be started")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_server))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=default_bot_properties(),
    )


def create_dispatcher(
    *,
    settings: Settings,
    index: SearchIndex,
    session_factory: async_sessionmaker[AsyncSession],
    storage: BaseStorage | None = None,
    i18n: I18n | None = None,
) -> Dispatcher:
    """A fresh dispatcher with every feature router, middleware and dependency.

    Handlers receive `index`, `settings`, `session_factory` and `search_memory` from the
    workflow data, `session` (one per event, shared by its filters and handler) and `i18n` from
    the middlewares, and `state` from the FSM.
    """
    dispatcher = Dispatcher(
        storage=storage if storage is not None else SQLAlchemyStorage(session_factory),
        # One conversation state per user per chat: in a group each citizen has their own.
        fsm_strategy=FSMStrategy.USER_IN_CHAT,
        # Updates of one user are handled one at a time, so a double tap cannot race itself.
        events_isolation=SimpleEventIsolation(),
        index=index,
        settings=settings,
        session_factory=session_factory,
        # each chat's last list of results, in memory only (learning from use)
        search_memory=RecentResults(),
    )
    i18n = i18n if i18n is not None else create_i18n(settings.default_language)
    # Also in the workflow data, so channel start-up code (command menus) can translate.
    dispatcher["i18n"] = i18n
    register_middlewares(dispatcher, session_factory=session_factory, i18n=i18n)
    dispatcher.include_routers(*create_routers())
    return dispatcher
