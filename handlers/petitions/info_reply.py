"""Replying to an agency's request for more information: the reply button, the files and the
text of the answer, sending it to the agency.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.contracts import Waker, wake
from handlers.i18n import channel_of
from knowledge.petition_workflow import PetitionError, PetitionStatus
from knowledge.petitions import CONTENT_MAX_CHARS, Problem
from storage.repositories.citizen_petitions import CitizenPetitionRepository
from storage.repositories.petitions import PetitionRepository

from .attachments import add_file, attachment_drafts, attachment_of
from .callbacks import PetitionReply, ReplyAction, ReplyOp
from .conversation import (
    FSM_REPLY,
    PetitionStates,
    Target,
    chat_of,
    drop_data,
    say,
    say_all,
)
from .info_reply_texts import (
    ask_reply_text,
    reply_after_file_text,
    reply_cancelled_text,
    reply_empty_text,
    reply_not_waiting_text,
    reply_sent_text,
)
from .keyboards import back_to_petitions, reply_keyboard
from .rules import clean_multiline
from .step_texts import attachment_problem_text, file_added_text, problem_text
from .texts import stale_form_text
from .tracking import latest_question
from .tracking_texts import petition_not_found_text


async def _reply_data(state: FSMContext) -> dict[str, Any] | None:
    raw = (await state.get_data()).get(FSM_REPLY)
    if not isinstance(raw, dict) or not isinstance(raw.get("petition_id"), int):
        return None
    files = raw.get("files")
    raw["files"] = [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []
    return raw


async def send_reply(
    target: Target,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    outbox: Waker | None,
    text: str,
) -> None:
    reply = await _reply_data(state)
    chat_id, _chat_type = chat_of(target)
    channel = channel_of(bot)
    petition = (
        await CitizenPetitionRepository(session).own_petition(
            reply["petition_id"], channel, chat_id
        )
        if reply
        else None
    )
    if reply is None or petition is None:
        await state.set_state(None)
        await drop_data(state, FSM_REPLY)
        await say(target, reply_not_waiting_text(), back_to_petitions())
        return
    try:
        await PetitionRepository(session).provide_info(
            petition, text, attachments=attachment_drafts(reply["files"])
        )
    except PetitionError as error:
        await session.rollback()
        await state.set_state(None)
        await drop_data(state, FSM_REPLY)
        if error.code == "empty_text":
            await say(target, reply_empty_text())
        else:
            await say(target, reply_not_waiting_text(), back_to_petitions())
        return
    await session.commit()
    wake(outbox)
    await state.set_state(None)
    await drop_data(state, FSM_REPLY)
    await say(target, reply_sent_text(petition.tracking_code), back_to_petitions())


async def reply_start(
    callback: CallbackQuery,
    callback_data: PetitionReply,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
) -> None:
    channel = channel_of(bot)
    chat_id, _type = chat_of(callback)
    petition = await CitizenPetitionRepository(session).own_petition(
        callback_data.petition_id, channel, chat_id
    )
    if petition is None:
        await callback.answer(petition_not_found_text()[:200], show_alert=True)
        return
    if petition.status != PetitionStatus.INFO_REQUESTED:
        await callback.answer(reply_not_waiting_text(), show_alert=True)
        return
    await callback.answer()
    await state.set_state(PetitionStates.reply)
    await state.update_data({FSM_REPLY: {"petition_id": petition.id, "files": []}})
    question = await latest_question(session, petition)
    await say_all(
        callback,
        ask_reply_text(petition, question, channel),
        reply_keyboard(petition.id, 0),
    )


async def reply_op(
    callback: CallbackQuery,
    callback_data: ReplyOp,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    outbox: Waker | None = None,
) -> None:
    reply = await _reply_data(state)
    if reply is None or reply["petition_id"] != callback_data.petition_id:
        await callback.answer(stale_form_text(), show_alert=True)
        return
    await callback.answer()
    if callback_data.op is ReplyAction.CANCEL:
        await state.set_state(None)
        await drop_data(state, FSM_REPLY)
        await say(callback, reply_cancelled_text(), back_to_petitions())
        return
    await send_reply(callback, state, session, bot, outbox, "")


async def reply_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    outbox: Waker | None = None,
) -> None:
    text = clean_multiline(message.text)
    if not any(ch.isalnum() for ch in text):
        await message.answer(reply_empty_text())
        return
    if len(text) > CONTENT_MAX_CHARS:
        await message.answer(problem_text(Problem("content", "content_too_long")))
        return
    await send_reply(message, state, session, bot, outbox, text)


async def reply_file(message: Message, state: FSMContext) -> None:
    reply = await _reply_data(state)
    if reply is None:
        await state.set_state(None)
        await message.answer(reply_not_waiting_text())
        return
    file, problem = attachment_of(message)
    if file is not None:
        problem = add_file(reply["files"], file)
    if problem is not None:
        await message.answer(attachment_problem_text(problem))
        return
    await state.update_data({FSM_REPLY: reply})
    await message.answer(
        file_added_text(reply["files"]) + "\n\n" + reply_after_file_text(),
        reply_markup=reply_keyboard(reply["petition_id"], len(reply["files"])),
    )


async def reply_other(message: Message) -> None:
    await message.answer(reply_empty_text())
