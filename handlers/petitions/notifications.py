"""Outbox renderers of petitions: new work for officials, and each step for the citizen.

Rendered at send time, in the recipient's language, from what the database says then: a
message that no longer concerns its recipient renders as None (skipped, see bot/jobs/outbox.py). An
official hears about a petition only while still active and of the petition's agency (it may
have been re-routed, or the official removed, since the row was written); a citizen hears only
about a petition of their own chat.

The citizen's steps and the officials' notices also carry the parameters of a message template
(a ZNS message outside Zalo's reply window): ``tracking_code`` and ``status`` (the step in a
few words) and ``date`` for the citizen, ``tracking_code`` and ``answer_by`` for an official —
codes and dates, nothing personal. The continuation parts of a long answer have none (one
notification per answer is enough).

An answer can be longer than one Telegram message: the repository writes one row per event, so
:func:`enqueue_answer_parts` adds the continuation rows (parts 2..n) in the same transaction, and
the first part says whether more follows. Whoever records an answer (the chat, the inbox page)
should call it; when nobody did, the first part ends by pointing to the petition's details.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.contracts import Rendered, Renderer, template_values
from handlers.formatting import format_date
from handlers.markup import quote, shorten
from handlers.officials.render_shared import deadline_mark, open_keyboard, split_text
from handlers.petitions.callbacks import PetitionReply, PetitionView
from handlers.petitions.labels import step_label
from knowledge.outbox import OutboxKind
from knowledge.petition_workflow import CLOSED_STATUSES, PetitionAction, PetitionStatus
from knowledge.petitions import DeadlineStatus, deadline_status
from knowledge.workdays import to_local
from storage.outbox import OutboxRow, enqueue, outbox_has
from storage.records import EventRecord, OfficialRecord, PetitionRecord
from storage.repositories.agencies import AgencyRepository
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import PetitionRepository, citizen_update

ANSWER_CHUNK = 3500
"""Characters of the answer per message (as Telegram counts them); the rest of the 4096 is
the header (the agency's name is at most 255)."""
NOTE_BUDGET = 3400
"""A question or a refusal reason in one message (longer ones are shortened)."""
REPLY_PREVIEW = 500  # characters of the citizen's reply quoted to the official


def answer_chunks(text: str) -> list[str]:
    """The pieces an answer is sent in (the same for every language: the rows are counted when
    the answer is recorded, the texts rendered later)."""
    return split_text(text, ANSWER_CHUNK) or [""]


def _part_key(event_id: int, part: int) -> str:
    return f"petition-event:{event_id}:part:{part}"


async def enqueue_answer_parts(
    session: AsyncSession, petition: PetitionRecord, event: EventRecord
) -> int:
    """Queue parts 2..n of a long answer for the citizen, after the first part the repository
    queued (same transaction; a chat's rows go out in order). Returns how many were new."""
    if (
        petition.channel is None
        or petition.chat_id is None
        or event.action != PetitionAction.ANSWER
    ):
        return 0
    chunks = answer_chunks(event.note or "")
    if len(chunks) < 2:
        return 0
    return await enqueue(
        session,
        [
            citizen_update(
                petition,
                {
                    "action": PetitionAction.ANSWER,
                    "event_id": event.id,
                    "part": part,
                    "parts": len(chunks),
                },
                dedup_key=_part_key(event.id, part),
            )
            for part in range(2, len(chunks) + 1)
        ],
    )


async def _continuation_queued(session: AsyncSession, petition_id: int, note: str) -> bool:
    """Were parts 2..n queued for this answer? (The first part's payload has no event id.)"""
    event_id = await PetitionRepository(session).latest_event_id(
        petition_id, PetitionAction.ANSWER, note
    )
    if event_id is None:
        return False
    return await outbox_has(session, _part_key(event_id, 2))


def _fit(text: str, budget: int) -> tuple[str, bool]:
    """``text`` escaped and cut to ``budget`` characters; True when it was cut."""
    pieces = split_text(text, budget)
    if len(pieces) <= 1:
        return quote(text.strip()), False
    return quote(pieces[0]) + " …", True


def _details_keyboard(petition_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("📄 My petition"), callback_data=PetitionView(id=petition_id).pack()
                )
            ]
        ]
    )


def _reply_keyboard(petition_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("✍️ Reply"),
                    callback_data=PetitionReply(petition_id=petition_id).pack(),
                ),
                InlineKeyboardButton(
                    text=_("📄 My petition"), callback_data=PetitionView(id=petition_id).pack()
                ),
            ]
        ]
    )


# --- texts -------------------------------------------------------------------------------------


