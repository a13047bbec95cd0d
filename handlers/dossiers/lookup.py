"""Dossier lookup by receipt code, with a second factor: the /hoso command, a code typed in any
message, and the two dialog states (waiting for the code, waiting for the second factor).

Privacy rules, in order:
- a receipt code alone reveals nothing: the citizen must also give the last 4 digits of the
  applicant's phone or ID number, or share a Telegram contact whose number is the applicant's;
- a *claimed* number (a contact without ``user_id``: what a citizen typed into Zalo's "request
  user info" form, or a phone-book card) proves only that the citizen knows the applicant's full
  number: it is compared with the whole phone (0xxx / 84xxx / +84xxx alike) and counted like a
  4-digit guess, against the user's and the code's limits (``handlers.common.contact_sharing``);
- an unknown code and a wrong second factor get the same answer, and the database is not read
  before the second factor arrives, so codes cannot be probed;
- failures are counted per chat user (5 per 15 minutes) and logged with the code masked;
- buttons carry only a dossier id: every button checks that this chat verified that dossier
  (kept in the conversation state) or follows it, so forged button data opens nothing.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.common.contact_sharing import contact_sharing
from handlers.common.keyboards import back_to_menu
from handlers.common.zns import forget_card as forget_zns_card
from handlers.i18n import channel_of
from handlers.petitions.tracking import show_by_code as show_petition_by_code
from handlers.procedures.questions import answer_query
from handlers.procedures.userinput import clean_query
from knowledge.dossier import digits_of, lookup_key, second_factor_matches
from knowledge.petitions import parse_tracking_code
from knowledge.receipt import find_receipt_code, looks_like_receipt_attempt, mask_receipt_code
from knowledge.search import SearchIndex
from storage.repositories.dossiers import DossierRepository, DossierView
from storage.repositories.lookup_failures import LookupFailureRepository

from . import texts
from .keyboards import contact_keyboard, dossier_keyboard
from .render import render_dossier_card
from .verification import (
    code_locked_until,
    failures_left,
    now_utc,
    remember_verified,
    user_locked_until,
)

logger = logging.getLogger(__name__)

FSM_CODE = "dossier_code"
FACTOR_DIGITS = 4


class DossierLookup(StatesGroup):
    code = State()  # waiting for a receipt code
    factor = State()  # waiting for the last 4 digits (or a contact share)


# --- filters -----------------------------------------------------------------------------------


def not_command(message: Message) -> bool:
    return not (message.text or "").startswith("/")


def receipt_in_text(message: Message) -> dict[str, str | None] | bool:
    """Filter: the text holds a receipt code (passed on as ``receipt_code``), or a code with a
    part missing (``receipt_code`` None); False for everything else (a procedure question)."""
    text = message.text or ""
    code = find_receipt_code(text)
    if code is not None:
        return {"receipt_code": code}
    if looks_like_receipt_attempt(text):
        return {"receipt_code": None}
    return False


# --- the steps of a lookup ---------------------------------------------------------------------


def _user_id(message: Message) -> str:
    return str(message.from_user.id) if message.from_user else str(message.chat.id)


async def start_lookup(message: Message, state: FSMContext) -> None:
    """Ask for a receipt code (menu button, /hoso without a code)."""
    await state.set_state(DossierLookup.code)
    await message.answer(texts.ask_code_text(), reply_markup=back_to_menu())


async def _wait_for_factor(state: FSMContext, code: str) -> None:
    # the factor's phone card goes out now: an answer is a guess, never the ZNS phone
    await forget_zns_card(state)
    await state.set_state(DossierLookup.factor)
    await state.update_data({FSM_CODE: code})


async def _ask_factor(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, code: str
) -> None:
    if message.chat.type != "private":
        # Everyone in a group would read the answer: dossiers are looked up in private only.
        await message.answer(texts.private_only_text())
        return
    channel = channel_of(bot)
    locked = await user_locked_until(session, channel, _user_id(message))
    if locked is not None:
        await message.answer(texts.locked_text(locked))
        return
    sharing = contact_sharing(bot)
    vouched = sharing == "vouched"
    code_locked = await code_locked_until(session, lookup_key(code))
    if code_locked is not None:
        # Only a vouched contact still works: a claimed number counts as a guess.
        contact = contact_keyboard() if vouched else None
        if vouched:
            await _wait_for_factor(state, code)
        await message.answer(texts.code_locked_text(code_locked, vouched), reply_markup=contact)
        return
    await _wait_for_factor(state, code)
    await message.answer(
        texts.ask_factor_text(code, sharing),
        reply_markup=contact_keyboard() if sharing else None,
    )


async def _refused(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    channel: str,
    user_id: str,
    key: str,
    *,
    digit_guess: bool,
    vouched: bool,
) -> bool:
    """Answer and return True when a lockout refuses the second factor: this chat user failed
    too often, or (for guesses only) the code had too many guesses. ``vouched``: the channel
    shares vouched contacts, which still work for a locked code."""
    telegram = channel == "telegram"
    locked = await user_locked_until(session, channel, user_id)
    if locked is not None:
        await state.set_state(None)
        remove = ReplyKeyboardRemove() if telegram else None
        await message.answer(texts.locked_text(locked), reply_markup=remove)
        return True
    if digit_guess and (code_locked := await code_locked_until(session, key)):
        if not vouched:
            await state.set_state(None)
        await message.answer(texts.code_locked_text(code_locked, vouched))
        return True
    return False


async def _matching_dossier(
    repo: DossierRepository,
    key: str,
    digits: str | None,
    contact_phone: str | None,
    claimed_phone: str | None,
) -> DossierView | None:
    # One indexed query, whether the code exists or not: the answer time tells nothing.
    credentials = await repo.credentials(key)
    if credentials is None or not second_factor_matches(
        credentials.applicant_phone,
        credentials.applicant_id_number,
        digits=digits,
        contact_phone=contact_phone,
        claimed_phone=claimed_phone,
    ):
        return None
    return await repo.find_by_id(credentials.id)


async def _failed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    channel: str,
    user_id: str,
    code: str,
    *,
    digit_guess: bool,
    vouched: bool,
    phone: bool = False,
) -> None:
    key = lookup_key(code)
    # Only guesses (digits, a claimed number) count against the code itself: a vouched contact
    # share cannot be guessed.
    await LookupFailureRepository(session).record(channel, user_id, key if digit_guess else None)
    await session.commit()
    logger.warning(
        "Dossier lookup failed: channel=%s user=%s code=%s",
        channel,
        user_id,
        mask_receipt_code(code),
    )
    refused = await _refused(
        message, state, session, channel, user_id, key, digit_guess=digit_guess, vouched=vouched
    )
    if not refused:
        left = await failures_left(session, channel, user_id)
        await message.answer(texts.mismatch_text(left, phone=phone))


async def _verified(
    message: Message,
    state: FSMContext,
    repo: DossierRepository,
    index: SearchIndex,
    view: DossierView,
    channel: str,
    code: str,
) -> None:
    await state.set_state(None)
    await state.update_data({FSM_CODE: None})
    await remember_verified(state, view.id)
    following = await repo.is_subscribed(view.id, channel, str(message.chat.id))
    logger.info("Dossier lookup verified: channel=%s code=%s", channel, mask_receipt_code(code))
    if channel == "telegram":
        await message.answer(texts.verified_text(), reply_markup=ReplyKeyboardRemove())
    await message.answer(
        render_dossier_card(view, index, now_utc()),
        reply_markup=dossier_keyboard(view.id, following),
    )


async def _verify(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    index: SearchIndex,
    *,
    digits: str | None = None,
    contact_phone: str | None = None,
    claimed_phone: str | None = None,
) -> None:
    """Check one second factor: ``digits`` (typed), ``contact_phone`` (a vouched contact of the
    user's own) or ``claimed_phone`` (a full number the user gave, nobody vouches for it)."""
    channel = channel_of(bot)
    user_id = _user_id(message)
    code = str((await state.get_data()).get(FSM_CODE) or "")
    if not code:
        await start_lookup(message, state)
        return
    key = lookup_key(code)
    digit_guess = digits is not None or claimed_phone is not None
    vouched = contact_sharing(bot) == "vouched"
    if await _refused(
        message, state, session, channel, user_id, key, digit_guess=digit_guess, vouched=vouched
    ):
        return
    repo = DossierRepository(session)
    view = await _matching_dossier(repo, key, digits, contact_phone, claimed_phone)
    if view is None:
        await _failed(
            message,
            state,
            session,
            channel,
            user_id,
            code,
            digit_guess=digit_guess,
            vouched=vouched,
            phone=claimed_phone is not None,
        )
        return
    await _verified(message, state, repo, index, view, channel, code)


async def _answer_as_question(
    message: Message, state: FSMContext, index: SearchIndex, text: str
) -> None:
    # The citizen moved on to a question: out of the lookup, and answer it.
    await state.set_state(None)
    await answer_query(message, clean_query(text), index, state)


async def _incomplete_code(message: Message, state: FSMContext) -> None:
    await state.set_state(DossierLookup.code)
    await message.answer(texts.incomplete_code_text())


# --- handlers ----------------------------------------------------------------------------------


async def dossier_command(
    message: Message, command: CommandObject, state: FSMContext, session: AsyncSession, bot: Bot
) -> None:
    code = find_receipt_code(command.args or "")
    if code is not None:
        await _ask_factor(message, state, session, bot, code)
    elif command.args and looks_like_receipt_attempt(command.args):
        await _incomplete_code(message, state)
    else:
        await start_lookup(message, state)


async def factor_contact(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, index: SearchIndex
) -> None:
    contact = message.contact
    if contact is None or message.from_user is None or contact.user_id != message.from_user.id:
        await message.answer(texts.not_your_contact_text())
        return
    await _verify(message, state, session, bot, index, contact_phone=contact.phone_number)


async def factor_claimed_phone(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, index: SearchIndex
) -> None:
    """A contact without ``user_id`` at the factor step: a number the citizen gave (Zalo's
    "request user info" form, a phone-book card on Telegram). It is checked as knowledge of the
    applicant's full phone and counted like a digit guess — never as a vouched contact, and
    never kept as the citizen's own number (for ZNS, say): it may be a relative's, or wrong."""
    contact = message.contact
    phone = contact.phone_number if contact is not None else ""
    if not phone.strip():
        await message.answer(texts.factor_format_text())
        return
    await _verify(message, state, session, bot, index, claimed_phone=phone)


async def claimed_contact_elsewhere(message: Message) -> None:
    """A claimed contact outside the factor step on a channel that sends forms for it, not in
    answer to the ZNS card (an old factor form filled in later): nothing to answer, nothing
    kept."""
    logger.info("A shared phone number outside a dossier lookup and the ZNS card: not kept")


async def factor_text(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, index: SearchIndex
) -> None:
    text = message.text or ""
    code = find_receipt_code(text)
    if code is not None:  # another code: start over with it
        await _ask_factor(message, state, session, bot, code)
        return
    digits = digits_of(text)
    stripped = "".join(ch for ch in text if not ch.isspace())
    if len(digits) == FACTOR_DIGITS and len(stripped) <= FACTOR_DIGITS + 2:
        await _verify(message, state, session, bot, index, digits=digits)
    elif not digits and any(ch.isalpha() for ch in text):
        # Words, no digits: the citizen moved on to a question; answer it.
        await _answer_as_question(message, state, index, text)
    else:
        await message.answer(texts.factor_format_text())


async def factor_other(message: Message) -> None:
    # Stickers, photos, someone's contact without a user id...: ask again for the digits.
    await message.answer(texts.factor_format_text())


async def code_text(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, index: SearchIndex
) -> None:
    text = message.text or ""
    code = find_receipt_code(text)
    tracking = parse_tracking_code(text)
    if code is not None:
        await _ask_factor(message, state, session, bot, code)
    elif tracking is not None:
        # A petition's tracking code ("the code I was given"): show the petition.
        await state.set_state(None)
        await show_petition_by_code(message, session, bot, tracking)
    elif looks_like_receipt_attempt(text):
        await message.answer(texts.incomplete_code_text())
    else:
        # Not a code at all: the citizen moved on to a question; answer it.
        await _answer_as_question(message, state, index, text)


async def code_in_message(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    receipt_code: str | None,
) -> None:
    if receipt_code is not None:
        await _ask_factor(message, state, session, bot, receipt_code)
    else:  # a code with a part missing
        await _incomplete_code(message, state)
