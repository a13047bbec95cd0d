"""The procedures router: registers the search handlers, in this order. It holds the catch-all
free-text handler, so it comes last among the feature routers."""

from __future__ import annotations

from aiogram import F, Router

from .callbacks import CardPage, OpenProcedure, Suggestion
from .cards import card_page, open_procedure
from .catch_all import COMMAND_RE, not_text, stale_button, unknown_command
from .questions import question, suggestion


def create_router() -> Router:
    router = Router(name="procedures")
    router.message.register(unknown_command, F.text.regexp(COMMAND_RE))
    router.message.register(question, F.text.is_not(None))
    router.message.register(not_text)
    router.callback_query.register(open_procedure, OpenProcedure.filter())
    router.callback_query.register(card_page, CardPage.filter())
    router.callback_query.register(suggestion, Suggestion.filter())
    router.callback_query.register(stale_button)
    return router
