"""The buttons under a dossier card: show it again, follow it (status pushes), stop following.
Each checks first that the chat verified the dossier recently or follows it.

On Zalo the follow confirmation says how a push reaches a citizen outside the 48-hour reply
window: as a ZNS message to the phone they gave, when the deployment has a ZNS template for
status pushes and the citizen gave a phone; otherwise when they next write."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.common.keyboards import back_to_menu
from handlers.contracts import DialogSettings
from handlers.i18n import channel_of
from handlers.replies import reply_to_callback
from knowledge.outbox import OutboxKind
from knowledge.search import SearchIndex
from storage.repositories.dossiers import DossierRepository
from storage.repositories.zalo_users import ZaloUserRepository

from . import texts
from .callbacks import DossierAction, DossierOp
from .keyboards import dossier_keyboard, push_keyboard
from .render import render_dossier_card
from .verification import callback_chat_id, is_entitled, now_utc, refuse


async def _zalo_note(session: AsyncSession, settings: DialogSettings, chat_id: str) -> str:
    """What the follow confirmation tells a Zalo citizen about pushes outside the window."""
    if OutboxKind.DOSSIER_STATUS in settings.zalo_zns_templates and chat_id.isdigit():
        user = await ZaloUserRepository(session).by_chat_id(int(chat_id))
        if user is not None and user.phone:
            return texts.followed_zalo_zns_note()
    return texts.followed_zalo_note()


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
    if callback_data.op is DossierOp.FOLLOW:
        await repo.subscribe(view.id, channel, chat_id, _current_language())
        text, markup = texts.followed_text(), push_keyboard(view.id)
        if channel == "zalo":
            text = f"{text}\n\n{await _zalo_note(session, settings, chat_id)}"
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
