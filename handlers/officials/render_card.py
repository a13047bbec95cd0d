"""A petition's card for officials, its "Full text" messages and its action buttons.

Everything a citizen typed (topic, content, name, address, replies) and everything an official
typed (questions, answers, reasons) is escaped here. Cards stay under Telegram's 4096
characters: long texts are shortened on the card and sent whole, split into messages, by the
"Full text" button (:func:`render_full_text`). The sender's name, phone, e-mail and address are
rendered only when the caller says the official may see them (``personal``), which the
handlers decide with ``knowledge.petition_workflow.can_see_personal_data``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from handlers.formatting import format_date
from handlers.markup import quote, shorten, text_length
from knowledge.petition_workflow import OPEN_STATUSES, OfficialRole, PetitionAction, PetitionStatus
from storage.records import (
    AgencyRecord,
    AttachmentRecord,
    EventRecord,
    OfficialRecord,
    PetitionRecord,
)

from .callbacks import ListFilter, OfficialList, OfficialPetition, PetitionOp
from .render_deadlines import deadlines
from .render_shared import deadline_mark, split_text
from .render_words import event_label, local_time, status_label

CARD_BUDGET = 3800
"""A card's HTML stays under this (Telegram's limit is 4096 visible characters)."""
PART_BUDGET = 3900
"""One part of a long text sent by "Full text" (escaped HTML, header included)."""
HISTORY_SHOWN = 8


@dataclass(frozen=True)
class CardData:
    """What a card shows, loaded by the handler (the renderer does no I/O)."""

    petition: PetitionRecord
    agency: AgencyRecord
    events: Sequence[EventRecord]
    attachments: Sequence[AttachmentRecord]
    names: Mapping[int, str]  # official id -> display name (for "taken by", history)
    personal: bool  # may this official see the sender's personal data?


@dataclass(frozen=True)
class _Lengths:
    """How much of each long text one attempt at the card keeps."""

    content: int
    answer: int
    note: int
    history: int  # steps shown


_ATTEMPTS = (
    _Lengths(1500, 800, 160, HISTORY_SHOWN),
    _Lengths(900, 500, 100, 6),
    _Lengths(500, 300, 60, 4),
    _Lengths(250, 150, 40, 3),
)


def _heading_lines(data: CardData) -> list[str]:
    p = data.petition
    lines = [
        f"📨 <b>{p.tracking_code}</b> · {status_label(p.status)}",
        _("Topic: {topic}").format(topic=quote(p.topic)),
    ]
    if p.procedure_code:
        lines.append(_("Procedure: <code>{code}</code>").format(code=quote(p.procedure_code)))
    if p.sector:
        lines.append(_("Sector: {sector}").format(sector=quote(p.sector)))
    lines.append(_("Agency: {agency}").format(agency=quote(data.agency.name)))
    lines.append(_("Received: {when}").format(when=local_time(p.received_at)))
    if p.assigned_to is not None:
        name = data.names.get(p.assigned_to) or f"#{p.assigned_to}"
        lines.append(_("Handled by: {name}").format(name=quote(name)))
    return lines


def _sender_lines(p: PetitionRecord, personal: bool) -> list[str]:
    if not personal:
        return [_("🔒 The sender's personal data is shown only to the agency handling it.")]
    lines = ["<b>" + _("Sender") + "</b>", "👤 " + quote(p.sender_name)]
    if p.phone:
        lines.append("📞 " + quote(p.phone))
    if p.email:
        lines.append("✉️ " + quote(p.email))
    lines.append("🏠 " + quote(p.address))
    return lines


def _attachments_line(attachments: Sequence[AttachmentRecord]) -> str | None:
    if not attachments:
        return None
    photos = sum(1 for a in attachments if a.kind == "photo")
    others = len(attachments) - photos
    return _("📎 Attachments: {photos} photo(s), {documents} other file(s)").format(
        photos=photos, documents=others
    )


def _deadline_lines(data: CardData, now: datetime) -> list[str]:
    lines = ["<b>" + _("Deadlines") + "</b>"]
    for d in deadlines(data.petition, data.events, now):
        mark = deadline_mark(d.status) if d.status is not None else ""
        lines.append(f"• {d.label}: {format_date(d.due)}" + (f" {mark}" if mark else ""))
    return lines


def _history_lines(data: CardData, note_chars: int, shown: int) -> list[str]:
    events = list(data.events)
    lines = ["<b>" + _("History") + "</b>"]
    if len(events) > shown:
        lines.append(_("… {count} earlier step(s)").format(count=len(events) - shown))
        events = events[-shown:]
    for event in events:
        line = f"• {local_time(event.at)} — {event_label(event.action)}"
        if event.official_id is not None and event.official_id in data.names:
            line += f" ({quote(data.names[event.official_id])})"
        if event.note:
            line += ": <i>" + quote(shorten(event.note, note_chars)) + "</i>"
        lines.append(line)
    return lines


def _card_text(data: CardData, now: datetime, keep: _Lengths) -> str:
    p = data.petition
    lines = _heading_lines(data)
    content = shorten(p.content, keep.content)
    shortened = content != p.content.strip()
    lines += ["", "<b>" + _("Content") + "</b>", quote(content)]
    attachments = _attachments_line(data.attachments)
    if attachments:
        lines += ["", attachments]
    lines += [""] + _sender_lines(p, data.personal)
    lines += [""] + _deadline_lines(data, now)
    if p.answer:
        answer = shorten(p.answer, keep.answer)
        shortened |= answer != p.answer.strip()
        lines += ["", "<b>" + _("Answer") + "</b>", quote(answer)]
    if p.refusal_reason:
        reason = quote(shorten(p.refusal_reason, keep.answer))
        lines += ["", "<b>" + _("Reason for refusal") + "</b>", reason]
    if data.events:
        lines += [""] + _history_lines(data, keep.note, keep.history)
    if shortened:
        lines += ["", _("✂️ Shortened here: “📄 Full text” sends everything.")]
    return "\n".join(lines)


def render_card(data: CardData, now: datetime) -> str:
    """The petition card, shortened step by step until it fits :data:`CARD_BUDGET`."""
    for keep in _ATTEMPTS:
        text = _card_text(data, now, keep)
        if text_length(text) <= CARD_BUDGET:
            return text
    # Only an absurd topic, sector or address could get here: cut hard at a line.
    return cut_html_lines(text, CARD_BUDGET)


def cut_html_lines(text: str, budget: int) -> str:
    """Whole lines of ``text`` (each line's tags close on it) while they fit ``budget``."""
    out: list[str] = []
    used = 0
    for line in text.split("\n"):
        cost = text_length(line) + 1
        if used + cost > budget - 2:
            out.append("…")
            break
        out.append(line)
        used += cost
    return "\n".join(out)


def needs_full_text(data: CardData) -> bool:
    """Does the card shorten something (so a "Full text" button is worth showing)?"""
    p = data.petition
    long_notes = any(e.note and len(e.note) > 160 for e in data.events)
    return (
        len(p.content.strip()) > 900
        or len((p.answer or "").strip()) > 500
        or len((p.refusal_reason or "").strip()) > 300
        or long_notes
    )


def _action_rows(
    petition: PetitionRecord, official: OfficialRecord
) -> list[list[InlineKeyboardButton]]:
    """The rows of the changes this official may make at the petition's stage."""

    def button(text: str, op: PetitionOp) -> InlineKeyboardButton:
        return _petition_button(text, op, petition.id)

    rows: list[list[InlineKeyboardButton]] = []
    status = petition.status
    if status == PetitionStatus.RECEIVED:
        rows.append([button(_("✋ Take"), PetitionOp.TAKE)])
    if status in (PetitionStatus.RECEIVED, PetitionStatus.IN_PROGRESS):
        rows.append([button(_("❓ Ask for information"), PetitionOp.ASK)])
    if status in OPEN_STATUSES:
        rows.append(
            [button(_("✅ Answer"), PetitionOp.ANSWER), button(_("⛔ Refuse"), PetitionOp.REFUSE)]
        )
    if status == PetitionStatus.ANSWERED:
        rows.append([button(_("📢 Publish"), PetitionOp.PUBLISH)])
    if status in OPEN_STATUSES and official.role == OfficialRole.ADMIN:
        rows.append([button(_("↪️ Re-route"), PetitionOp.REROUTE)])
    return rows


def _petition_button(text: str, op: PetitionOp, petition_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=OfficialPetition(op=op, id=petition_id).pack()
    )


def card_keyboard(
    petition: PetitionRecord,
    official: OfficialRecord,
    *,
    attachments: int,
    full_text: bool,
) -> InlineKeyboardMarkup:
    """The actions this official can take now (the repository checks again on each)."""
    rows = _action_rows(petition, official)
    extras = []
    if attachments:
        extras.append(_petition_button(_("📎 Attachments"), PetitionOp.FILES, petition.id))
    if full_text:
        extras.append(_petition_button(_("📄 Full text"), PetitionOp.TEXT, petition.id))
    if extras:
        rows.append(extras)
    rows.append(
        [
            _petition_button(_("🔄 Refresh"), PetitionOp.REFRESH, petition.id),
            InlineKeyboardButton(
                text=_("📋 List"),
                callback_data=OfficialList(kind=ListFilter.OPEN, page=0).pack(),
            ),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def render_full_text(data: CardData) -> list[str]:
    """The petition's content, answer, refusal and every note, whole, as messages that each
    fit Telegram's limit."""
    p = data.petition
    sections: list[tuple[str, str]] = [(_("Content"), p.content)]
    for event in data.events:
        if event.note:
            sections.append((f"{event_label(event.action)} · {local_time(event.at)}", event.note))
    if p.answer and not any(
        e.action == PetitionAction.ANSWER and e.note == p.answer for e in data.events
    ):
        sections.append((_("Answer"), p.answer))
    messages: list[str] = []
    for title, body in sections:
        header = f"<b>{p.tracking_code}</b> · <b>{quote(title)}</b>"
        pieces = split_text(body, PART_BUDGET - text_length(header) - 20)
        for i, piece in enumerate(pieces, 1):
            suffix = f" ({i}/{len(pieces)})" if len(pieces) > 1 else ""
            messages.append(f"{header}{suffix}\n\n{quote(piece)}")
    return messages
