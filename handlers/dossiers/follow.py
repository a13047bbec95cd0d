"""The buttons under a dossier card: show it again, follow it (status pushes), stop following.
Each checks first that the chat verified the dossier recently or follows it.

On Zalo the follow confirmation says how a push reaches a citizen outside the 48-hour reply
window: as a ZNS message to the phone kept for it (shown masked) when the deployment has a ZNS
template for status pushes and a phone is kept; otherwise when they next write. With the ZNS
template, no phone kept and an OA that sends "request user info" cards, the card asking for the
ZNS phone follows the confirmation (``handlers.common.zns``)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.common import zns
from handlers.common.keyboards import back_to_menu
from handlers.contracts import DialogSettings
from handlers.i18n import channel_of
from handlers.replies import reply_to_callback
from knowledge.dossier import mask_phone
from knowledge.outbox import OutboxKind
from knowledge.search import SearchIndex
from storage.repositories.dossiers import DossierRepository

from . import texts
from .callbacks import DossierAction, DossierOp
from .keyboards import dossier_keyboard, push_keyboard
from .lookup import DossierLookup
from .render import render_dossier_card
from .verification import callback_chat_id, is_entitled, now_utc, refuse


async def _zalo_note(
    session: AsyncSession, settings: DialogSettings, bot: Bot, chat_id: str
) -> tuple[str, bool]:
    """What the follow confirmation tells a Zalo citizen about pushes outside the window, and
    whether the card asking for the ZNS phone is to follow it."""
    kind = OutboxKind.DOSSIER_STATUS
    if not zns.zns_configured(bot, settings, kind):
        return texts.followed_zalo_note(), False
    phone = await zns.kept_phone(session, channel_of(bot), chat_id)
    masked = mask_phone(phone) if phone else ""
    if masked:
        return texts.followed_zalo_zns_note(masked), False
    if zns.may_offer_card(bot, settings, kind):
        return texts.followed_zalo_zns_offer_note(), True
    return texts.followed_zalo_note(), False


def _current_language() -> str | None:
    i18n = I18n.get_current(no_error=True)
    return i18n.current_locale if i18n is not None else None


async def dossier_action(
    callback: CallbackQuery,
    callback_data: DossierAction,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    index: SearchIndex,
    settings: DialogSettings,
) -> None:
    channel = channel_of(bot)
    chat_id = callback_chat_id(callback)
    repo = DossierRepository(session)
    dossier_id = callback_data.id
    if not await is_entitled(state, repo, dossier_id, channel, chat_id):
        await refuse(callback)
        return
    view = await repo.find_by_id(dossier_id)
    if view is None:
        await refuse(callback)
        return
    markup: InlineKeyboardMarkup
    offer_card = False
    if callback_data.op is DossierOp.FOLLOW:
        await repo.subscribe(view.id, channel, chat_id, _current_language())
        text, markup = texts.followed_text(), push_keyboard(view.id)
        if channel == "zalo":
            note, offer_card = await _zalo_note(session, settings, bot, chat_id)
            text = f"{text}\n\n{note}"
    elif callback_data.op is DossierOp.UNFOLLOW:
        await repo.unsubscribe(view.id, channel, chat_id)
        text, markup = texts.unfollowed_text(), back_to_menu()
    else:
        await callback.answer()
        following = await repo.is_subscribed(view.id, channel, chat_id)
        text = render_dossier_card(view, index, now_utc())
        await reply_to_callback(callback, text, dossier_keyboard(view.id, following))
        return
    await session.commit()
    await callback.answer()
    await reply_to_callback(callback, text, markup)
    if offer_card:
        if await state.get_state() == DossierLookup.factor.state:
            await state.set_state(None)  # a button of an older card: the lookup is left
        await zns.offer_card(bot, chat_id, state)
