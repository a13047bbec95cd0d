"""Messages the outbox sends on its own (not in answer to an update), rendered at send time.

Each renderer turns an outbox payload into ``(html, keyboard)`` in the recipient's language,
or None when there is nothing to say any more (the dossier was deleted, or the chat stopped
following it before the message went out).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.search import SearchIndex
from storage.repositories.dossiers import DossierRepository, DossierView

from . import dossier_render
from .dossiers import procedure_of, push_keyboard, rating_keyboard

RenderedText = tuple[str, InlineKeyboardMarkup | None]
NotificationRenderer = Callable[
    [AsyncSession, str, str, dict[str, Any], str | None], Awaitable[RenderedText | None]
]

DOSSIER_STATUS = "dossier_status"
DOSSIER_RATING = "dossier_rating"
DOSSIER_APOLOGY = "dossier_apology"


async def _followed(
    session: AsyncSession, channel: str, chat_id: str, payload: dict[str, Any]
) -> DossierView | None:
    """The payload's dossier if this chat still follows it (else there is nothing to say)."""
    repo = DossierRepository(session)
    dossier_id = int(payload["dossier_id"])
    if not await repo.is_subscribed(dossier_id, channel, chat_id):
        return None
    return await repo.find_by_id(dossier_id)


def create_notification_renderers(
    i18n: I18n, index: SearchIndex
) -> dict[str, NotificationRenderer]:
    """Renderers by outbox kind: ``(session, channel, chat_id, payload, language)``."""

    def locale(language: str | None) -> str:
        return language if language in i18n.available_locales else i18n.default_locale

    async def dossier_status(
        session: AsyncSession,
        channel: str,
        chat_id: str,
        payload: dict[str, Any],
        language: str | None,
    ) -> RenderedText | None:
        view = await _followed(session, channel, chat_id, payload)
        if view is None:
            return None
        status = int(payload.get("status") or view.status)
        with i18n.context(), i18n.use_locale(locale(language)):
            text = dossier_render.render_status_push(
                view, procedure_of(index, view.procedure_code), status, datetime.now(UTC)
            )
            return text, push_keyboard(view.id)

    async def dossier_rating(
        session: AsyncSession,
        channel: str,
        chat_id: str,
        payload: dict[str, Any],
        language: str | None,
    ) -> RenderedText | None:
        view = await _followed(session, channel, chat_id, payload)
        if view is None:
            return None
        with i18n.context(), i18n.use_locale(locale(language)):
            text = dossier_render.render_rating_prompt(
                view, procedure_of(index, view.procedure_code)
            )
            return text, rating_keyboard(view.id)

    async def dossier_apology(
        session: AsyncSession,
        channel: str,
        chat_id: str,
        payload: dict[str, Any],
        language: str | None,
    ) -> RenderedText | None:
        view = await _followed(session, channel, chat_id, payload)
        if view is None:
            return None
        try:
            new_date = datetime.fromisoformat(str(payload["new_appointment_at"]))
        except (KeyError, ValueError):
            return None
        if new_date.tzinfo is None:
            new_date = new_date.replace(tzinfo=UTC)
        reason = payload.get("reason")
        with i18n.context(), i18n.use_locale(locale(language)):
            text = dossier_render.render_apology_push(
                view,
                procedure_of(index, view.procedure_code),
                new_date,
                str(reason) if reason else None,
            )
            return text, push_keyboard(view.id)

    return {
        DOSSIER_STATUS: dossier_status,
        DOSSIER_RATING: dossier_rating,
        DOSSIER_APOLOGY: dossier_apology,
    }
