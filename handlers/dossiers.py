"""Dossier lookup by receipt code, with a second factor; following a dossier; rating the service.

Privacy rules, in order:
- a receipt code alone reveals nothing: the citizen must also give the last 4 digits of the
  applicant's phone or ID number, or share a Telegram contact whose number is the applicant's;
- an unknown code and a wrong second factor get the same answer, and the database is not read
  before the second factor arrives, so codes cannot be probed;
- failures are counted per chat user (5 per 15 minutes) and logged with the code masked;
- buttons carry only a dossier id: every button checks that this chat verified that dossier
  (kept in the conversation state) or follows it, so forged button data opens nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.dossier import (
    CODE_FAILURE_WINDOW,
    CODE_MAX_FAILURES,
    USER_FAILURE_WINDOW,
    USER_MAX_FAILURES,
    digits_of,
    locked_until,
    lookup_key,
    second_factor_matches,
)
from knowledge.models import Procedure
from knowledge.petitions import parse_tracking_code
from knowledge.receipt import find_receipt_code, looks_like_receipt_attempt, mask_receipt_code
from knowledge.search import SearchIndex
from storage.repositories.dossiers import DossierRepository, DossierView
from storage.repositories.lookup_failures import LookupFailureRepository
from storage.repositories.ratings import RatingRepository

from . import dossier_render, keyboards, petitions
from .callbacks import DossierAction, DossierOp, MenuAction, MenuCallback, RateService
from .formatting import format_date
from .i18n import channel_of
from .markup import quote
from .procedures import answer_query
from .userinput import clean_query

logger = logging.getLogger(__name__)

VERIFIED_FOR = timedelta(minutes=30)  # a verified card's buttons work this long (shared screens)
FSM_CODE = "dossier_code"
FSM_VERIFIED = "verified_dossiers"
MAX_VERIFIED_KEPT = 20
FACTOR_DIGITS = 4


class DossierLookup(StatesGroup):
    code = State()  # waiting for a receipt code
    factor = State()  # waiting for the last 4 digits (or a contact share)


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- texts -------------------------------------------------------------------------------------


def ask_code_text() -> str:
    return "\n\n".join(
        [
            "<b>" + _("🔍 Dossier status") + "</b>",
            _(
                "Send me the dossier code printed on your receipt, for example "
                "<code>000.00.17.H12-220615-0001</code>. Spaces, dots and capital letters do "
                "not matter."
            ),
        ]
    )


def ask_factor_text(code: str, telegram: bool) -> str:
    parts = [
        _("Dossier code: <code>{code}</code>").format(code=quote(code)),
        _(
            "🔐 To protect the applicant's data, please send the <b>last 4 digits</b> of the "
            "phone number or the ID number given when the dossier was submitted."
        ),
    ]
    if telegram:
        parts.append(_("Or tap “Share my phone number” below if you submitted it yourself."))
    return "\n\n".join(parts)


def incomplete_code_text() -> str:
    return _(
        "🤔 This looks like a dossier code, but part of it is missing. A complete code looks "
        "like <code>000.00.17.H12-220615-0001</code>: the receiving unit, the date (YYMMDD) and "
        "a 4-digit number. Please check your receipt and send it again."
    )


def private_only_text() -> str:
    return _(
        "🔐 To protect your data, dossiers are looked up only in a private chat with me. "
        "Please open a private chat and send the code there."
    )


def factor_format_text() -> str:
    return _("Please send exactly 4 digits, for example 6789.")


def mismatch_text(left: int) -> str:
    text = _(
        "❌ This dossier code and these digits do not match our records. Check the code on your "
        "receipt and the last 4 digits of the phone number or ID number given when submitting."
    )
    if left > 0:
        text += "\n" + _("Attempts left: {count}.").format(count=left)
    return text


def locked_text(until: datetime) -> str:
    local = until.astimezone(dossier_render.LOCAL_TZ)
    return _(
        "🔒 Too many unsuccessful attempts. For the applicants' safety, please try again after "
        "{time}."
    ).format(time=local.strftime("%H:%M"))


def code_locked_text(until: datetime, telegram: bool) -> str:
    local = until.astimezone(dossier_render.LOCAL_TZ)
    text = _(
        "🔒 This dossier code has had too many unsuccessful attempts, so for the applicant's "
        "safety digits are not accepted for it until {time} on {date}. If it is your dossier, "
        "the centre where you submitted it can help."
    ).format(time=local.strftime("%H:%M"), date=format_date(local.date()))
    if telegram:
        text += "\n\n" + _(
            "If you submitted it yourself, you can still tap “Share my phone number” below."
        )
    return text


def not_your_contact_text() -> str:
    return _("Please share your own phone number with the button, not someone else's contact.")


def followed_text() -> str:
    return _("🔔 Done. I will send you a message here whenever the status of this dossier changes.")


def unfollowed_text() -> str:
    return _("🔕 You no longer follow this dossier.")


def not_entitled_text() -> str:
    return _("For your safety, please look the dossier up again with its code.")


def thanks_rating_text(level: int) -> str:
    return _("🙏 Thank you! Your rating: {label}").format(label=dossier_render.rating_label(level))


# --- keyboards ---------------------------------------------------------------------------------


def contact_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def dossier_keyboard(dossier_id: int, following: bool) -> InlineKeyboardMarkup:
    follow = (
        InlineKeyboardButton(
            text=_("🔕 Stop following"),
            callback_data=DossierAction(op=DossierOp.UNFOLLOW, id=dossier_id).pack(),
        )
        if following
        else InlineKeyboardButton(
            text=_("🔔 Notify me of changes"),
            callback_data=DossierAction(op=DossierOp.FOLLOW, id=dossier_id).pack(),
        )
    )
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [follow],
            [
                InlineKeyboardButton(
                    text=_("🔄 Refresh"),
                    callback_data=DossierAction(op=DossierOp.VIEW, id=dossier_id).pack(),
                )
            ],
            [
                InlineKeyboardButton(
                    text=_("🏠 Main menu"),
                    callback_data=MenuCallback(action=MenuAction.START).pack(),
                )
            ],
        ]
    )


def push_keyboard(dossier_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("📄 Details"),
                    callback_data=DossierAction(op=DossierOp.VIEW, id=dossier_id).pack(),
                ),
                InlineKeyboardButton(
                    text=_("🔕 Stop following"),
                    callback_data=DossierAction(op=DossierOp.UNFOLLOW, id=dossier_id).pack(),
                ),
            ]
        ]
    )


def rating_keyboard(dossier_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=dossier_render.rating_label(level),
                    callback_data=RateService(id=dossier_id, level=level).pack(),
                )
            ]
            for level in dossier_render.RATING_LEVELS
        ]
    )


# --- helpers -----------------------------------------------------------------------------------


def procedure_of(index: SearchIndex, code: str | None) -> Procedure | None:
    """The catalog entry of a dossier's procedure code (exact, else its national base code)."""
    if not code:
        return None
    procedure = index.get(code)
    if procedure is None and code.count(".") > 1:
        procedure = index.get(".".join(code.split(".")[:2]))
    return procedure


