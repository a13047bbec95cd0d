"""What officials read in the chat: petition lists and cards, prompts, previews and errors.

Everything a citizen typed (topic, content, name, address, replies) and everything an official
typed (questions, answers, reasons) is escaped here. Cards stay under Telegram's 4096
characters: long texts are shortened on the card and sent whole, split into messages, by the
"Full text" button (:func:`split_text`). The sender's name, phone, e-mail and address are
rendered only when the caller says the official may see them (``personal``), which the
handlers decide with ``storage.petitions.can_see_personal_data``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from knowledge.petition_workflow import OPEN_STATUSES, OfficialRole, PetitionAction, PetitionStatus
from knowledge.petitions import DeadlineStatus, deadline_status
from knowledge.workdays import to_local
from storage.models import Agency, Official, Petition, PetitionAttachment, PetitionEvent

from .formatting import format_date, format_datetime, format_number
from .markup import TELEGRAM_TEXT_LIMIT, quote, shorten, text_length
from .official_callbacks import (
    ConfirmOp,
    ListFilter,
    OfficialConfirm,
    OfficialList,
    OfficialPetition,
    OfficialReroute,
    PetitionOp,
)

CARD_BUDGET = 3800
"""A card's HTML stays under this (Telegram's limit is 4096 visible characters)."""
PART_BUDGET = 3900
"""One part of a long text sent by "Full text" (escaped HTML, header included)."""
TEXT_MAX_CHARS = 4000
"""What an official may type as a question, an answer or a reason (one Telegram message)."""
PAGE_SIZE = 8
HISTORY_SHOWN = 8
BUTTON_TEXT_CHARS = 48

FILTER_STATUSES: dict[ListFilter, tuple[str, ...]] = {
    ListFilter.OPEN: OPEN_STATUSES,
    ListFilter.NEW: (PetitionStatus.RECEIVED,),
    ListFilter.IN_PROGRESS: (PetitionStatus.IN_PROGRESS,),
    ListFilter.WAITING: (PetitionStatus.INFO_REQUESTED,),
    ListFilter.ANSWERED: (PetitionStatus.ANSWERED,),
}


# --- words -------------------------------------------------------------------------------------


def status_label(status: str) -> str:
    labels = {
        PetitionStatus.RECEIVED: _("New"),
        PetitionStatus.IN_PROGRESS: _("In progress"),
        PetitionStatus.INFO_REQUESTED: _("Waiting for the citizen"),
        PetitionStatus.ANSWERED: _("Answered, awaiting publication"),
        PetitionStatus.PUBLISHED: _("Published"),
        PetitionStatus.REFUSED: _("Refused"),
    }
    return labels.get(status, status)


def filter_label(kind: ListFilter) -> str:
    labels = {
        ListFilter.OPEN: _("All open"),
        ListFilter.NEW: _("New"),
        ListFilter.IN_PROGRESS: _("In progress"),
        ListFilter.WAITING: _("Waiting for citizen"),
        ListFilter.ANSWERED: _("To publish"),
    }
    return labels[kind]


def event_label(action: str) -> str:
    labels = {
        PetitionAction.SUBMITTED: _("Submitted by the citizen"),
        PetitionAction.TAKEN: _("Taken"),
        PetitionAction.INFO_REQUEST: _("More information requested"),
        PetitionAction.INFO_PROVIDED: _("The citizen replied"),
        PetitionAction.ANSWER: _("Answered"),
        PetitionAction.REFUSAL: _("Refused"),
        PetitionAction.PUBLICATION: _("Answer published"),
        PetitionAction.REROUTED: _("Re-routed to this agency"),
    }
    return labels.get(action, action)


def role_label(role: str) -> str:
    return _("administrator") if role == OfficialRole.ADMIN else _("officer")


def deadline_mark(status: DeadlineStatus) -> str:
    if status is DeadlineStatus.OVERDUE:
        return "🔴 " + _("overdue")
    if status is DeadlineStatus.DUE_SOON:
        return "⚠️ " + _("due soon")
    return ""


def _when(moment: datetime) -> str:
    return format_datetime(to_local(moment))


# --- deadlines ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    label: str
    due: date
    status: DeadlineStatus | None  # None: no longer relevant (done, or not at this stage)


def deadlines(petition: Petition, events: Sequence[PetitionEvent], now: datetime) -> list[Deadline]:
    """The petition's deadlines with a due-soon / overdue status where they still matter.

    Refusing matters while nobody has taken the petition; the first request for information
    while none was made; the answer while the petition is open; publishing once answered."""
    asked = any(e.action == PetitionAction.INFO_REQUEST for e in events)
    status = petition.status
    out = [
        Deadline(
            _("Refuse by"),
            petition.refuse_by,
            deadline_status(petition.refuse_by, now) if status == PetitionStatus.RECEIVED else None,
        ),
        Deadline(
            _("First request for information by"),
            petition.info_by,
            deadline_status(petition.info_by, now)
            if status in (PetitionStatus.RECEIVED, PetitionStatus.IN_PROGRESS) and not asked
            else None,
        ),
        Deadline(
            _("Answer by"),
            petition.answer_by,
            deadline_status(petition.answer_by, now) if status in OPEN_STATUSES else None,
        ),
    ]
    if petition.publish_by is not None:
        out.append(
            Deadline(
                _("Publish by"),
                petition.publish_by,
                deadline_status(petition.publish_by, now) if status == PetitionStatus.ANSWERED else None,
            )
        )
    return out


def worst_mark(petition: Petition, now: datetime) -> str:
    """The list's marker: the most urgent of the deadlines that matter at this stage (the
    information request is not known without the events, so the list leaves it out)."""
    relevant: list[date] = []
    if petition.status == PetitionStatus.RECEIVED:
        relevant.append(petition.refuse_by)
    if petition.status in OPEN_STATUSES:
        relevant.append(petition.answer_by)
    if petition.status == PetitionStatus.ANSWERED and petition.publish_by is not None:
        relevant.append(petition.publish_by)
    statuses = [deadline_status(d, now) for d in relevant]
    if DeadlineStatus.OVERDUE in statuses:
        return "🔴"
    if DeadlineStatus.DUE_SOON in statuses:
        return "⚠️"
    return "•"


# --- the list ----------------------------------------------------------------------------------


def render_list(
    agency: Agency,
    petitions: Sequence[Petition],
    kind: ListFilter,
    page: int,
    now: datetime,
) -> str:
    lines = [
        "<b>" + _("📋 Petitions of {agency}").format(agency=quote(agency.name)) + "</b>",
        _("Filter: {name} · page {page}").format(name=filter_label(kind), page=page + 1),
        "",
    ]
    if not petitions:
        lines.append(
            _("Nothing here.") if page else _("No petitions under this filter. 🎉")
        )
        return "\n".join(lines)
    for petition in petitions:
        lines.append(
            _("{mark} <b>{code}</b> · {status} · answer by {date}").format(
                mark=worst_mark(petition, now),
                code=petition.tracking_code,
                status=status_label(petition.status),
                date=format_date(petition.answer_by),
            )
        )
        lines.append("   " + quote(shorten(petition.topic, 80)))
    lines += ["", _("🔴 overdue · ⚠️ due soon. Tap a petition to open it.")]
    return "\n".join(lines)


def list_keyboard(
    petitions: Sequence[Petition], kind: ListFilter, page: int, has_next: bool, now: datetime
) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    for petition in petitions:
        rows.append(
            [
                InlineKeyboardButton(
                    text=shorten(
                        f"{worst_mark(petition, now)} {petition.tracking_code} · {petition.topic}",
                        BUTTON_TEXT_CHARS,
                    ),
                    callback_data=OfficialPetition(op=PetitionOp.OPEN, id=petition.id).pack(),
                )
            ]
        )
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                text="◀️", callback_data=OfficialList(kind=kind, page=page - 1).pack()
            )
        )
    if has_next:
        nav.append(
            InlineKeyboardButton(
                text="▶️", callback_data=OfficialList(kind=kind, page=page + 1).pack()
            )
        )
    if nav:
        rows.append(nav)
    filters = [f for f in ListFilter if f is not kind]
    for start in range(0, len(filters), 2):
        rows.append(
            [
                InlineKeyboardButton(
                    text=filter_label(f), callback_data=OfficialList(kind=f, page=0).pack()
                )
                for f in filters[start : start + 2]
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


# --- the card ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardData:
    """What a card shows, loaded by the handler (the renderer does no I/O)."""

    petition: Petition
    agency: Agency
    events: Sequence[PetitionEvent]
    attachments: Sequence[PetitionAttachment]
    names: Mapping[int, str]  # official id -> display name (for "taken by", history)
    personal: bool  # may this official see the sender's personal data?


def _procedure_line(p: Petition) -> str | None:
    if p.procedure_code:
        return _("Procedure: <code>{code}</code>").format(code=quote(p.procedure_code))
    return None


def _sender_lines(p: Petition, personal: bool) -> list[str]:
    if not personal:
        return [_("🔒 The sender's personal data is shown only to the agency handling it.")]
    lines = ["<b>" + _("Sender") + "</b>", "👤 " + quote(p.sender_name)]
    if p.phone:
        lines.append("📞 " + quote(p.phone))
    if p.email:
        lines.append("✉️ " + quote(p.email))
    lines.append("🏠 " + quote(p.address))
    return lines


def _attachments_line(attachments: Sequence[PetitionAttachment]) -> str | None:
    if not attachments:
        return None
    photos = sum(1 for a in attachments if a.kind == "photo")
    others = len(attachments) - photos
    return _("📎 Attachments: {photos} photo(s), {documents} other file(s)").format(
        photos=photos, documents=others
    )


def _history_lines(data: CardData, note_chars: int, shown: int) -> list[str]:
    events = list(data.events)
    lines = ["<b>" + _("History") + "</b>"]
    if len(events) > shown:
        lines.append(_("… {count} earlier step(s)").format(count=len(events) - shown))
        events = events[-shown:]
    for event in events:
        line = f"• {_when(event.at)} — {event_label(event.action)}"
        if event.official_id is not None and event.official_id in data.names:
            line += f" ({quote(data.names[event.official_id])})"
        if event.note:
            line += ": <i>" + quote(shorten(event.note, note_chars)) + "</i>"
        lines.append(line)
    return lines


def _card_text(data: CardData, now: datetime, content_chars: int, answer_chars: int,
               note_chars: int, shown: int) -> tuple[str, bool]:
    p = data.petition
    shortened = False
    lines = [
        f"📨 <b>{p.tracking_code}</b> · {status_label(p.status)}",
        _("Topic: {topic}").format(topic=quote(p.topic)),
    ]
    for extra in (_procedure_line(p),):
        if extra:
            lines.append(extra)
    if p.sector:
        lines.append(_("Sector: {sector}").format(sector=quote(p.sector)))
    lines.append(_("Agency: {agency}").format(agency=quote(data.agency.name)))
    lines.append(_("Received: {when}").format(when=_when(p.received_at)))
    if p.assigned_to is not None:
        name = data.names.get(p.assigned_to) or f"#{p.assigned_to}"
        lines.append(_("Handled by: {name}").format(name=quote(name)))
    content = shorten(p.content, content_chars)
    shortened |= content != p.content.strip()
    lines += ["", "<b>" + _("Content") + "</b>", quote(content)]
    attachments = _attachments_line(data.attachments)
    if attachments:
        lines += ["", attachments]
    lines += [""] + _sender_lines(p, data.personal)
    lines += ["", "<b>" + _("Deadlines") + "</b>"]
    for d in deadlines(p, data.events, now):
        mark = deadline_mark(d.status) if d.status is not None else ""
        lines.append(f"• {d.label}: {format_date(d.due)}" + (f" {mark}" if mark else ""))
    if p.answer:
        answer = shorten(p.answer, answer_chars)
        shortened |= answer != p.answer.strip()
        lines += ["", "<b>" + _("Answer") + "</b>", quote(answer)]
    if p.refusal_reason:
        lines += ["", "<b>" + _("Reason for refusal") + "</b>", quote(shorten(p.refusal_reason, answer_chars))]
    if data.events:
        lines += [""] + _history_lines(data, note_chars, shown)
    if shortened:
        lines += ["", _("✂️ Shortened here: “📄 Full text” sends everything.")]
    return "\n".join(lines), shortened


def render_card(data: CardData, now: datetime) -> str:
    """The petition card, shortened step by step until it fits :data:`CARD_BUDGET`."""
    for content_chars, answer_chars, note_chars, shown in (
        (1500, 800, 160, HISTORY_SHOWN),
        (900, 500, 100, 6),
        (500, 300, 60, 4),
        (250, 150, 40, 3),
    ):
        text, _shortened = _card_text(data, now, content_chars, answer_chars, note_chars, shown)
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


def card_keyboard(
    petition: Petition,
    official: Official,
    *,
    attachments: int,
    full_text: bool,
) -> InlineKeyboardMarkup:
    """The actions this official can take now (the repository checks again on each)."""

    def button(text: str, op: PetitionOp) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=OfficialPetition(op=op, id=petition.id).pack()
        )

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
    extras = []
    if attachments:
        extras.append(button(_("📎 Attachments"), PetitionOp.FILES))
    if full_text:
        extras.append(button(_("📄 Full text"), PetitionOp.TEXT))
    if extras:
        rows.append(extras)
    rows.append(
        [
            button(_("🔄 Refresh"), PetitionOp.REFRESH),
            InlineKeyboardButton(
                text=_("📋 List"),
                callback_data=OfficialList(kind=ListFilter.OPEN, page=0).pack(),
            ),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def open_keyboard(petition_id: int) -> InlineKeyboardMarkup:
    """The "Open" button of a notification to an official."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("📂 Open"),
                    callback_data=OfficialPetition(op=PetitionOp.OPEN, id=petition_id).pack(),
                )
            ]
        ]
    )


