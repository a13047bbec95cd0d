"""The dossiers router: registers the lookup, follow and rating handlers, in this order. It
takes receipt codes and its own dialog states before the procedure search sees them.

A claimed number (a contact without ``user_id``: Zalo's "request user info" form) is, in the
lookup's factor step, a guess at the applicant's phone; outside it, the answer to the ZNS card
when that is the last card sent (``handlers.common.zns``); else not answered."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from handlers.common.contact_sharing import claimed_contact, offers_claimed_contacts
from handlers.common.zns import answers_zns_card, phone_given

from .callbacks import DossierAction, RateService
from .follow import dossier_action
from .lookup import (
    DossierLookup,
    claimed_contact_elsewhere,
    code_in_message,
    code_text,
    dossier_command,
    factor_claimed_phone,
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
    # a contact without user_id is a claimed number, never a vouched one (contact_sharing)
    router.message.register(factor_claimed_phone, DossierLookup.factor, F.contact, claimed_contact)
    router.message.register(factor_contact, DossierLookup.factor, F.contact)
    router.message.register(factor_text, DossierLookup.factor, F.text, not_command)
    router.message.register(factor_other, DossierLookup.factor, not_command)
    router.message.register(code_text, DossierLookup.code, F.text, not_command)
    router.message.register(
        phone_given, F.contact, claimed_contact, offers_claimed_contacts, answers_zns_card
    )
    router.message.register(
        claimed_contact_elsewhere, F.contact, claimed_contact, offers_claimed_contacts
    )
    router.message.register(
        code_in_message, StateFilter(None), F.text, not_command, receipt_in_text
    )
    router.callback_query.register(dossier_action, DossierAction.filter())
    router.callback_query.register(rate, RateService.filter(F.level.in_(RATING_LEVELS)))
    return router