def render_new_for_official(
    petition: PetitionRecord, reason: str, now: datetime, reply: str | None = None
) -> str:
    """The notice to an official: what happened, the topic, the answer deadline."""
    code = petition.tracking_code
    if reason == PetitionAction.REROUTED:
        head = _("↪️ Petition <b>{code}</b> was re-routed to your agency.").format(code=code)
    elif reason == PetitionAction.INFO_PROVIDED:
        head = _("💬 The citizen replied about petition <b>{code}</b>.").format(code=code)
    else:
        head = _("📨 New petition <b>{code}</b>.").format(code=code)
    lines = [head, _("Topic: {topic}").format(topic=quote(shorten(petition.topic, 300)))]
    if reply:
        lines.append(_("Reply: <i>{text}</i>").format(text=quote(shorten(reply, REPLY_PREVIEW))))
    due = _("Answer by {date}").format(date=format_date(petition.answer_by))
    status = deadline_status(petition.answer_by, now)
    if status is not DeadlineStatus.OK:
        due += " " + deadline_mark(status)
    lines.append(due)
    return "\n".join(lines)


def render_taken(petition: PetitionRecord, agency_name: str) -> str:
    return _(
        "👷 Your petition <b>{code}</b> is being handled by <b>{agency}</b>. We will tell you "
        "here when there is an answer."
    ).format(code=petition.tracking_code, agency=quote(agency_name))


def render_info_requested(
    petition: PetitionRecord, agency_name: str, question: str, can_reply: bool
) -> str:
    body, cut = _fit(question, NOTE_BUDGET)
    lines = [
        _("❓ <b>{agency}</b> needs more information about your petition <b>{code}</b>:").format(
            agency=quote(agency_name), code=petition.tracking_code
        ),
        "",
        f"<i>{body}</i>",
    ]
    if cut:
        lines += ["", _("(Shortened here: the whole text is in your petition's details.)")]
    if can_reply:
        lines += ["", _("Please tap “Reply” and send the information (text, photos or files).")]
    else:
        lines += ["", _("The petition has moved on since; no reply is needed now.")]
    return "\n".join(lines)


def render_answer_part(
    petition: PetitionRecord, agency_name: str, chunk: str, part: int, parts: int, more_queued: bool
) -> str:
    """Part ``part`` of ``parts`` of the answer (the first with the header)."""
    if part == 1:
        head = _("✅ <b>{agency}</b> has answered your petition <b>{code}</b>:").format(
            agency=quote(agency_name), code=petition.tracking_code
        )
    else:
        head = _("✅ Answer to <b>{code}</b>, continued").format(code=petition.tracking_code)
    if parts > 1:
        head += f" ({part}/{parts})"
    text = f"{head}\n\n{quote(chunk)}"
    if part < parts:
        text += "\n\n" + (
            _("(continued in the next message ⬇️)")
            if more_queued
            else _("(The answer is long: the whole text is in your petition's details.)")
        )
    elif part == parts:
        text += "\n\n" + _("The answer will be published with your personal data removed.")
    return text


def render_refused(petition: PetitionRecord, agency_name: str, reason: str) -> str:
    body, cut = _fit(reason, NOTE_BUDGET)
    lines = [
        _("⛔ <b>{agency}</b> did not accept your petition <b>{code}</b>.").format(
            agency=quote(agency_name), code=petition.tracking_code
        ),
        _("Reason: <i>{reason}</i>").format(reason=body),
    ]
    if cut:
        lines.append(_("(Shortened here: the whole text is in your petition's details.)"))
    lines += [
        "",
        _(
            "If you disagree with a decision about your own case, a complaint (khiếu nại) goes "
            "to the competent agency under the Law on Complaints; a petition is not the way "
            "for it."
        ),
    ]
    return "\n".join(lines)


def render_published(petition: PetitionRecord) -> str:
    return _(
        "📢 The answer to your petition <b>{code}</b> has been published, with your personal "
        "data removed. Thank you for helping improve public services."
    ).format(code=petition.tracking_code)


# --- renderers ---------------------------------------------------------------------------------


async def _petition(session: AsyncSession, payload: dict[str, Any]) -> PetitionRecord | None:
    try:
        petition_id = int(payload["petition_id"])
    except (KeyError, TypeError, ValueError):
        return None
    return await PetitionRepository(session).get(petition_id)


@dataclass(frozen=True, slots=True)
class _OfficialNotice:
    """What a `petition_new` row tells its official, read before rendering."""

    petition: PetitionRecord
    official: OfficialRecord
    reason: str
    reply: str | None  # the citizen's latest reply, when that is the news


