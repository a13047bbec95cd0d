"""Procedure cards: opened from a result button, paged in place."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.exceptions import ProcedureNotFound
from handlers.replies import edit_or_send, reply_to_callback
from knowledge.models import Procedure
from knowledge.search import SearchIndex

from . import keyboards, render
from .callbacks import CardPage, OpenProcedure
from .learning import RecentResults, after_pick


async def send_card(target: Message, procedure: Procedure) -> None:
    """The first page of the card, as a new message in the chat of `target`."""
    pages = render.render_card_pages(procedure)
    await target.answer(pages[0], reply_markup=keyboards.card(procedure, 0, len(pages)))


def _procedure(index: SearchIndex, code: str) -> Procedure:
    procedure = index.get(code)
    if procedure is None:
        raise ProcedureNotFound(code)
    return procedure


async def open_procedure(
    callback: CallbackQuery,
    callback_data: OpenProcedure,
    index: SearchIndex,
    bot: Bot | None = None,
    session_factory: async_sessionmaker[AsyncSession] | None = None,
    search_memory: RecentResults | None = None,
) -> None:
    procedure = _procedure(index, callback_data.code)
    await callback.answer()
    pages = render.render_card_pages(procedure)
    await reply_to_callback(callback, pages[0], keyboards.card(procedure, 0, len(pages)))
    # after the card is sent: result #2 or lower pressed is a miss of the question
    await after_pick(
        callback, procedure.code, session_factory=session_factory, memory=search_memory, bot=bot
    )


async def card_page(callback: CallbackQuery, callback_data: CardPage, index: SearchIndex) -> None:
    procedure = _procedure(index, callback_data.code)
    pages = render.render_card_pages(procedure)
    page = min(max(callback_data.page, 0), len(pages) - 1)
    await callback.answer()
    await edit_or_send(callback, pages[page], keyboards.card(procedure, page, len(pages)))