# --- long texts --------------------------------------------------------------------------------


def split_text(text: str, budget: int) -> list[str]:
    """Plain ``text`` cut into pieces of at most ``budget`` characters as Telegram counts them
    (UTF-16 units of the visible text: an escaped "&lt;" is one): at paragraph breaks, else line
    breaks, else spaces, else anywhere."""
    text = text.strip()
    if not text:
        return []
    parts: list[str] = []
    while text:
        if text_length(text) <= budget:
            parts.append(text)
            break
        # the longest prefix that fits, then back off to a natural break inside it
        low, high = 1, len(text)
        while low < high:
            mid = (low + high + 1) // 2
            if text_length(text[:mid]) <= budget:
                low = mid
            else:
                high = mid - 1
        cut = low
        for separator in ("\n\n", "\n", " "):
            at = text.rfind(separator, 0, cut)
            if at > cut // 2:
                cut = at
                break
        piece = text[:cut].rstrip()
        if not piece:  # only white space before the break: cut hard
            piece, cut = text[:low], low
        parts.append(piece)
        text = text[cut:].strip()
    return parts


def render_full_text(data: CardData) -> list[str]:
    """The petition's content, answer, refusal and every note, whole, as messages that each
    fit Telegram's limit."""
    p = data.petition
    sections: list[tuple[str, str]] = [(_("Content"), p.content)]
    for event in data.events:
        if event.note:
            sections.append((f"{event_label(event.action)} · {_when(event.at)}", event.note))
    if p.answer and not any(e.action == PetitionAction.ANSWER and e.note == p.answer for e in data.events):
        sections.append((_("Answer"), p.answer))
    messages: list[str] = []
    for title, body in sections:
        header = f"<b>{p.tracking_code}</b> · <b>{quote(title)}</b>"
        pieces = split_text(body, PART_BUDGET - text_length(header) - 20)
        for i, piece in enumerate(pieces, 1):
            suffix = f" ({i}/{len(pieces)})" if len(pieces) > 1 else ""
            messages.append(f"{header}{suffix}\n\n{quote(piece)}")
    return messages