async def _official_notice(session: AsyncSession, row: OutboxRow) -> _OfficialNotice | None:
    """The notice of a `petition_new` row, or None when the petition is no longer the
    official's (re-routed, official removed) or has nothing left to do."""
    petition = await _petition(session, row.payload)
    if petition is None:
        return None
    try:
        official = await OfficialRepository(session).get(int(row.payload["official_id"]))
    except (KeyError, TypeError, ValueError):
        return None
    if (
        official is None
        or not official.active
        or official.channel != row.channel
        or official.chat_id != str(row.chat_id)
        or official.agency_id != petition.agency_id
        or petition.status in CLOSED_STATUSES
    ):
        return None  # no longer theirs, or nothing left to do
    reason = str(row.payload.get("reason") or "")
    reply = None
    if reason == PetitionAction.INFO_PROVIDED:
        events = await PetitionRepository(session).events(petition.id)
        reply = next(
            (e.note for e in reversed(events) if e.action == PetitionAction.INFO_PROVIDED), None
        )
    return _OfficialNotice(petition, official, reason, reply)


async def _citizen_update(
    session: AsyncSession, petition: PetitionRecord, agency_name: str, payload: dict[str, Any]
) -> Rendered | None:
    """The message of a `petition_update` row for the citizen (in the current locale)."""
    action = str(payload.get("action") or "")
    note = str(payload.get("note") or "")
    details = _details_keyboard(petition.id)
    if action == PetitionAction.TAKEN:
        return Rendered(text=render_taken(petition, agency_name), reply_markup=details)
    if action == PetitionAction.INFO_REQUEST:
        can_reply = petition.status == PetitionStatus.INFO_REQUESTED
        text = render_info_requested(petition, agency_name, note, can_reply)
        keyboard = _reply_keyboard(petition.id) if can_reply else details
        return Rendered(text=text, reply_markup=keyboard)
    if action == PetitionAction.ANSWER:
        return await _answer(session, petition, agency_name, payload, note)
    if action == PetitionAction.REFUSAL:
        return Rendered(text=render_refused(petition, agency_name, note), reply_markup=details)
    if action == PetitionAction.PUBLICATION:
        return Rendered(text=render_published(petition), reply_markup=details)
    return None  # an action the citizen is not told about


async def _answer(
    session: AsyncSession,
    petition: PetitionRecord,
    agency_name: str,
    payload: dict[str, Any],
    note: str,
) -> Rendered | None:
    """One part of an answer: the repository's row is the first part (with the whole answer),
    `enqueue_answer_parts`' rows the others."""
    part = payload.get("part")
    if part is None:  # the repository's row: the first part, with the whole answer
        chunks = answer_chunks(note)
        more = len(chunks) > 1 and await _continuation_queued(session, petition.id, note)
        text = render_answer_part(petition, agency_name, chunks[0], 1, len(chunks), more)
        return Rendered(
            text=text, reply_markup=_details_keyboard(petition.id) if not more else None
        )
    try:
        part, event_id = int(part), int(payload["event_id"])
    except (KeyError, TypeError, ValueError):
        return None
    event = await PetitionRepository(session).event(event_id)
    if event is None or event.petition_id != petition.id or not event.note:
        return None
    chunks = answer_chunks(event.note)
    if not 2 <= part <= len(chunks):
        return None
    text = render_answer_part(petition, agency_name, chunks[part - 1], part, len(chunks), True)
    keyboard = _details_keyboard(petition.id) if part == len(chunks) else None
    return Rendered(text=text, reply_markup=keyboard)


def create_petition_renderers(i18n: I18n) -> dict[str, Renderer]:
    """The renderers of the petition kinds of outbox rows, by kind."""

    def locale(language: str | None) -> str:
        return language if language in i18n.available_locales else i18n.default_locale

    async def petition_new(session: AsyncSession, row: OutboxRow) -> Rendered | None:
        notice = await _official_notice(session, row)
        if notice is None:
            return None
        petition = notice.petition
        with i18n.context(), i18n.use_locale(locale(notice.official.language or row.language)):
            text = render_new_for_official(petition, notice.reason, datetime.now(UTC), notice.reply)
            params = template_values(
                {
                    "tracking_code": petition.tracking_code,
                    "answer_by": format_date(petition.answer_by),
                }
            )
            return Rendered(
                text=text, reply_markup=open_keyboard(petition.id), template_data=params
            )

    async def petition_update(session: AsyncSession, row: OutboxRow) -> Rendered | None:
        petition = await _petition(session, row.payload)
        if (
            petition is None
            or petition.channel != row.channel
            or petition.chat_id != str(row.chat_id)
        ):
            return None
        agency = await AgencyRepository(session).get(petition.agency_id)
        agency_name = agency.name if agency is not None else ""
        with i18n.context(), i18n.use_locale(locale(row.language)):
            rendered = await _citizen_update(session, petition, agency_name, row.payload)
            if rendered is None or row.payload.get("part") is not None:
                return rendered  # a continuation part: the first one notified
            params = template_values(
                {
                    "tracking_code": petition.tracking_code,
                    "status": step_label(str(row.payload.get("action") or "")),
                    "date": format_date(to_local(row.created_at).date()),
                }
            )
            return replace(rendered, template_data=params)

    return {OutboxKind.PETITION_NEW: petition_new, OutboxKind.PETITION_UPDATE: petition_update}
