"""The outbox renderers of dossiers: pushes to the chats that follow a dossier, rendered at
send time.

Each renderer (`handlers.contracts.Renderer`) turns an outbox row into a `Rendered` message in
the recipient's language, or None when there is nothing to say any more (the dossier was
deleted, or the chat stopped following it before the message went out).

A status change and a new appointment date also carry the parameters of a message template
(a ZNS message outside Zalo's reply window): ``receipt_code``, ``status`` (in plain words) and
``date`` (the status's; the new appointment's) — the code the citizen gave, nothing personal.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.contracts import Rendered, Renderer, template_values
from handlers.dossiers import render as dossier_render
from handlers.dossiers.keyboards import push_keyboard, rating_keyboard
from handlers.dossiers.render import LOCAL_TZ, procedure_of, status_label
from handlers.formatting import format_date
from knowledge.outbox import OutboxKind
from knowledge.search import SearchIndex
from storage.outbox import OutboxRow
from storage.repositories.dossiers import DossierRepository, DossierView


async def _followed(session: AsyncSession, row: OutboxRow) -> DossierView | None:
    """The row's dossier if its chat still follows it (else there is nothing to say)."""
    repo = DossierRepository(session)
    dossier_id = int(row.payload["dossier_id"])
    if not await repo.is_subscribed(dossier_id, row.channel, row.chat_id):
        return None
    return await repo.find_by_id(dossier_id)


def _status_date(view: DossierView, status: int) -> datetime | None:
    """When the dossier reached ``status`` (its latest such event), else its status time."""
    for event in reversed(view.events):
        if event.status == status and event.status_at is not None:
            return event.status_at
    return view.status_at


def _local_date(value: datetime | None) -> str | None:
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return format_date(aware.astimezone(LOCAL_TZ).date())


def create_dossier_renderers(i18n: I18n, index: SearchIndex) -> dict[str, Renderer]:
    """The renderers of the dossier kinds of outbox rows, by kind."""

    def locale(language: str | None) -> str:
        return language if language in i18n.available_locales else i18n.default_locale

    async def dossier_status(session: AsyncSession, row: OutboxRow) -> Rendered | None:
        view = await _followed(session, row)
        if view is None:
            return None
        status = int(row.payload.get("status") or view.status)
        with i18n.context(), i18n.use_locale(locale(row.language)):
            text = dossier_render.render_status_push(
                view, procedure_of(index, view.procedure_code), status, datetime.now(UTC)
            )
            params = template_values(
                {
                    "receipt_code": view.receipt_code,
                    "status": status_label(status),
                    "date": _local_date(_status_date(view, status)),
                }
            )
            return Rendered(text=text, reply_markup=push_keyboard(view.id), template_data=params)

    async def dossier_rating(session: AsyncSession, row: OutboxRow) -> Rendered | None:
        view = await _followed(session, row)
        if view is None:
            return None
        with i18n.context(), i18n.use_locale(locale(row.language)):
            text = dossier_render.render_rating_prompt(
                view, procedure_of(index, view.procedure_code)
            )
            return Rendered(text=text, reply_markup=rating_keyboard(view.id))

    async def dossier_apology(session: AsyncSession, row: OutboxRow) -> Rendered | None:
        view = await _followed(session, row)
        if view is None:
            return None
        try:
            new_date = datetime.fromisoformat(str(row.payload["new_appointment_at"]))
        except (KeyError, ValueError):
            return None
        if new_date.tzinfo is None:
            new_date = new_date.replace(tzinfo=UTC)
        reason = row.payload.get("reason")
        with i18n.context(), i18n.use_locale(locale(row.language)):
            text = dossier_render.render_apology_push(
                view,
                procedure_of(index, view.procedure_code),
                new_date,
                str(reason) if reason else None,
            )
            params = template_values(
                {"receipt_code": view.receipt_code, "date": _local_date(new_date)}
            )
            return Rendered(text=text, reply_markup=push_keyboard(view.id), template_data=params)

    return {
        OutboxKind.DOSSIER_STATUS: dossier_status,
        OutboxKind.DOSSIER_RATING: dossier_rating,
        OutboxKind.DOSSIER_APOLOGY: dossier_apology,
    }
