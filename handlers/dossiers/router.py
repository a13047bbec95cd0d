"""The dossiers router: registers the lookup, follow and rating handlers, in this order. It
takes receipt codes and its own dialog states before the procedure search sees them."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from .callbacks import DossierAction, RateService
from .follow import dossier_action
from .lookup import (
    DossierLookup,
    code_in_message,
    code_text,
    dossier_command,
    factor_contact,
    factor_other,
    factor_text,
    not_command,
    receipt_in_text,
)
from .rating import rate
from .render import RATING_LEVELS


def create_router() -> Router:
    router = Router(name="dossiers")
    router.message.register(dossier_command, Command("hoso", "dossier", "tracuu"))
    router.message.register(factor_contact, DossierLookup.factor, F.contact)
    router.message.register(factor_text, DossierLookup.factor, F.text, not_command)
    router.message.register(factor_other, DossierLookup.factor, not_command)
    router.message.register(code_text, DossierLookup.code, F.text, not_command)
    router.message.register(
        code_in_message, StateFilter(None), F.text, not_command, receipt_in_text
    )
    router.callback_query.register(dossier_action, DossierAction.filter())
    router.callback_query.register(rate, RateService.filter(F.level.in_(RATING_LEVELS)))
    return router
