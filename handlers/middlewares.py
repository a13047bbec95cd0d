"""Middlewares: re-delivered Telegram updates dropped, one database session per event (shared
by its filters and its handler), and the citizen's locale."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Dispatcher, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import ErrorEvent, TelegramObject, Update, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories.processed_updates import ProcessedUpdateRepository
from storage.repositories.users import UserRepository

from .i18n import channel_of, locale_from_language_code

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

SESSION_KEY = "session"


class UpdateDedupMiddleware(BaseMiddleware):
    """Outer update middleware: a Telegram update is handled once.

    Telegram re-sends a webhook update it got no answer for within about 60 s, and after a
    restart polling may get updates again whose offset was never confirmed; a form step or a
    submission handled twice would confuse the citizen. The update id is claimed in its own
    committed transaction before handling; a claim already there means a duplicate, dropped.
    A handler failure releases the claim, so a later re-delivery is tried again. Other channels
    (the web chat) number their own updates and are not concerned.
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        bot = data.get("bot")
        if not isinstance(event, Update) or bot is None or channel_of(bot) != "telegram":
            return await handler(event, data)
        bot_id = str(bot.id)
        try:
            async with self.session_factory() as session:
                claimed = await ProcessedUpdateRepository(session).claim(bot_id, event.update_id)
                await session.commit()
        except SQLAlchemyError:
            # The database being unavailable must not silence the bot; the handlers will say so.
            logger.warning("Could not record update %d", event.update_id, exc_info=True)
            return await handler(event, data)
        if not claimed:
            logger.info("Update %d was already handled; dropped", event.update_id)
            return UNHANDLED
        try:
            return await handler(event, data)
        except Exception:
            try:
                async with self.session_factory() as session:
                    await ProcessedUpdateRepository(session).release(bot_id, event.update_id)
                    await session.commit()
            except SQLAlchemyError:
                logger.warning("Could not release update %d", event.update_id, exc_info=True)
            raise


class DbSessionMiddleware(BaseMiddleware):
    """Outer middleware of each event observer: one session per event, exposed as `session`
    to the filters and the handler alike.

    The session connects to the database only when first used, so an event that no filter or
    handler reads the database for costs nothing. Nothing is committed here; handlers that
    write call `await session.commit()` themselves, and whatever they did not commit is rolled
    back when the session closes.
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.session_factory() as session:
            data[SESSION_KEY] = session
            try:
                return await handler(event, data)
            finally:
                data.pop(SESSION_KEY, None)


class UserLocaleMiddleware(I18nMiddleware):
    """Locale = the language the citizen chose (stored per channel), else Telegram's
    `language_code` ("en…" -> English), else Vietnamese.

    Registered as an inner middleware, so it runs inside `DbSessionMiddleware` and reuses the
    event's session; on error events (whose session is already closed) it opens a short one.
    """

    def __init__(self, i18n: I18n, session_factory: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(i18n=i18n)
        self.session_factory = session_factory

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        if user is None and isinstance(event, ErrorEvent):
            context = event.update.event
            user = getattr(context, "from_user", None)
        if user is None:
            return self.i18n.default_locale
        stored = await self._stored_language(data, channel_of(data.get("bot")), str(user.id))
        if stored in self.i18n.available_locales:
            return stored
        return locale_from_language_code(user.language_code, self.i18n.default_locale)

    async def _stored_language(
        self, data: dict[str, Any], channel: str, external_id: str
    ) -> str | None:
        try:
            session: AsyncSession | None = data.get(SESSION_KEY)
            if session is not None:
                return await UserRepository(session).get_language(channel, external_id)
            async with self.session_factory() as own:
                return await UserRepository(own).get_language(channel, external_id)
        except SQLAlchemyError:
            # The database being unavailable must not silence the bot: fall back to defaults.
            logger.warning("Could not read the language preference", exc_info=True)
            return None


def register_middlewares(
    router: Router,
    *,
    session_factory: async_sessionmaker[AsyncSession],
    i18n: I18n,
) -> None:
    """On every event observer of `router`: the DB session as an outer middleware (so the
    filters and the handler of an event share one session) and the locale as an inner one (so
    it is looked up only for events a handler actually takes); the locale on error events too."""
    db = DbSessionMiddleware(session_factory)
    locale = UserLocaleMiddleware(i18n, session_factory)
    for name, observer in router.observers.items():
        if name in ("update", "error"):
            continue
        observer.outer_middleware(db)
        observer.middleware(locale)
    router.errors.middleware(locale)
    if isinstance(router, Dispatcher):
        router.update.outer_middleware(UpdateDedupMiddleware(session_factory))
