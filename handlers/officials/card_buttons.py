"""The buttons of a petition's card (and of the notifications' "Open"): each opens a view of
the card or starts a change; the button carries only the petition id, so the petition is
loaded again and must be of the official's agency."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.contracts import Waker
from handlers.i18n import channel_of
from knowledge.petition_workflow import PetitionStatus, public_names
from knowledge.petitions import redact_personal_data
from storage.records import OfficialRecord, PetitionRecord

from .callbacks import OfficialPetition, PetitionOp
from .card import pressed_petition, send_attachments, send_full_text, show_card
from .changes import act
from .messaging import send
from .render_errors import error_text
from .render_prompts import publish_keyboard, publish_preview
from .reroute import start_reroute
from .typed_texts import TYPED_OPS, start_typed_text


@dataclass(frozen=True)
class _Press:
    """One press of a card button, with what every action needs."""

    callback: CallbackQuery
    op: PetitionOp
    state: FSMContext
    session: AsyncSession
    bot: Bot
    official: OfficialRecord
    petition: PetitionRecord
    via: str
    outbox: Waker | None


async def _open(press: _Press) -> None:
    await press.callback.answer()
    await show_card(
        press.callback,
        press.session,
        press.official,
        press.petition,
        press.via,
        edit=press.op is PetitionOp.REFRESH,
    )


async def _files(press: _Press) -> None:
    await press.callback.answer()
    await send_attachments(
        press.callback, press.session, press.official, press.petition, press.bot, press.via
    )


async def _full_text(press: _Press) -> None:
    await press.callback.answer()
    await send_full_text(press.callback, press.session, press.official, press.petition, press.via)


async def _take(p: _Press) -> None:
    await act(p.callback, p.session, p.official, p.petition, p.op, p.via, p.outbox)


async def _typed(p: _Press) -> None:
    await start_typed_text(p.callback, p.state, p.session, p.official, p.petition, p.op, p.via)


async def _publish(press: _Press) -> None:
    """The public copy (personal data masked as ``publish()`` will mask it) to confirm."""
    callback, petition = press.callback, press.petition
    await callback.answer()
    if petition.status != PetitionStatus.ANSWERED:
        await send(callback, error_text("wrong_status"))
        await show_card(callback, press.session, press.official, petition, press.via)
        return
    names = public_names(petition)  # the same strings publish() masks
    preview = publish_preview(
        petition,
        redact_personal_data(petition.content, names=names),
        redact_personal_data(petition.answer or "", names=names),
    )
    await send(callback, preview, publish_keyboard(petition.id))


async def _reroute(press: _Press) -> None:
    await start_reroute(press.callback, press.session, press.official, press.petition, press.via)


_ON_PRESS: dict[PetitionOp, Callable[[_Press], Awaitable[None]]] = {
    PetitionOp.OPEN: _open,
    PetitionOp.REFRESH: _open,
    PetitionOp.FILES: _files,
    PetitionOp.TEXT: _full_text,
    PetitionOp.TAKE: _take,
    **{op: _typed for op in TYPED_OPS},
    PetitionOp.PUBLISH: _publish,
    PetitionOp.REROUTE: _reroute,
}


async def petition_button(
    callback: CallbackQuery,
    callback_data: OfficialPetition,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    official: OfficialRecord,
    outbox: Waker | None = None,
) -> None:
    via = channel_of(bot)
    petition = await pressed_petition(callback, session, official, callback_data.id, via)
    if petition is None:
        return
    op = callback_data.op
    press = _Press(callback, op, state, session, bot, official, petition, via, outbox)
    await _ON_PRESS[op](press)
