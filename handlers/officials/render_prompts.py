"""What officials read while they change a petition: the prompts for a typed question, answer
or refusal, the previews to confirm (typed texts, the public copy, the new agency), the
confirm / cancel buttons, and the line that says it is done."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from handlers.formatting import format_number
from handlers.markup import TELEGRAM_TEXT_LIMIT, quote, shorten, text_length
from storage.records import AgencyRecord, PetitionRecord

from .callbacks import ConfirmOp, OfficialConfirm, OfficialReroute, PetitionOp
from .render_shared import split_text
from .render_words import BUTTON_TEXT_CHARS

TEXT_MAX_CHARS = 4000
"""What an official may type as a question, an answer or a reason (one Telegram message)."""


# --- texts -------------------------------------------------------------------------------------


def text_prompt(op: PetitionOp, tracking_code: str) -> str:
    prompts = {
        PetitionOp.ASK: _(
            "❓ Type the question for the citizen about <b>{code}</b>: what is missing and "
            "what they should send. They get it with a Reply button."
        ),
        PetitionOp.ANSWER: _(
            "✅ Type the agency's answer to <b>{code}</b>. The citizen gets it as written; it is "
            "published later with personal data removed."
        ),
        PetitionOp.REFUSE: _(
            "⛔ Type the reason for refusing <b>{code}</b> (required). The citizen gets it as "
            "written."
        ),
    }
    limit = _("At most {limit} characters. /cancel to stop.").format(
        limit=format_number(TEXT_MAX_CHARS)
    )
    return prompts[op].format(code=tracking_code) + "\n\n" + limit


def text_preview(op: PetitionOp, tracking_code: str, text: str) -> str:
    titles = {
        PetitionOp.ASK: _("Preview: question to the citizen about {code}"),
        PetitionOp.ANSWER: _("Preview: answer to {code}"),
        PetitionOp.REFUSE: _("Preview: refusal of {code}"),
    }
    title = "👀 " + titles[op].format(code=tracking_code)
    footer = _("Send it as it is?")
    # Telegram counts the text after parsing: an escaped "&lt;" is one character.
    budget = TELEGRAM_TEXT_LIMIT - text_length(title) - text_length(footer) - 8
    if text_length(text) <= budget:
        body = quote(text)
    else:  # cannot happen for TEXT_MAX_CHARS, unless the translation grows: show the start
        body = quote(split_text(text, budget - 2)[0]) + " …"
    return f"<b>{quote(title)}</b>\n\n{body}\n\n{footer}"


def publish_preview(petition: PetitionRecord, public_content: str, public_answer: str) -> str:
    header = (
        "📢 <b>" + _("Publish the answer to {code}?").format(code=petition.tracking_code) + "</b>"
    )
    note = _("This is what the public will read; personal data found is replaced by ***.")
    content = quote(shorten(public_content, 1400))
    answer = quote(shorten(public_answer, 1400))
    return "\n\n".join(
        [
            header,
            note,
            "<b>" + _("Content") + "</b>\n" + content,
            "<b>" + _("Answer") + "</b>\n" + answer,
        ]
    )


def reroute_prompt(tracking_code: str) -> str:
    return _("↪️ Which agency should handle <b>{code}</b>?").format(code=tracking_code)


def reroute_confirm(tracking_code: str, agency: AgencyRecord) -> str:
    return _(
        "↪️ Send <b>{code}</b> to <b>{agency}</b>? It starts again there as new, and this agency "
        "no longer sees it."
    ).format(code=tracking_code, agency=quote(agency.name))


def done_text(op: PetitionOp | str, tracking_code: str, agency_name: str | None = None) -> str:
    texts = {
        PetitionOp.TAKE: _("✋ You took <b>{code}</b>. The citizen is told it is being handled."),
        PetitionOp.ASK: _("📤 Question sent for <b>{code}</b>. It waits for the citizen's reply."),
        PetitionOp.ANSWER: _(
            "✅ Answer recorded for <b>{code}</b> and sent to the citizen. Publish it within 2 "
            "working days."
        ),
        PetitionOp.REFUSE: _("⛔ <b>{code}</b> was refused; the citizen gets the reason."),
        PetitionOp.PUBLISH: _("📢 The answer to <b>{code}</b> is published."),
    }
    if op == PetitionOp.REROUTE:
        return _("↪️ <b>{code}</b> now goes to {agency}.").format(
            code=tracking_code, agency=quote(agency_name or "")
        )
    return texts[PetitionOp(op)].format(code=tracking_code)


def cancelled_text() -> str:
    return _("✖️ Cancelled. Nothing was sent.")


# --- keyboards ---------------------------------------------------------------------------------


def _confirm_button(text: str, op: ConfirmOp, petition_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=OfficialConfirm(op=op, id=petition_id).pack()
    )


def _cancel_button(petition_id: int) -> InlineKeyboardButton:
    return _confirm_button(_("✖️ Cancel"), ConfirmOp.CANCEL, petition_id)


def confirm_keyboard(petition_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _confirm_button(_("📤 Send"), ConfirmOp.SEND, petition_id),
                _confirm_button(_("✏️ Rewrite"), ConfirmOp.EDIT, petition_id),
            ],
            [_cancel_button(petition_id)],
        ]
    )


def cancel_keyboard(petition_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_cancel_button(petition_id)]])


def publish_keyboard(petition_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _confirm_button(_("📢 Publish"), ConfirmOp.PUBLISH, petition_id),
                _cancel_button(petition_id),
            ]
        ]
    )


def reroute_keyboard(petition_id: int, agencies: Sequence[AgencyRecord]) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                text=shorten(agency.name, BUTTON_TEXT_CHARS),
                callback_data=OfficialReroute(id=petition_id, agency=agency.id).pack(),
            )
        ]
        for agency in agencies
    ]
    rows.append([_cancel_button(petition_id)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def reroute_confirm_keyboard(petition_id: int, agency_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("↪️ Re-route"),
                    callback_data=OfficialReroute(
                        id=petition_id, agency=agency_id, confirm=True
                    ).pack(),
                ),
                _cancel_button(petition_id),
            ]
        ]
    )