async def _locked_until(session: AsyncSession, channel: str, user_id: str) -> datetime | None:
    failures = await LookupFailureRepository(session).recent(
        channel, user_id, now_utc() - USER_FAILURE_WINDOW
    )
    return locked_until(failures, USER_MAX_FAILURES, USER_FAILURE_WINDOW)


async def _code_locked_until(session: AsyncSession, key: str) -> datetime | None:
    """Until when digits are refused for this code (too many digit guesses by anyone), or None.
    A contact share is still accepted: Telegram vouches for the number, it cannot be guessed."""
    failures = await LookupFailureRepository(session).recent_for_code(
        key, now_utc() - CODE_FAILURE_WINDOW
    )
    return locked_until(failures, CODE_MAX_FAILURES, CODE_FAILURE_WINDOW)


async def _failures_left(session: AsyncSession, channel: str, user_id: str) -> int:
    failures = await LookupFailureRepository(session).recent(
        channel, user_id, now_utc() - USER_FAILURE_WINDOW
    )
    return max(0, USER_MAX_FAILURES - len(failures))


async def _verified(state: FSMContext) -> dict[int, float]:
    """Dossier ids this chat verified recently -> when (epoch seconds); older ones are gone."""
    since = (now_utc() - VERIFIED_FOR).timestamp()
    kept: dict[int, float] = {}
    for entry in (await state.get_data()).get(FSM_VERIFIED) or []:
        try:
            dossier_id, at = int(entry[0]), float(entry[1])
        except (TypeError, ValueError, IndexError):
            continue  # an entry from an older release: not a proof
        if at >= since:
            kept[dossier_id] = at
    return kept


async def _remember_verified(state: FSMContext, dossier_id: int) -> None:
    kept = await _verified(state)
    kept.pop(dossier_id, None)
    kept[dossier_id] = now_utc().timestamp()
    entries = [[key, at] for key, at in kept.items()][-MAX_VERIFIED_KEPT:]
    await state.update_data({FSM_VERIFIED: entries})


async def _entitled(
    state: FSMContext, repo: DossierRepository, dossier_id: int, channel: str, chat_id: str
) -> bool:
    if dossier_id in await _verified(state):
        return True
    return await repo.is_subscribed(dossier_id, channel, chat_id)


