"""Free-text questions -> search -> results -> procedure cards with pages."""

from __future__ import annotations

import logging
import re

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from knowledge.models import Procedure
from knowledge.search import SearchIndex

from . import keyboards, render, texts
from .callbacks import CardPage, OpenProcedure, Suggestion, phrase_check
from .exceptions import ProcedureNotFound, SuggestionExpired
from .replies import edit_or_send
from .search import Outcome, resolve
from .userinput import MAX_QUERY_CHARS, CleanQuery, QueryKind, clean_query

logger = logging.getLogger(__name__)

_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]+(@\w+)?(\s|$)")
FSM_SUGGESTIONS = "suggestions"


async def _send_card(target: Message, procedure: Procedure) -> None:
    pages = render.render_card_pages(procedure)
    await target.answer(pages[0], reply_markup=keyboards.card(procedure, 0, len(pages)))


async def answer_query(target: Message, query: CleanQuery, index: SearchIndex, state: FSMContext) -> None:
    """Search and answer in the chat of `target`; remembers the query and suggestions."""
    if query.kind is QueryKind.EMPTY:
        await target.answer(texts.empty_message())
        return
    if query.kind is QueryKind.NO_WORDS:
        await target.answer(texts.no_words_message())
        return
    resolution = resolve(index, query.text)
    truncated_to = MAX_QUERY_CHARS if query.truncated else None
    logger.debug("Query of %d chars -> %s", query.original_length, resolution.outcome.value)
    if resolution.suggestions:
        # only what the "did you mean" buttons need, and only when there are some: the citizen's
        # own words are not kept, and a plain question writes nothing to the database
        await state.update_data({FSM_SUGGESTIONS: list(resolution.suggestions)})
    if resolution.outcome is Outcome.CARD:
        await _send_card(target, resolution.procedures[0])
    elif resolution.outcome is Outcome.RESULTS:
        await target.answer(
            render.render_results(query.text, resolution.procedures, truncated_to=truncated_to),
            reply_markup=keyboards.results(resolution.procedures),
        )
    else:
        await target.answer(
            render.render_no_results(query.text, resolution.suggestions, truncated_to=truncated_to),
            reply_markup=keyboards.suggestions(resolution.suggestions),
        )


def _procedure(index: SearchIndex, code: str) -> Procedure:
    procedure = index.get(code)
    if procedure is None:
        raise ProcedureNotFound(code)
    return procedure


def create_router() -> Router:
    router = Router(name="procedures")

    @router.message(F.text.regexp(_COMMAND_RE))
    async def unknown_command(message: Message, bot: Bot) -> None:
        command = (message.text or "").split(maxsplit=1)[0]
        if "@" in command:  # in a group, "/cmd@OtherBot" is for another bot: stay quiet
            me = await bot.me()
            if command.split("@", 1)[1].lower() != (me.username or "").lower():
                return
        await message.answer(texts.unknown_command())

    @router.message(F.text.is_not(None))
    async def question(message: Message, index: SearchIndex, state: FSMContext) -> None:
        await answer_query(message, clean_query(message.text), index, state)

    @router.message()
    async def not_text(message: Message) -> None:
        # Stickers, photos, voice, contacts, locations...: say what the assistant can read.
        await message.answer(texts.non_text_message())

    @router.callback_query(OpenProcedure.filter())
    async def open_procedure(callback: CallbackQuery, callback_data: OpenProcedure, index: SearchIndex) -> None:
        procedure = _procedure(index, callback_data.code)
        await callback.answer()
        if isinstance(callback.message, Message):
            await _send_card(callback.message, procedure)
        elif callback.bot is not None:
            pages = render.render_card_pages(procedure)
            await callback.bot.send_message(
                callback.from_user.id, pages[0], reply_markup=keyboards.card(procedure, 0, len(pages))
            )

    @router.callback_query(CardPage.filter())
    async def card_page(callback: CallbackQuery, callback_data: CardPage, index: SearchIndex) -> None:
        procedure = _procedure(index, callback_data.code)
        pages = render.render_card_pages(procedure)
        page = min(max(callback_data.page, 0), len(pages) - 1)
        await callback.answer()
        await edit_or_send(callback, pages[page], keyboards.card(procedure, page, len(pages)))

    @router.callback_query(Suggestion.filter())
    async def suggestion(
        callback: CallbackQuery, callback_data: Suggestion, index: SearchIndex, state: FSMContext
    ) -> None:
        phrases = (await state.get_data()).get(FSM_SUGGESTIONS) or []
        if not (0 <= callback_data.index < len(phrases)):
            raise SuggestionExpired()
        phrase = str(phrases[callback_data.index])
        if phrase_check(phrase) != callback_data.check:
            raise SuggestionExpired()
        await callback.answer()
        if isinstance(callback.message, Message):
            await answer_query(callback.message, clean_query(phrase), index, state)

    @router.callback_query()
    async def stale_button(callback: CallbackQuery) -> None:
        # Buttons from an older release (or forged data): stop the spinner and say why.
        await callback.answer(texts.stale_button(), show_alert=True)

    return router