# --- typed actions -----------------------------------------------------------------------------


def text_prompt(op: PetitionOp, tracking_code: str) -> str:
    prompts = {
        PetitionOp.ASK: _(
            "❓ Type the question for the citizen about <b>{code}</b>: what is missing and "
            "what they should send. They get it with a Reply button."
        ),
        PetitionOp.ANSWER: _(
            "✅ Type the agency's answer to <b>{code}</b>. The citizen gets it as written; it is "
            "published later with personal data removed."
        ),
        PetitionOp.REFUSE: _(
            "⛔ Type the reason for refusing <b>{code}</b> (required). The citizen gets it as "
            "written."
        ),
    }
    return (
        prompts[op].format(code=tracking_code)
        + "\n\n"
        + _("At most {limit} characters. /cancel to stop.").format(limit=format_number(TEXT_MAX_CHARS))
    )


def text_preview(op: PetitionOp, tracking_code: str, text: str) -> str:
    titles = {
        PetitionOp.ASK: _("Preview: question to the citizen about {code}"),
        PetitionOp.ANSWER: _("Preview: answer to {code}"),
        PetitionOp.REFUSE: _("Preview: refusal of {code}"),
    }
    title = "👀 " + titles[op].format(code=tracking_code)
    footer = _("Send it as it is?")
    # Telegram counts the text after parsing: an escaped "&lt;" is one character.
    budget = TELEGRAM_TEXT_LIMIT - text_length(title) - text_length(footer) - 8
    if text_length(text) <= budget:
        body = quote(text)
    else:  # cannot happen for TEXT_MAX_CHARS, unless the translation grows: show the start
        body = quote(split_text(text, budget - 2)[0]) + " …"
    return f"<b>{quote(title)}</b>\n\n{body}\n\n{footer}"


