"""The conversation of the petition dialogs: the FSM states and data keys, the form kept in
the state, the chat an event comes from and answering it.

Petitions hold personal data, so the handlers check the chat type (`chat_of`) and the chat
that sent a petition before showing anything of it.
"""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove

from .form_data import ADDRESS, CONTACT, CONTENT, FILES, NAME, REVIEW, TOPIC, FormData

FSM_FORM = "petition_form"
FSM_LAST = "petition_last"  # {"form": id, "petition_id": n}: the form submitted last
FSM_REPLY = "petition_reply"  # {"petition_id": n, "files": [...]}: a reply being written


class PetitionStates(StatesGroup):
    topic = State()
    content = State()
    files = State()
    name = State()
    contact = State()
    address = State()
    review = State()
    reply = State()  # writing the answer to a request for more information


STATE_OF: dict[str, State] = {
    TOPIC: PetitionStates.topic,
    CONTENT: PetitionStates.content,
    FILES: PetitionStates.files,
    NAME: PetitionStates.name,
    CONTACT: PetitionStates.contact,
    ADDRESS: PetitionStates.address,
    REVIEW: PetitionStates.review,
}

FORM_STATES = tuple(STATE_OF.values())
MY_STATES = frozenset(st.state for st in (*FORM_STATES, PetitionStates.reply))

Target = Message | CallbackQuery


def chat_of(target: Target) -> tuple[str, str]:
    """(chat id, chat type) of the chat a message or a button press comes from."""
    if isinstance(target, Message):
        return str(target.chat.id), target.chat.type
    if isinstance(target.message, Message):
        return str(target.message.chat.id), target.message.chat.type
    return str(target.from_user.id), "private"  # an inaccessible message: the user's own chat


async def say(target: Target, text: str, markup: Any = None) -> None:
    if isinstance(target, CallbackQuery):
        if isinstance(target.message, Message):
            await target.message.answer(text, reply_markup=markup)
        elif target.bot is not None:
            await target.bot.send_message(target.from_user.id, text, reply_markup=markup)
    else:
        await target.answer(text, reply_markup=markup)


async def say_all(target: Target, texts: list[str], markup: Any = None) -> None:
    """Several messages; the keyboard goes on the last one."""
    for i, text in enumerate(texts):
        await say(target, text, markup if i == len(texts) - 1 else None)


async def load_form(state: FSMContext) -> FormData | None:
    return FormData.from_dict((await state.get_data()).get(FSM_FORM))


async def save_form(state: FSMContext, form: FormData) -> None:
    await state.update_data({FSM_FORM: form.to_dict()})


async def drop_data(state: FSMContext, *keys: str, extra: dict[str, Any] | None = None) -> None:
    data = await state.get_data()
    for key in keys:
        data.pop(key, None)
    data.update(extra or {})
    await state.set_data(data)


async def leave_contact_step(target: Target, state: FSMContext, channel: str, text: str) -> bool:
    """On Telegram the phone step shows a reply keyboard; take it away when leaving the step.
    Returns True when a message (``text``) was sent to do so."""
    if channel != "telegram" or await state.get_state() != PetitionStates.contact.state:
        return False
    await say(target, text, ReplyKeyboardRemove())
    return True
