"""Free-text questions: cleaned, searched, answered with a card, a list of results, or "did you
mean" phrases; and the phrase buttons, which search again."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.exceptions import SuggestionExpired
from knowledge.search import SearchIndex

from . import keyboards, render, texts
from .callbacks import Suggestion, phrase_check
from .cards import send_card
from .learning import RecentResults, after_question
from .search import Outcome, Resolution, resolve
from .siblings import siblings
from .userinput import MAX_QUERY_CHARS, CleanQuery, QueryKind, clean_query

logger = logging.getLogger(__name__)

FSM_SUGGESTIONS = "suggestions"


async def answer_query(
    target: Message, query: CleanQuery, index: SearchIndex, state: FSMContext
) -> Resolution | None:
    """Search and answer in the chat of `target`; remembers the query and suggestions. The
    search's resolution (None when there was nothing to search for)."""
    if query.kind is QueryKind.EMPTY:
        await target.answer(texts.empty_message())
        return None
    if query.kind is QueryKind.NO_WORDS:
        await target.answer(texts.no_words_message())
        return None
    resolution = resolve(index, query.text)
    truncated_to = MAX_QUERY_CHARS if query.truncated else None
    logger.debug("Query of %d chars -> %s", query.original_length, resolution.outcome.value)
    if resolution.suggestions:
        # only what the "did you mean" buttons need, and only when there are some: the citizen's
        # own words are not kept, and a plain question writes nothing to the database
        await state.update_data({FSM_SUGGESTIONS: list(resolution.suggestions)})
    if resolution.outcome is Outcome.CARD:
        await send_card(target, resolution.procedures[0])
    elif resolution.outcome is Outcome.RESULTS:
        # variants of one procedure first: ask which case, the way a clerk would
        family = siblings(resolution.procedures)
        cases = {p.code: case for p, case in family.cases} if family else {}
        await target.answer(
            render.render_results(
                query.text,
                resolution.procedures,
                truncated_to=truncated_to,
                cases=list(cases.values()),
            ),
            reply_markup=keyboards.results(resolution.procedures, cases),
        )
    elif resolution.outcome is Outcome.MAYBE:
        await target.answer(
            render.render_maybe(query.text, resolution.procedures, truncated_to=truncated_to),
            reply_markup=keyboards.results(resolution.procedures),
        )
    else:
        await target.answer(
            render.render_no_results(query.text, resolution.suggestions, truncated_to=truncated_to),
            reply_markup=keyboards.suggestions(resolution.suggestions),
        )
    return resolution


async def question(
    message: Message,
    index: SearchIndex,
    state: FSMContext,
    bot: Bot | None = None,
    session_factory: async_sessionmaker[AsyncSession] | None = None,
    search_memory: RecentResults | None = None,
) -> None:
    query = clean_query(message.text)
    resolution = await answer_query(message, query, index, state)
    # after the answer is sent: what it teaches (a miss counted, the list remembered)
    await after_question(
        message,
        query.text,
        resolution,
        session_factory=session_factory,
        memory=search_memory,
        bot=bot,
    )


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