def confirm_keyboard(petition_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("📤 Send"),
                    callback_data=OfficialConfirm(op=ConfirmOp.SEND, id=petition_id).pack(),
                ),
                InlineKeyboardButton(
                    text=_("✏️ Rewrite"),
                    callback_data=OfficialConfirm(op=ConfirmOp.EDIT, id=petition_id).pack(),
                ),
            ],
            [
                InlineKeyboardButton(
                    text=_("✖️ Cancel"),
                    callback_data=OfficialConfirm(op=ConfirmOp.CANCEL, id=petition_id).pack(),
                )
            ],
        ]
    )


def cancel_keyboard(petition_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("✖️ Cancel"),
                    callback_data=OfficialConfirm(op=ConfirmOp.CANCEL, id=petition_id).pack(),
                )
            ]
        ]
    )


def publish_preview(petition: Petition, public_content: str, public_answer: str) -> str:
    header = "📢 <b>" + _("Publish the answer to {code}?").format(code=petition.tracking_code) + "</b>"
    note = _("This is what the public will read; personal data found is replaced by ***.")
    content = quote(shorten(public_content, 1400))
    answer = quote(shorten(public_answer, 1400))
    return "\n\n".join(
        [
            header,
            note,
            "<b>" + _("Content") + "</b>\n" + content,
            "<b>" + _("Answer") + "</b>\n" + answer,
        ]
    )


