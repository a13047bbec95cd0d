"""The typed changes: a question for the citizen, an answer or a refusal reason is typed,
previewed and confirmed; the confirm button works only with the text kept in this chat's
conversation state. Publishing is confirmed with the same buttons."""

from __future__ import annotations

import re
import unicodedata

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.contracts import Waker
from handlers.formatting import format_number
from handlers.i18n import channel_of
from knowledge.petition_workflow import OPEN_STATUSES, PetitionStatus
from storage.records import OfficialRecord, PetitionRecord

from .callbacks import ConfirmOp, OfficialConfirm, PetitionOp
from .card import own_petition, pressed_petition, show_card
from .changes import act
from .messaging import edit, send
from .render_errors import error_text
from .render_prompts import (
    TEXT_MAX_CHARS,
    cancel_keyboard,
    cancelled_text,
    confirm_keyboard,
    text_preview,
    text_prompt,
)
from .states import FSM_OP, FSM_PETITION, FSM_TEXT, OfficialText, forget_typed_text

TYPED_OPS = (PetitionOp.ASK, PetitionOp.ANSWER, PetitionOp.REFUSE)

_INVISIBLE_RE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def clean_typed_text(raw: str | None) -> str:
    """An official's typed text as it will be stored and sent: NFC, no invisible or control
    characters, line breaks kept (at most one blank line in a row), outer space trimmed."""
    text = unicodedata.normalize("NFC", raw or "").replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL_RE.sub("", _INVISIBLE_RE.sub("", text))
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_LINES_RE.sub("\n\n", text).strip()


async def _send_prompt(callback: CallbackQuery, op: PetitionOp, petition: PetitionRecord) -> None:
    await send(callback, text_prompt(op, petition.tracking_code), cancel_keyboard(petition.id))


async def start_typed_text(
    callback: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    official: OfficialRecord,
    petition: PetitionRecord,
    op: PetitionOp,
    via: str,
) -> None:
    """The card's Ask / Answer / Refuse: the prompt, when the petition's stage allows it."""
    allowed = (
        (PetitionStatus.RECEIVED, PetitionStatus.IN_PROGRESS)
        if op is PetitionOp.ASK
        else OPEN_STATUSES
    )
    await callback.answer()
    if petition.status not in allowed:
        await send(callback, error_text("wrong_status"))
        await show_card(callback, session, official, petition, via)
        return
    await state.set_state(OfficialText.text)
    await state.update_data({FSM_OP: op.value, FSM_PETITION: petition.id, FSM_TEXT: None})
    await _send_prompt(callback, op, petition)


def _text_problem(text: str) -> str | None:
    """Why the typed text cannot be sent (in words), or None."""
    if not text:
        return error_text("empty_text")
    if len(text) > TEXT_MAX_CHARS:
        return error_text("too_long").format(
            count=format_number(len(text)), limit=format_number(TEXT_MAX_CHARS)
        )
    return None


async def typed_text(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, official: OfficialRecord
) -> None:
    data = await state.get_data()
    try:
        op = PetitionOp(data.get(FSM_OP))
        petition_id = int(data.get(FSM_PETITION) or 0)
    except (TypeError, ValueError):
        await state.set_state(None)
        await message.answer(error_text("expired"))
        return
    petition = await own_petition(session, official, petition_id, channel_of(bot))
    if petition is None or op not in TYPED_OPS:
        await state.set_state(None)
        await message.answer(error_text("not_found"))
        return
    text = clean_typed_text(message.text)
    problem = _text_problem(text)
    if problem is not None:
        await message.answer(problem)
        return
    await state.set_state(OfficialText.confirm)
    await state.update_data({FSM_TEXT: text})
    await message.answer(
        text_preview(op, petition.tracking_code, text),
        reply_markup=confirm_keyboard(petition.id),
    )


async def typed_not_text(message: Message) -> None:
    await message.answer(error_text("not_text"))


async def _confirm_typed(
    callback: CallbackQuery,
    callback_data: OfficialConfirm,
    state: FSMContext,
    session: AsyncSession,
    official: OfficialRecord,
    petition: PetitionRecord,
    via: str,
    outbox: Waker | None,
) -> None:
    """Send or Rewrite under a preview: only for the text kept for this petition."""
    data = await state.get_data()
    try:
        op: PetitionOp | None = PetitionOp(data.get(FSM_OP))
    except ValueError:
        op = None
    if data.get(FSM_PETITION) != callback_data.id or op is None or op not in TYPED_OPS:
        await callback.answer()
        await edit(callback, error_text("expired"), None)
        return
    if callback_data.op is ConfirmOp.EDIT:
        await callback.answer()
        await state.set_state(OfficialText.text)
        await _send_prompt(callback, op, petition)
        return
    text = str(data.get(FSM_TEXT) or "")
    if await state.get_state() != OfficialText.confirm.state or not text:
        await callback.answer()
        await edit(callback, error_text("expired"), None)
        return
    if await act(callback, session, official, petition, op, via, outbox, text=text):
        await forget_typed_text(state)


async def confirm_button(
    callback: CallbackQuery,
    callback_data: OfficialConfirm,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    official: OfficialRecord,
    outbox: Waker | None = None,
) -> None:
    via = channel_of(bot)
    if callback_data.op is ConfirmOp.CANCEL:
        await callback.answer()
        if (await state.get_data()).get(FSM_PETITION) == callback_data.id:
            await forget_typed_text(state)
        await edit(callback, cancelled_text(), None)
        return
    petition = await pressed_petition(callback, session, official, callback_data.id, via)
    if petition is None:
        return
    if callback_data.op is ConfirmOp.PUBLISH:
        await act(callback, session, official, petition, PetitionOp.PUBLISH, via, outbox)
        return
    await _confirm_typed(callback, callback_data, state, session, official, petition, via, outbox)
