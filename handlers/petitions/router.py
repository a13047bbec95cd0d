"""The router of the citizen's petition dialogs: it only registers the handlers, in the order
they must be tried, with their filters.

How the form stays correct:
- Its state and fields live in the conversation state, which the FSM storage keeps in the
  database, so a half-filled form survives a restart; each form has a random id.
- Submitting is idempotent (see `submit`): a double tap, a retried callback or a re-delivered
  update finds the same petition (never a second one) and shows the same tracking code.
- Complaints, denunciations and legal-advice requests are recognised in the content
  (``knowledge.petitions.classify_request``) and redirected, never stored.
- Per-chat limits (``settings.petitions_per_hour`` / ``petitions_per_day``) are checked when a
  form starts and again at submission.
- Petitions hold personal data: the form runs in private chats only, and a petition's details
  are shown only in the chat that sent it (anyone else gets the same "not found").

Channels: on Telegram a citizen can attach photos and documents and share their own contact;
on Zalo they can attach photos and documents too (kept as their links, see `attachments`) and
type the phone; the web chat has neither, so the attachments step is left out there.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from . import entry, form_buttons, form_steps, info_reply, menu, published, tracking
from .callbacks import (
    FormAction,
    PetitionMenu,
    PetitionReply,
    PetitionTopic,
    PetitionView,
    PublicList,
    PublicOpen,
    ReplyOp,
)
from .conversation import FORM_STATES, PetitionStates
from .filters import maybe_phone_step_key, not_command, petition_intent, tracking_code_in


def create_router() -> Router:
    """A fresh petitions router. The order matters: the entry points (commands, a tracking code,
    a request to send feedback) only outside any dialog state, then the form, tracking, the
    reply to a request for information and the published answers."""
    router = Router(name="petitions")
    messages, callbacks = router.message, router.callback_query

    # -- entry points
    messages.register(entry.petitions_command, Command("phananh", "feedback", "pakn"))
    messages.register(entry.code_in_text, StateFilter(None), F.text, not_command, tracking_code_in)
    messages.register(entry.intent_in_text, StateFilter(None), F.text, not_command, petition_intent)
    messages.register(entry.phone_keyboard_left_over, StateFilter(None), maybe_phone_step_key)
    callbacks.register(menu.menu_button, PetitionMenu.filter())

    # -- form buttons
    callbacks.register(form_buttons.topic_picked, PetitionTopic.filter())
    callbacks.register(form_buttons.form_action, FormAction.filter())

    # -- form steps (messages)
    messages.register(form_steps.topic_text, PetitionStates.topic, F.text, not_command)
    messages.register(form_steps.content_text, PetitionStates.content, F.text, not_command)
    messages.register(form_steps.file_received, PetitionStates.files, F.photo | F.document)
    messages.register(form_steps.files_text, PetitionStates.files, F.text, not_command)
    messages.register(form_steps.files_other, PetitionStates.files, not_command)
    messages.register(form_steps.name_text, PetitionStates.name, F.text, not_command)
    messages.register(form_steps.contact_shared, PetitionStates.contact, F.contact)
    messages.register(form_steps.contact_text, PetitionStates.contact, F.text, not_command)
    messages.register(form_steps.address_text, PetitionStates.address, F.text, not_command)
    messages.register(form_steps.review_text, PetitionStates.review, F.text, not_command)
    messages.register(form_steps.form_other, StateFilter(*FORM_STATES), not_command)

    # -- following my petitions
    callbacks.register(tracking.view_petition, PetitionView.filter())

    # -- replying to a request for more information
    callbacks.register(info_reply.reply_start, PetitionReply.filter())
    callbacks.register(info_reply.reply_op, ReplyOp.filter())
    messages.register(info_reply.reply_text, PetitionStates.reply, F.text, not_command)
    messages.register(info_reply.reply_file, PetitionStates.reply, F.photo | F.document)
    messages.register(info_reply.reply_other, PetitionStates.reply, not_command)

    # -- published answers
    callbacks.register(published.public_list, PublicList.filter())
    callbacks.register(published.public_open, PublicOpen.filter())

    return router