def publish_keyboard(petition_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("📢 Publish"),
                    callback_data=OfficialConfirm(op=ConfirmOp.PUBLISH, id=petition_id).pack(),
                ),
                InlineKeyboardButton(
                    text=_("✖️ Cancel"),
                    callback_data=OfficialConfirm(op=ConfirmOp.CANCEL, id=petition_id).pack(),
                ),
            ]
        ]
    )


def reroute_prompt(tracking_code: str) -> str:
    return _("↪️ Which agency should handle <b>{code}</b>?").format(code=tracking_code)


def reroute_keyboard(petition_id: int, agencies: Sequence[Agency]) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                text=shorten(agency.name, BUTTON_TEXT_CHARS),
                callback_data=OfficialReroute(id=petition_id, agency=agency.id).pack(),
            )
        ]
        for agency in agencies
    ]
    rows.append(
        [
            InlineKeyboardButton(
                text=_("✖️ Cancel"),
                callback_data=OfficialConfirm(op=ConfirmOp.CANCEL, id=petition_id).pack(),
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def reroute_confirm(tracking_code: str, agency: Agency) -> str:
    return _(
        "↪️ Send <b>{code}</b> to <b>{agency}</b>? It starts again there as new, and this agency "
        "no longer sees it."
    ).format(code=tracking_code, agency=quote(agency.name))


def reroute_confirm_keyboard(petition_id: int, agency_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("↪️ Re-route"),
                    callback_data=OfficialReroute(
                        id=petition_id, agency=agency_id, confirm=True
                    ).pack(),
                ),
                InlineKeyboardButton(
                    text=_("✖️ Cancel"),
                    callback_data=OfficialConfirm(op=ConfirmOp.CANCEL, id=petition_id).pack(),
                ),
            ]
        ]
    )


