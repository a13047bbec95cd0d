"""The officials' conversation states and the keys of the typed text kept in the FSM data."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup

FSM_OP = "off_op"
FSM_PETITION = "off_pid"
FSM_TEXT = "off_text"


class OfficialText(StatesGroup):
    text = State()  # typing a question, an answer or a refusal reason
    confirm = State()  # the preview is shown: Send / Rewrite / Cancel


class OfficialEnrol(StatesGroup):
    code = State()  # /official without a code: waiting for it


async def forget_typed_text(state: FSMContext) -> None:
    """Leave the typed-text dialog and drop what was kept for it."""
    await state.set_state(None)
    await state.update_data({FSM_OP: None, FSM_PETITION: None, FSM_TEXT: None})
