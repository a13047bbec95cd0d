"""The actions on a petition from the inbox (take, ask for information, answer, refuse,
publish), through ``PetitionRepository``: event, audit and the citizen's message in one
transaction, then the outbox worker is woken."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.jobs.outbox import OUTBOX_KEY
from handlers.officials import inbox_texts as tx
from knowledge.petition_workflow import PetitionError
from storage.records import OfficialRecord, PetitionRecord
from storage.repositories.inbox import InboxRepository
from storage.repositories.petitions import PetitionRepository

from .auth import not_signed_in, signed_in, signed_post
from .context import (
    ACTIONS,
    CODE_RE,
    PREFIX,
    TEXT_MAX_CHARS,
    VIA,
    View,
    not_found,
    read_form,
    route,
    see_other,
)
from .filters import clean_input
from .views import agency_petition, detail

logger = logging.getLogger(__name__)

_ERROR_STATUS = {"empty_text": 400, "too_long": 400, "wrong_status": 409, "not_allowed": 403}


@route
async def petition_action(request: web.Request, view: View) -> web.StreamResponse:
    inbox = view.inbox
    code = request.match_info["code"]
    action = request.match_info["action"]
    form = await read_form(request)
    async with inbox.session_factory() as session:
        signed = await signed_post(request, session, view, form)
        if isinstance(signed, web.Response):
            return signed
        if action not in ACTIONS or not CODE_RE.fullmatch(code):
            return not_found(view)
        petition = await agency_petition(session, view, code, for_change=True)
        if petition is None:
            return not_found(view)
        text = clean_input(form.get("text", ""))
        error_code = _text_problem(action, text)
        if not error_code:
            try:
                await _apply(session, petition, signed.official, action, text, inbox.clock())
                await session.commit()
            except PetitionError as error:
                error_code = error.code
                await session.rollback()
        if error_code:
            return await _refused(request, session, view, code, action, form, error_code)
    worker = request.app.get(OUTBOX_KEY)
    if worker is not None:
        worker.wake()  # the citizen's message is committed: send it now
    logger.info("inbox: official %d did %s on petition %d", signed.official.id, action, petition.id)
    return see_other(f"{PREFIX}/p/{code}?" + urlencode({"done": action}))


def _text_problem(action: str, text: str) -> str:
    """Why the typed text cannot be sent for ``action`` ("" when it can)."""
    if action in ("info", "answer", "refuse"):
        if not text:
            return "empty_text"
        if len(text) > TEXT_MAX_CHARS:
            return "too_long"
    return ""


async def _refused(
    request: web.Request,
    session: AsyncSession,
    view: View,
    code: str,
    action: str,
    form: Mapping[str, str],
    error_code: str,
) -> web.StreamResponse:
    """The petition's page again, saying why nothing was done, with the typed text kept."""
    await session.rollback()  # expires every loaded object: load them again
    signed = await signed_in(request, session, view)
    if signed is None:
        return not_signed_in(request, view)
    petition = await InboxRepository(session).of_agency(signed.agency.id, code)
    if petition is None:  # moved to another agency meanwhile
        return not_found(view)
    drafts = {action: form.get("text", "")[: TEXT_MAX_CHARS * 2]}
    return await detail(
        request,
        session,
        view,
        petition,
        error=_error_text(view.t, error_code, petition.status),
        drafts=drafts,
        status=_ERROR_STATUS.get(error_code, 400),
    )


async def _apply(
    session: AsyncSession,
    petition: PetitionRecord,
    official: OfficialRecord,
    action: str,
    text: str,
    now: datetime,
) -> None:
    repo = PetitionRepository(session)
    if action == "take":
        await repo.take(petition, official, via=VIA, now=now)
    elif action == "info":
        await repo.request_info(petition, official, text, via=VIA, now=now)
    elif action == "answer":
        await repo.answer(petition, official, text, via=VIA, now=now)
    elif action == "refuse":
        await repo.refuse(petition, official, text, via=VIA, now=now)
    elif action == "publish":
        await repo.publish(petition, official, via=VIA, now=now)
    else:  # pragma: no cover - routes allow only ACTIONS
        raise PetitionError("not_allowed")


def _error_text(t: tx.InboxTexts, code: str, status: str) -> str:
    if code == "empty_text":
        return t.error_empty_text
    if code == "too_long":
        return t.error_too_long.format(max=TEXT_MAX_CHARS)
    if code == "wrong_status":
        return t.error_wrong_status.format(status=tx.status_label(status))
    return t.error_not_allowed
