"""The rating buttons sent after a dossier's result was returned: the level is stored once per
chat, for the centre's satisfaction figures."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import channel_of
from handlers.replies import edit_or_send
from knowledge.dossier import Status
from storage.repositories.dossiers import DossierRepository
from storage.repositories.ratings import RatingRepository

from . import texts
from .callbacks import RateService
from .verification import callback_chat_id, is_entitled, refuse


async def rate(
    callback: CallbackQuery,
    callback_data: RateService,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
) -> None:
    channel = channel_of(bot)
    chat_id = callback_chat_id(callback)
    repo = DossierRepository(session)
    ratings = RatingRepository(session)
    if not (
        await is_entitled(state, repo, callback_data.id, channel, chat_id)
        or await ratings.was_asked(callback_data.id, channel, chat_id)
    ):
        await refuse(callback)
        return
    view = await repo.find_by_id(callback_data.id)
    if view is None or view.status != Status.RETURNED:
        await refuse(callback)
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
    await edit_or_send(callback, texts.thanks_rating_text(callback_data.level), None)
