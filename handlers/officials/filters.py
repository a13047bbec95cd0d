"""Who is an official: the one filter that guards the officials' handlers.

Who is an official is read from the database on every update (``OfficialRepository.by_chat``):
a removed official loses access at once. For everyone else the guarded commands and buttons do
not exist: the filter does not match and the update goes on to the next handlers and routers
(the citizen's dialogs: an unknown command, a search), so nothing tells a citizen that an
officials' side exists beyond the documented enrolment command. Enrolment, invitations and
sign-in links work only in private chats, and so does everything behind this filter.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import channel_of
from storage.records import OfficialRecord
from storage.repositories.officials import OfficialRepository

from .messaging import chat_id_of, is_private


async def current_official(
    session: AsyncSession, bot: Bot, event: Message | CallbackQuery
) -> OfficialRecord | None:
    """The active official behind this chat (private chats only), else None."""
    if not is_private(event):
        return None
    return await OfficialRepository(session).by_chat(channel_of(bot), chat_id_of(event))


class IsOfficial(Filter):
    """Matches when the chat belongs to an active official and hands the handler that
    ``official`` (the row, with the columns loaded).

    The look-up uses the event's ``session`` (opened by the outer ``DbSessionMiddleware``, so
    the filter and the handler share it). The filter goes last on each guarded handler, so the
    database is asked only for updates the handler would otherwise take (a router-wide filter
    would ask for every citizen's message that reaches the router).
    """

    async def __call__(
        self,
        event: Message | CallbackQuery,
        bot: Bot,
        session: AsyncSession,
    ) -> bool | dict[str, Any]:
        official = await current_official(session, bot, event)
        return False if official is None else {"official": official}