def done_text(op: PetitionOp | str, tracking_code: str, agency_name: str | None = None) -> str:
    texts = {
        PetitionOp.TAKE: _("✋ You took <b>{code}</b>. The citizen is told it is being handled."),
        PetitionOp.ASK: _("📤 Question sent for <b>{code}</b>. It waits for the citizen's reply."),
        PetitionOp.ANSWER: _(
            "✅ Answer recorded for <b>{code}</b> and sent to the citizen. Publish it within 2 "
            "working days."
        ),
        PetitionOp.REFUSE: _("⛔ <b>{code}</b> was refused; the citizen gets the reason."),
        PetitionOp.PUBLISH: _("📢 The answer to <b>{code}</b> is published."),
    }
    if op == PetitionOp.REROUTE:
        return _("↪️ <b>{code}</b> now goes to {agency}.").format(
            code=tracking_code, agency=quote(agency_name or "")
        )
    return texts[PetitionOp(op)].format(code=tracking_code)


def error_text(code: str) -> str:
    """A ``PetitionError`` code (or a dialog problem) in words."""
    texts = {
        "not_allowed": _("⛔ You cannot do this for this petition."),
        "wrong_status": _(
            "ℹ️ This is not possible at the petition's current stage (someone may have acted on "
            "it already). Here is the current card."
        ),
        "empty_text": _("✏️ The text is empty. Please type it."),
        "same_agency": _("ℹ️ The petition is already with this agency."),
        "not_found": _(
            "🔎 No petition of your agency has this code. (Petitions of other agencies are not "
            "shown.)"
        ),
        "too_long": _(
            "✏️ This is {count} characters; at most {limit} fit. Please shorten it and send it "
            "again."
        ),
        "not_text": _("✏️ Please type the text as a message (no files or stickers here)."),
        "expired": _("⌛ This step has expired. Open the petition again."),
        "admins_only": _("⛔ Only an administrator of the agency can do this."),
        "no_other_agency": _("ℹ️ There is no other agency to send it to."),
    }
    return texts.get(code, texts["not_allowed"])


def attachments_failed_text(count: int) -> str:
    return _("⚠️ {count} file(s) could not be sent again (Telegram no longer has them).").format(
        count=count
    )


def cancelled_text() -> str:
    return _("✖️ Cancelled. Nothing was sent.")


# --- enrolment, invitations, inbox -------------------------------------------------------------


def enrol_prompt() -> str:
    return _(
        "🔑 Please send the one-time official code you were given (for example "
        "<code>MOI-ABCD-EFGH-JKLM</code>). /cancel to stop."
    )


def enrolled_text(official: Official, agency: Agency) -> str:
    return _(
        "✅ Welcome! You are now enrolled as {role} of <b>{agency}</b>.\n\n"
        "/petitions — your agency's open petitions\n"
        "/inbox — a sign-in link for the inbox web page\n"
        "You can also type a tracking code such as <code>PAKN-2026-000123</code>; new petitions "
        "are announced here."
    ).format(role=role_label(official.role), agency=quote(agency.name))


def enrol_failed_text() -> str:
    return _(
        "❌ This code is not valid: it may be mistyped, already used or expired. Please check it, "
        "or ask your administrator for a new one."
    )


def enrol_locked_text(until: datetime) -> str:
    return _(
        "🔒 Too many wrong codes from this chat. Please try again after {time}."
    ).format(time=format_datetime(to_local(until)))


def private_only_text() -> str:
    return _("🔐 For security, this works only in a private chat with me.")


def official_status_text(official: Official, agency: Agency) -> str:
    return _(
        "👤 You are enrolled as {role} of <b>{agency}</b>.\n"
        "/petitions — open petitions · /inbox — inbox sign-in link"
    ).format(role=role_label(official.role), agency=quote(agency.name))


def invite_usage_text() -> str:
    return _(
        "Usage: <code>/invite officer</code> or <code>/invite admin</code>: a one-time code for "
        "a new official of your agency."
    )


def invitation_text(code: str, role: str, agency: Agency, expires_at: datetime) -> str:
    return _(
        "🎟 One-time code for a new {role} of <b>{agency}</b>:\n\n<code>{code}</code>\n\n"
        "They send <code>/official {code}</code> to me in a private chat. Valid until {when}; "
        "it works once. Share it privately."
    ).format(
        role=role_label(role),
        agency=quote(agency.name),
        code=code,
        when=format_datetime(to_local(expires_at)),
    )


def inbox_link_text(url: str, minutes: int) -> str:
    return _(
        "🔗 Your sign-in link to the inbox (valid {minutes} minutes, works once, do not share "
        "it):\n{link}"
    ).format(minutes=minutes, link=f'<a href="{quote(url)}">{quote(url)}</a>')
