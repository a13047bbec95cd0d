"""The phone ZNS messages go to: asked for with a card of its own, kept only when the citizen
answered *that* card, shown back masked, forgotten on request.

Outside Zalo's 48-hour reply window a push can go as a ZNS template message to a phone number
(``bot.jobs.senders.ZaloSender``). That number must be one the citizen gave *to receive these
messages*. The same "request user info" card also serves the dossier lookup's second factor,
where the citizen types the *applicant's* number (a relative's, or a guess): that answer is
never kept. Zalo's answer does not say which card it answers, so the conversation remembers
which card it sent last (``ZNS_CARD`` in the FSM data):

- ``offer_card``: where the deployment sends ZNS for a kind of push and the chat has no phone
  kept, a dialog (the dossier follow confirmation) sends the card with its purpose, and the
  conversation notes that the last card sent was this one;
- ``forget_card``: the dossier lookup's factor step sends its own card and clears the note, so
  an answer then (or later, to that card) is a guess at the applicant's number, never kept;
- ``phone_given``: a claimed contact (``handlers.common.contact_sharing``) outside the factor
  step while the note is there: kept as the ZNS phone (a Vietnamese mobile number only), and
  confirmed with the number masked ("09•••••777") and how to stop;
- ``stop_command`` (/stopzns, /huyzns) and the "Stop ZNS" button: the phone is forgotten.

The phone is a Zalo user's (``zalo_users.phone``): on the other channels nothing is offered and
nothing is kept.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.contracts import DialogSettings
from handlers.i18n import channel_of
from handlers.replies import reply_to_callback
from knowledge.dossier import mask_phone, national_phone
from knowledge.petitions import is_valid_phone
from storage.repositories.zalo_users import ZaloUserRepository

from . import zns_texts as texts
from .callbacks import ZnsStop
from .contact_sharing import contact_sharing

logger = logging.getLogger(__name__)

ZNS_CARD = "zns_card"
"""FSM data: True while the last phone card sent to this chat is the ZNS one."""

ZNS_CHANNEL = "zalo"


def _zalo_chat(channel: str, chat_id: str) -> int | None:
    return int(chat_id) if channel == ZNS_CHANNEL and chat_id.isdigit() else None


async def kept_phone(session: AsyncSession, channel: str, chat_id: str) -> str | None:
    """The phone ZNS messages of this chat go to; None when there is none (or no ZNS here)."""
    chat = _zalo_chat(channel, chat_id)
    if chat is None:
        return None
    user = await ZaloUserRepository(session).by_chat_id(chat)
    return user.phone if user is not None and user.phone else None


def zns_configured(bot: Bot | None, settings: DialogSettings, kind: str) -> bool:
    """ZNS messages go for pushes of ``kind`` on this bot's channel."""
    return channel_of(bot) == ZNS_CHANNEL and kind in settings.zalo_zns_templates


def may_offer_card(bot: Bot | None, settings: DialogSettings, kind: str) -> bool:
    """ZNS goes for ``kind`` and the channel can send the card (its answer: a claimed number)."""
    return zns_configured(bot, settings, kind) and contact_sharing(bot) == "claimed"


def card_keyboard() -> ReplyKeyboardMarkup:
    """The key that becomes the card on Zalo (``bot.channels.zalo.render``)."""
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=texts.card_title(), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def stop_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=texts.stop_button(), callback_data=ZnsStop().pack())]
        ]
    )


async def offer_card(bot: Bot, chat_id: str, state: FSMContext) -> None:
    """Send the card asking for the ZNS phone; its answer is kept (``phone_given``)."""
    await state.update_data({ZNS_CARD: True})
    await bot.send_message(chat_id=chat_id, text=texts.card_text(), reply_markup=card_keyboard())


async def forget_card(state: FSMContext) -> None:
    """Another phone card goes out (the lookup's factor step): an answer is not for ZNS."""
    if (await state.get_data()).get(ZNS_CARD):
        await state.update_data({ZNS_CARD: None})


async def answers_zns_card(message: Message, state: FSMContext) -> bool:
    """Filter: the last phone card sent to this chat is the ZNS one."""
    return bool((await state.get_data()).get(ZNS_CARD))


def is_mobile_phone(phone: str) -> bool:
    """A Vietnamese mobile number (ZNS reaches no landline)."""
    return is_valid_phone(phone) and not national_phone(phone).startswith("2")


async def phone_given(message: Message, state: FSMContext, session: AsyncSession, bot: Bot) -> None:
    """The answer to the ZNS card: the phone ZNS messages of this chat now go to."""
    contact = message.contact
    phone = " ".join((contact.phone_number if contact is not None else "").split())
    chat = _zalo_chat(channel_of(bot), str(message.chat.id))
    if chat is None:
        return
    if not is_mobile_phone(phone):
        await message.answer(texts.not_mobile_text())
        return
    await ZaloUserRepository(session).set_phone(chat, phone)
    await session.commit()
    logger.info("ZNS phone kept for Zalo chat %s", chat)
    await message.answer(texts.kept_text(mask_phone(phone)), reply_markup=stop_keyboard())


async def _stop(session: AsyncSession, state: FSMContext, channel: str, chat_id: str) -> str:
    await forget_card(state)
    chat = _zalo_chat(channel, chat_id)
    if chat is None or await kept_phone(session, channel, chat_id) is None:
        return texts.nothing_kept_text()
    await ZaloUserRepository(session).set_phone(chat, None)
    await session.commit()
    logger.info("ZNS phone forgotten for Zalo chat %s", chat)
    return texts.stopped_text()


async def stop_command(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot
) -> None:
    text = await _stop(session, state, channel_of(bot), str(message.chat.id))
    await message.answer(text)


async def stop_pressed(
    callback: CallbackQuery, state: FSMContext, session: AsyncSession, bot: Bot
) -> None:
    chat = callback.message.chat.id if callback.message is not None else callback.from_user.id
    text = await _stop(session, state, channel_of(bot), str(chat))
    await callback.answer()
    await reply_to_callback(callback, text, None)