async def start_lookup(message: Message, state: FSMContext) -> None:
    """Ask for a receipt code (menu button, /hoso without a code)."""
    await state.set_state(DossierLookup.code)
    await message.answer(ask_code_text(), reply_markup=keyboards.back_to_menu())


async def _ask_factor(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, code: str
) -> None:
    if message.chat.type != "private":
        # Everyone in a group would read the answer: dossiers are looked up in private only.
        await message.answer(private_only_text())
        return
    channel = channel_of(bot)
    user_id = str(message.from_user.id) if message.from_user else str(message.chat.id)
    locked = await _locked_until(session, channel, user_id)
    if locked is not None:
        await message.answer(locked_text(locked))
        return
    telegram = channel == "telegram"
    code_locked = await _code_locked_until(session, lookup_key(code))
    if code_locked is not None:
        if telegram:  # the contact share still works
            await state.set_state(DossierLookup.factor)
            await state.update_data({FSM_CODE: code})
        await message.answer(
            code_locked_text(code_locked, telegram),
            reply_markup=contact_keyboard() if telegram else None,
        )
        return
    await state.set_state(DossierLookup.factor)
    await state.update_data({FSM_CODE: code})
    await message.answer(
        ask_factor_text(code, telegram), reply_markup=contact_keyboard() if telegram else None
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
) -> None:
    channel = channel_of(bot)
    user_id = str(message.from_user.id) if message.from_user else str(message.chat.id)
    chat_id = str(message.chat.id)
    code = str((await state.get_data()).get(FSM_CODE) or "")
    if not code:
        await start_lookup(message, state)
        return
    remove = ReplyKeyboardRemove() if channel == "telegram" else None
    locked = await _locked_until(session, channel, user_id)
    if locked is not None:
        await state.set_state(None)
        await message.answer(locked_text(locked), reply_markup=remove)
        return
    key = lookup_key(code)
    telegram = channel == "telegram"
    if digits is not None:
        code_locked = await _code_locked_until(session, key)
        if code_locked is not None:
            if not telegram:
                await state.set_state(None)
            await message.answer(code_locked_text(code_locked, telegram))
            return
    repo = DossierRepository(session)
    # One indexed query, whether the code exists or not: the answer time tells nothing.
    credentials = await repo.credentials(key)
    ok = credentials is not None and second_factor_matches(
        credentials.applicant_phone,
        credentials.applicant_id_number,
        digits=digits,
        contact_phone=contact_phone,
    )
    view = await repo.find_by_id(credentials.id) if ok and credentials is not None else None
    if view is None:
        # Only digit guesses count against the code itself: a contact share cannot be guessed.
        await LookupFailureRepository(session).record(
            channel, user_id, key if digits is not None else None
        )
        await session.commit()
        logger.warning(
            "Dossier lookup failed: channel=%s user=%s code=%s",
            channel,
            user_id,
            mask_receipt_code(code),
        )
        locked = await _locked_until(session, channel, user_id)
        if locked is not None:
            await state.set_state(None)
            await message.answer(locked_text(locked), reply_markup=remove)
        elif digits is not None and (code_locked := await _code_locked_until(session, key)):
            if not telegram:
                await state.set_state(None)
            await message.answer(code_locked_text(code_locked, telegram))
        else:
            left = await _failures_left(session, channel, user_id)
            await message.answer(mismatch_text(left))
        return
    await state.set_state(None)
    await state.update_data({FSM_CODE: None})
    await _remember_verified(state, view.id)
    following = await repo.is_subscribed(view.id, channel, chat_id)
    logger.info("Dossier lookup verified: channel=%s code=%s", channel, mask_receipt_code(code))
    if remove is not None:
        await message.answer(_("✅ Verified."), reply_markup=remove)
    await message.answer(
        dossier_render.render_dossier(view, procedure_of(index, view.procedure_code), now_utc()),
        reply_markup=dossier_keyboard(view.id, following),
    )


async def _send(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=markup)
    elif callback.bot is not None:
        await callback.bot.send_message(callback.from_user.id, text, reply_markup=markup)


async def _show(
    callback: CallbackQuery, view: DossierView, index: SearchIndex, following: bool
) -> None:
    text = dossier_render.render_dossier(view, procedure_of(index, view.procedure_code), now_utc())
    await _send(callback, text, dossier_keyboard(view.id, following))


def _chat_id(callback: CallbackQuery) -> str:
    if isinstance(callback.message, Message):
        return str(callback.message.chat.id)
    return str(callback.from_user.id)


# --- router ------------------------------------------------------------------------------------


def _not_command(message: Message) -> bool:
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


