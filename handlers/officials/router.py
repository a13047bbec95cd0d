"""The officials' router: every handler of the officials' side registered in the order the
dispatcher must try them, with its filters.

Enrolment is open to anyone (a citizen becomes an official with a code); every other handler
takes ``IsOfficial()`` as its last filter, so for a citizen it does not match and the update
goes on to the citizen's routers.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from .callbacks import OfficialConfirm, OfficialList, OfficialPetition, OfficialReroute
from .card import mentions_pakn, tracking_code
from .card_buttons import petition_button
from .enrolment import cancel_command, enrol_code, enrol_not_text, invite_command, official_command
from .filters import IsOfficial
from .inbox_link import inbox_command
from .petition_list import list_page, petitions_command
from .reroute import reroute_button
from .states import OfficialEnrol, OfficialText
from .typed_texts import confirm_button, typed_not_text, typed_text


def create_router() -> Router:
    router = Router(name="officials")
    is_official = IsOfficial()
    not_command = ~F.text.startswith("/")

    # enrolment (anyone, private chats)
    router.message.register(official_command, Command("official", "canbo"))
    router.message.register(
        cancel_command, StateFilter(OfficialEnrol, OfficialText), Command("cancel", "huy")
    )
    router.message.register(enrol_code, OfficialEnrol.code, F.text, not_command)
    router.message.register(enrol_not_text, OfficialEnrol.code, ~F.text)

    # invitations and sign-in links
    router.message.register(invite_command, Command("invite", "moi"), is_official)
    router.message.register(inbox_command, Command("inbox", "hopthu"), is_official)

    # lists and cards
    router.message.register(petitions_command, Command("petitions", "dspakn"), is_official)
    router.callback_query.register(list_page, OfficialList.filter(), is_official)
    router.message.register(
        tracking_code, StateFilter(None), F.text, not_command, mentions_pakn, is_official
    )
    router.callback_query.register(petition_button, OfficialPetition.filter(), is_official)

    # typed texts: question, answer, refusal; confirmations; re-routing
    router.message.register(typed_text, StateFilter(OfficialText), F.text, not_command, is_official)
    router.message.register(typed_not_text, StateFilter(OfficialText), ~F.text, is_official)
    router.callback_query.register(confirm_button, OfficialConfirm.filter(), is_official)
    router.callback_query.register(reroute_button, OfficialReroute.filter(), is_official)
    return router
