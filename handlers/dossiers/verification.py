"""Who may see a dossier: the chat's recent verifications (kept in the conversation state), its
subscriptions, and the lockouts after failed second factors (per chat user and per code)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.dossier import (
    CODE_FAILURE_WINDOW,
    CODE_MAX_FAILURES,
    USER_FAILURE_WINDOW,
    USER_MAX_FAILURES,
    locked_until,
)
from storage.repositories.dossiers import DossierRepository
from storage.repositories.lookup_failures import LookupFailureRepository

from .texts import not_entitled_text

VERIFIED_FOR = timedelta(minutes=30)  # a verified card's buttons work this long (shared screens)
FSM_VERIFIED = "verified_dossiers"
MAX_VERIFIED_KEPT = 20


def now_utc() -> datetime:
    return datetime.now(UTC)


async def user_locked_until(session: AsyncSession, channel: str, user_id: str) -> datetime | None:
    """Until when this chat user may not try again (too many failures), or None."""
    failures = await LookupFailureRepository(session).recent(
        channel, user_id, now_utc() - USER_FAILURE_WINDOW
    )
    return locked_until(failures, USER_MAX_FAILURES, USER_FAILURE_WINDOW)


async def code_locked_until(session: AsyncSession, key: str) -> datetime | None:
    """Until when digits are refused for this code (too many digit guesses by anyone), or None.
    A contact share is still accepted: Telegram vouches for the number, it cannot be guessed."""
    failures = await LookupFailureRepository(session).recent_for_code(
        key, now_utc() - CODE_FAILURE_WINDOW
    )
    return locked_until(failures, CODE_MAX_FAILURES, CODE_FAILURE_WINDOW)


async def failures_left(session: AsyncSession, channel: str, user_id: str) -> int:
    failures = await LookupFailureRepository(session).recent(
        channel, user_id, now_utc() - USER_FAILURE_WINDOW
    )
    return max(0, USER_MAX_FAILURES - len(failures))


async def verified_ids(state: FSMContext) -> dict[int, float]:
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


async def remember_verified(state: FSMContext, dossier_id: int) -> None:
    kept = await verified_ids(state)
    kept.pop(dossier_id, None)
    kept[dossier_id] = now_utc().timestamp()
    entries = [[key, at] for key, at in kept.items()][-MAX_VERIFIED_KEPT:]
    await state.update_data({FSM_VERIFIED: entries})


async def is_entitled(
    state: FSMContext, repo: DossierRepository, dossier_id: int, channel: str, chat_id: str
) -> bool:
    """The chat verified this dossier recently, or follows it."""
    if dossier_id in await verified_ids(state):
        return True
    return await repo.is_subscribed(dossier_id, channel, chat_id)


def callback_chat_id(callback: CallbackQuery) -> str:
    """The chat a button was pressed in (the user's private chat when the message is gone)."""
    if isinstance(callback.message, Message):
        return str(callback.message.chat.id)
    return str(callback.from_user.id)


async def refuse(callback: CallbackQuery) -> None:
    """The one answer to a button this chat may not use (or whose dossier is gone)."""
    await callback.answer(not_entitled_text(), show_alert=True)
