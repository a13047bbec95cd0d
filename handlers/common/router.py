"""The common router: registers the start, help, language, stop-ZNS and menu handlers, in this
order (the answer to the ZNS card is registered by the dossiers router, after the lookup's factor
step: see ``handlers.common.zns``)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart

from handlers.i18n import SUPPORTED_LOCALES

from .callbacks import LanguageCallback, MenuCallback, Noop, ZnsStop
from .language import language_command, set_language
from .menu import menu, noop
from .start import help_command, start
from .zns import stop_command, stop_pressed


def create_router() -> Router:
    router = Router(name="common")
    router.message.register(start, CommandStart())
    router.message.register(help_command, Command("help"))
    router.message.register(language_command, Command("language"))
    router.message.register(stop_command, Command("stopzns", "huyzns"))
    router.callback_query.register(menu, MenuCallback.filter())
    router.callback_query.register(
        set_language, LanguageCallback.filter(F.code.in_(SUPPORTED_LOCALES))
    )
    router.callback_query.register(noop, Noop.filter())
    router.callback_query.register(stop_pressed, ZnsStop.filter())
    return router