def create_router() -> Router:
    router = Router(name="dossiers")

    @router.message(Command("hoso", "dossier", "tracuu"))
    async def dossier_command(
        message: Message,
        command: CommandObject,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
    ) -> None:
        code = find_receipt_code(command.args or "")
        if code is not None:
            await _ask_factor(message, state, session, bot, code)
        elif command.args and looks_like_receipt_attempt(command.args):
            await state.set_state(DossierLookup.code)
            await message.answer(incomplete_code_text())
        else:
            await start_lookup(message, state)

    @router.message(DossierLookup.factor, F.contact)
    async def factor_contact(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
        index: SearchIndex,
    ) -> None:
        contact = message.contact
        if contact is None or message.from_user is None or contact.user_id != message.from_user.id:
            await message.answer(not_your_contact_text())
            return
        await _verify(message, state, session, bot, index, contact_phone=contact.phone_number)

    @router.message(DossierLookup.factor, F.text, _not_command)
    async def factor_text(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
        index: SearchIndex,
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
            await state.set_state(None)
            await answer_query(message, clean_query(text), index, state)
        else:
            await message.answer(factor_format_text())

    @router.message(DossierLookup.factor, _not_command)
    async def factor_other(message: Message) -> None:
        # Stickers, photos, someone's contact without a user id...: ask again for the digits.
        await message.answer(factor_format_text())

    @router.message(DossierLookup.code, F.text, _not_command)
    async def code_text(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
        index: SearchIndex,
    ) -> None:
        text = message.text or ""
        code = find_receipt_code(text)
        tracking = parse_tracking_code(text)
        if code is not None:
            await _ask_factor(message, state, session, bot, code)
        elif tracking is not None:
            # A petition's tracking code ("the code I was given"): show the petition.
            await state.set_state(None)
            await petitions.show_by_code(message, session, bot, tracking)
        elif looks_like_receipt_attempt(text):
            await message.answer(incomplete_code_text())
        else:
            # Not a code at all: the citizen moved on to a question; answer it.
            await state.set_state(None)
            await answer_query(message, clean_query(text), index, state)

    @router.message(StateFilter(None), F.text, _not_command, receipt_in_text)
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
            await state.set_state(DossierLookup.code)
            await message.answer(incomplete_code_text())

    @router.callback_query(DossierAction.filter())
    async def dossier_action(
        callback: CallbackQuery,
        callback_data: DossierAction,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
        index: SearchIndex,
    ) -> None:
        channel = channel_of(bot)
        chat_id = _chat_id(callback)
        repo = DossierRepository(session)
        dossier_id = callback_data.id
        if not await _entitled(state, repo, dossier_id, channel, chat_id):
            await callback.answer(not_entitled_text(), show_alert=True)
            return
        view = await repo.find_by_id(dossier_id)
        if view is None:
            await callback.answer(not_entitled_text(), show_alert=True)
            return
        if callback_data.op is DossierOp.FOLLOW:
            await repo.subscribe(view.id, channel, chat_id, _current_language())
            await session.commit()
            await callback.answer()
            await _send(callback, followed_text(), push_keyboard(view.id))
        elif callback_data.op is DossierOp.UNFOLLOW:
            await repo.unsubscribe(view.id, channel, chat_id)
            await session.commit()
            await callback.answer()
            await _send(callback, unfollowed_text(), keyboards.back_to_menu())
        else:
            await callback.answer()
            await _show(callback, view, index, await repo.is_subscribed(view.id, channel, chat_id))

    @router.callback_query(RateService.filter(F.level.in_(dossier_render.RATING_LEVELS)))
    async def rate(
        callback: CallbackQuery,
        callback_data: RateService,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
    ) -> None:
        channel = channel_of(bot)
        chat_id = _chat_id(callback)
        repo = DossierRepository(session)
        ratings = RatingRepository(session)
        if not (
            await _entitled(state, repo, callback_data.id, channel, chat_id)
            or await ratings.was_asked(callback_data.id, channel, chat_id)
        ):
            await callback.answer(not_entitled_text(), show_alert=True)
            return
        view = await repo.find_by_id(callback_data.id)
        if view is None or view.status != 10:
            await callback.answer(not_entitled_text(), show_alert=True)
            return
        await ratings.rate(
            dossier_id=view.id,
            agency=view.agency,
            procedure_code=view.procedure_code,
            level=callback_data.level,
            channel=channel,
            chat_id=chat_id,
        )
        await session.commit()
        await callback.answer()
        text = thanks_rating_text(callback_data.level)
        if isinstance(callback.message, Message):
            await callback.message.edit_text(text)
        elif callback.bot is not None:
            await callback.bot.send_message(callback.from_user.id, text)

    return router


def _current_language() -> str | None:
    from aiogram.utils.i18n import I18n

    i18n = I18n.get_current(no_error=True)
    return i18n.current_locale if i18n is not None else None
