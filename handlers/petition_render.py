"""Texts, keyboards and pure rules of the citizen's petition dialogs (phản ánh, kiến nghị).

Everything a citizen typed is escaped here before it goes into HTML; every message stays under
Telegram's 4096 characters (long texts are split into several messages by :func:`split_blocks`),
and every button's callback data under 64 bytes. Nothing here does I/O: `handlers/petitions.py`
reads the database and the conversation state and calls these functions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _

from handlers.common.callbacks import MenuAction, MenuCallback
from knowledge.models import Procedure
from knowledge.normalize import clean_text, strip_diacritics
from knowledge.petitions import (
    ADDRESS_MAX_CHARS,
    ADDRESS_MIN_CHARS,
    CONTENT_MAX_CHARS,
    CONTENT_MIN_WORDS,
    Classification,
    Problem,
    RequestKind,
)
from knowledge.workdays import to_local

from .formatting import format_date, format_number
from .markup import quote, shorten, text_length
from .petition_callbacks import (
    FormAction,
    FormOp,
    PetitionMenu,
    PetitionMenuAction,
    PetitionReply,
    PetitionTopic,
    PetitionView,
    PublicList,
    PublicOpen,
    ReplyAction,
    ReplyOp,
)

MESSAGE_BUDGET = 3800
"""Characters per message (visible and HTML alike): under Telegram's 4096 with room to spare."""

BUTTON_TEXT_LIMIT = 60

# --- the form ----------------------------------------------------------------------------------

TOPIC = "topic"
CONTENT = "content"
FILES = "files"
NAME = "name"
CONTACT = "contact"
ADDRESS = "address"
REVIEW = "review"
ALL_STEPS = (TOPIC, CONTENT, FILES, NAME, CONTACT, ADDRESS, REVIEW)
EDITABLE = (TOPIC, CONTENT, FILES, NAME, CONTACT, ADDRESS)

TOPIC_PROCEDURE = "procedure"
TOPIC_SERVICE = "service"
TOPIC_OTHER = "other"
# What officials read as the topic when the citizen did not pick a procedure (officials work in
# Vietnamese; the citizen sees the label in their own language, see topic_label()).
SERVICE_TOPIC_TEXT = "Chất lượng phục vụ tại bộ phận một cửa (thái độ, thời gian chờ, phí…)"
OTHER_TOPIC_TEXT = "Quy định hành chính khác"


def steps_for(channel: str) -> tuple[str, ...]:
    """The form's steps: attachments only where files can be sent (Telegram, not the web chat)."""
    return ALL_STEPS if channel == "telegram" else tuple(s for s in ALL_STEPS if s != FILES)


@dataclass
class FormData:
    """A petition being written, kept in the conversation state (JSON) so it survives a restart.

    ``id`` is random per form: it makes the submission idempotent (a double tap or a re-delivered
    update finds the petition already stored under ``<channel>:<chat>:<id>``) and lets a form's
    buttons ignore presses that belong to an older form.
    """

    id: str
    topic_kind: str | None = None
    topic: str | None = None
    procedure_code: str | None = None
    sector: str | None = None
    content: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    files_done: bool = False
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    editing: bool = False  # came from the review screen: go back there after this field

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: object) -> FormData | None:
        """The form from the stored state; None when there is none or it is unreadable."""
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
            return None
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        if not isinstance(values.get("files", []), list):
            values["files"] = []
        values["files"] = [f for f in values.get("files", []) if isinstance(f, dict)]
        try:
            return cls(**values)
        except TypeError:
            return None

    def next_missing(self, channel: str) -> str:
        """The first step still to fill in (REVIEW when everything is there)."""
        for step in steps_for(channel):
            if step == TOPIC and not self.topic:
                return TOPIC
            if step == CONTENT and not self.content:
                return CONTENT
            if step == FILES and not (self.files_done or self.files):
                return FILES
            if step == NAME and not self.name:
                return NAME
            if step == CONTACT and not (self.phone or self.email):
                return CONTACT
            if step == ADDRESS and not self.address:
                return ADDRESS
        return REVIEW


def step_after(step: str, channel: str) -> str:
    steps = steps_for(channel)
    return steps[min(steps.index(step) + 1, len(steps) - 1)] if step in steps else REVIEW


def step_before(step: str, channel: str) -> str | None:
    steps = steps_for(channel)
    if step not in steps or steps.index(step) == 0:
        return None
    return steps[steps.index(step) - 1]


def step_line(step: str, channel: str) -> str:
    steps = steps_for(channel)
    number = steps.index(step) + 1 if step in steps else len(steps)
    return (
        "<i>"
        + _("Step {step} of {total}").format(
            step=format_number(number), total=format_number(len(steps))
        )
        + "</i>"
    )


# --- cleaning what citizens type -----------------------------------------------------------------

_INVISIBLE_RE = re.compile(
    "[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES_RE = re.compile(r"[^\S\n]+")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def clean_multiline(text: str | None) -> str:
    """A petition text as stored: NFC, no invisible or control characters, spaces collapsed and
    lines trimmed, but line breaks kept (a citizen's paragraphs stay readable for officials)."""
    text = unicodedata.normalize("NFC", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL_RE.sub(" ", _INVISIBLE_RE.sub("", text))
    lines = [_SPACES_RE.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip()


# --- attachments ---------------------------------------------------------------------------------

MAX_FILES = 5
MAX_FILE_BYTES = 20 * 1024 * 1024
ALLOWED_EXTENSIONS = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
ALLOWED_MIME_TYPES = frozenset(ALLOWED_EXTENSIONS.values())


def attachment_problem(
    file_name: str | None, mime_type: str | None, size: int | None, already: int
) -> str | None:
    """Why a document cannot be attached ("too_many", "too_big", "type"), or None when it can.

    The type is taken from the file name's extension when there is one (phones often send
    "application/octet-stream"), else from the MIME type; a name whose extension is not allowed
    is refused even with an allowed MIME type (an ".exe" claiming to be a PDF).
    """
    if already >= MAX_FILES:
        return "too_many"
    if size is not None and size > MAX_FILE_BYTES:
        return "too_big"
    extension = (file_name or "").rsplit(".", 1)[-1].lower() if "." in (file_name or "") else ""
    if extension:
        return None if extension in ALLOWED_EXTENSIONS else "type"
    return None if (mime_type or "").lower() in ALLOWED_MIME_TYPES else "type"


def attachment_problem_text(code: str) -> str:
    if code == "too_many":
        return _("You have already attached {count} files, the most a petition can have.").format(
            count=format_number(MAX_FILES)
        )
    if code == "too_big":
        return _("This file is larger than {size} MB. Please send a smaller file.").format(
            size=format_number(MAX_FILE_BYTES // (1024 * 1024))
        )
    return _(
        "I cannot attach this kind of file. Please send photos or files in JPG, PNG, PDF, "
        "DOC(X) or XLS(X) format, up to {size} MB each."
    ).format(size=format_number(MAX_FILE_BYTES // (1024 * 1024)))


def file_size_text(size: int | None) -> str:
    if not size:
        return ""
    if size >= 1024 * 1024:
        return format_number(round(size / (1024 * 1024), 1)) + " MB"
    return format_number(max(1, round(size / 1024))) + " KB"


def file_label(file: dict[str, Any]) -> str:
    name = str(file.get("name") or "") or (_("photo") if file.get("kind") == "photo" else _("file"))
    size = file_size_text(file.get("size") if isinstance(file.get("size"), int) else None)
    return shorten(name, 60) + (f" ({size})" if size else "")


# --- limits --------------------------------------------------------------------------------------


def next_allowed_at(
    received: Sequence[datetime], now: datetime, per_hour: int, per_day: int
) -> datetime | None:
    """When a chat that sent petitions at ``received`` may send the next one; None = now.

    Within any hour at most ``per_hour``, within any 24 hours at most ``per_day``: the answer is
    when enough of the recent ones have aged out of the window that is full.
    """
    waits: list[datetime] = []
    for limit, window in ((per_hour, timedelta(hours=1)), (per_day, timedelta(days=1))):
        recent = sorted(t for t in received if t > now - window)
        if len(recent) >= limit:
            # the oldest of the newest `limit` ones has to leave the window
            waits.append(recent[len(recent) - limit] + window)
    return max(waits) if waits else None


def limit_text(until: datetime, per_hour: int, per_day: int) -> str:
    local = to_local(until.astimezone(UTC))
    return "\n\n".join(
        [
            "⏳ "
            + _(
                "To keep the service fair for everyone, one chat can send at most {hour} "
                "petitions an hour and {day} a day."
            ).format(hour=format_number(per_hour), day=format_number(per_day)),
            _("You can send your next petition after {time} on {date}.").format(
                time=local.strftime("%H:%M"), date=format_date(local.date())
            ),
        ]
    )


# --- statuses ------------------------------------------------------------------------------------


def status_label(status: str) -> str:
    labels = {
        "received": _("Received, waiting to be handled"),
        "in_progress": _("Being handled"),
        "info_requested": _("More information needed from you"),
        "answered": _("Answered; the answer will be published soon"),
        "published": _("Answered and published"),
        "refused": _("Not accepted"),
    }
    return labels.get(status, status)


def status_icon(status: str) -> str:
    return {
        "received": "📥",
        "in_progress": "⏳",
        "info_requested": "❓",
        "answered": "✅",
        "published": "📢",
        "refused": "⛔",
    }.get(status, "•")


def topic_label(topic_kind: str | None, topic: str | None) -> str:
    if topic_kind == TOPIC_SERVICE:
        return _("Service at a centre (attitude, waiting, fees…)")
    if topic_kind == TOPIC_OTHER:
        return _("Another administrative regulation")
    return topic or "—"


def _local_date(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return format_date(to_local(value).date())
    return format_date(value)


# --- splitting long texts ------------------------------------------------------------------------


_TOKEN_RE = re.compile(r"\S+\s*|\s+")


def _cut_line(line: str, budget: int) -> list[str]:
    """A line as pieces whose visible and escaped lengths both fit ``budget`` (at word
    boundaries; a word longer than that is cut hard)."""
    if text_length(quote(line)) <= budget:
        return [line]
    step = max(1, budget // 6)  # an escaped character is at most 6 ("&quot;")
    pieces: list[str] = []
    current, size = "", 0
    for token in _TOKEN_RE.findall(line):
        parts = [token[i : i + step] for i in range(0, len(token), step)]
        for part in parts:
            cost = text_length(quote(part))
            if current and size + cost > budget:
                pieces.append(current)
                current, size = "", 0
            current += part
            size += cost
    if current:
        pieces.append(current)
    return pieces


def split_blocks(
    blocks: Sequence[tuple[str | None, str]], *, head: str = "", budget: int = MESSAGE_BUDGET
) -> list[str]:
    """Messages (HTML) holding ``blocks`` of (bold heading, plain text), split at line and word
    boundaries so that none exceeds ``budget`` characters of HTML (so of visible text too, which
    is never longer). ``head`` is
    trusted HTML put on top of the first message (it must be short). Linear in the text: a
    content of thousands of short lines is split in milliseconds."""
    # Units kept together on one message: a heading travels with the first line of its block.
    units: list[tuple[str, bool]] = []  # (html, starts a block)
    for heading, body in blocks:
        lines = [quote(p) for line in (body or "").split("\n") for p in _cut_line(line, budget)]
        lines = lines or [""]
        first = lines[0]
        if heading:
            title = "<b>" + quote(heading) + "</b>"
            joined = title + "\n" + first
            if text_length(joined) <= budget:
                units.append((joined, True))
            else:
                units += [(title, True), (first, False)]
        else:
            units.append((first, True))
        units += [(line, False) for line in lines[1:]]
    messages: list[str] = []
    current: list[str] = [head] if head else []
    size = text_length(head) if head else 0
    for html, starts_block in units:
        separator = "\n\n" if starts_block else "\n"
        cost = text_length(html) + (len(separator) if current else 0)
        if current and size + cost > budget:
            messages.append(_join(current))
            current, size = [], 0
            cost = text_length(html)
        current.append(("\n\n" if starts_block else "\n") + html if current else html)
        size += cost
    if current:
        messages.append(_join(current))
    return [m if m.strip() else "…" for m in messages] or ["…"]


def _join(parts: list[str]) -> str:
    return "".join(parts).strip("\n")


# --- keyboards -----------------------------------------------------------------------------------


def _button(text: str, data: Any) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=shorten(text, BUTTON_TEXT_LIMIT), callback_data=data.pack())


def _nav_row(form_id: str, *, back: bool = True) -> list[InlineKeyboardButton]:
    row = []
    if back:
        row.append(_button(back_label(), FormAction(op=FormOp.BACK, form=form_id)))
    row.append(_button(cancel_label(), FormAction(op=FormOp.CANCEL, form=form_id)))
    return row


def _keep_row(form_id: str, editing: bool) -> list[InlineKeyboardButton]:
    if editing:
        return [_button(_("↩️ Back to the review"), FormAction(op=FormOp.REVIEW, form=form_id))]
    return [_button(keep_label(), FormAction(op=FormOp.NEXT, form=form_id))]


def nav_keyboard(
    form_id: str, *, back: bool = True, keep: bool = False, editing: bool = False
) -> InlineKeyboardMarkup:
    """Back and Cancel; with ``keep``, a first row to keep the value already given."""
    rows = [_keep_row(form_id, editing)] if keep else []
    rows.append(_nav_row(form_id, back=back))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def petitions_menu(*, resume_step: int | None = None, total_steps: int = 0) -> InlineKeyboardMarkup:
    rows = []
    if resume_step is not None:
        rows.append(
            [
                _button(
                    _("▶️ Continue my unfinished petition (step {step} of {total})").format(
                        step=format_number(resume_step), total=format_number(total_steps)
                    ),
                    PetitionMenu(action=PetitionMenuAction.RESUME),
                )
            ]
        )
    rows += [
        [_button(_("✍️ Send a new petition"), PetitionMenu(action=PetitionMenuAction.NEW))],
        [_button(_("📋 My petitions"), PetitionMenu(action=PetitionMenuAction.MINE))],
        [_button(_("📢 Published answers"), PublicList(page=0))],
        [_button(_("🏠 Main menu"), MenuCallback(action=MenuAction.START))],
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def back_to_petitions() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("↩️ Petitions menu"), PetitionMenu(action=PetitionMenuAction.MENU))],
            [_button(_("🏠 Main menu"), MenuCallback(action=MenuAction.START))],
        ]
    )


def topic_keyboard(
    form_id: str,
    procedures: Sequence[Procedure] = (),
    *,
    keep: bool = False,
    editing: bool = False,
) -> InlineKeyboardMarkup:
    names = [p.name for p in procedures]
    rows = []
    for i, p in enumerate(procedures, 1):
        label = f"{format_number(i)}. "
        if names.count(p.name) > 1:  # the same name at several levels: say which one
            suffix = " · " + (", ".join(p.levels) if p.levels else p.code)
            label += shorten(p.name, BUTTON_TEXT_LIMIT - len(label) - len(suffix)) + suffix
        else:
            label += p.name
        rows.append([_button(label, PetitionTopic(code=p.code, form=form_id))])
    rows.append(
        [
            _button(
                "🏢 " + topic_label(TOPIC_SERVICE, None),
                FormAction(op=FormOp.SERVICE, form=form_id),
            )
        ]
    )
    rows.append(
        [_button("📜 " + topic_label(TOPIC_OTHER, None), FormAction(op=FormOp.OTHER, form=form_id))]
    )
    if keep:
        rows.append(_keep_row(form_id, editing))
    rows.append(_nav_row(form_id))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def files_keyboard(form_id: str, count: int) -> InlineKeyboardMarkup:
    label = (
        _("✅ Done ({count} attached)").format(count=format_number(count))
        if count
        else _("⏭ Skip, no attachments")
    )
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(label, FormAction(op=FormOp.FILES_DONE, form=form_id))],
            _nav_row(form_id),
        ]
    )


def redirect_keyboard(form_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("✏️ Rewrite my text"), FormAction(op=FormOp.REWRITE, form=form_id))],
            _nav_row(form_id),
        ]
    )


def share_contact_label() -> str:
    return _("📱 Share my phone number")


def back_label() -> str:
    return _("⬅️ Back")


def keep_label() -> str:
    return _("➡️ Keep it and continue")


def cancel_label() -> str:
    return _("✖️ Cancel")


def contact_reply_keyboard(*, keep: bool = False) -> ReplyKeyboardMarkup:
    """Telegram only: share the own number with one tap; Back / Cancel (and Keep) as typed
    buttons, since one message cannot carry both a reply keyboard and inline buttons."""
    keyboard = [[KeyboardButton(text=share_contact_label(), request_contact=True)]]
    if keep:
        keyboard.append([KeyboardButton(text=keep_label())])
    keyboard.append([KeyboardButton(text=back_label()), KeyboardButton(text=cancel_label())])
    return ReplyKeyboardMarkup(
        keyboard=keyboard,
        resize_keyboard=True,
        one_time_keyboard=False,
        input_field_placeholder=_("0912 345 678 or name@example.com"),
    )


def review_keyboard(form_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("📨 Submit the petition"), FormAction(op=FormOp.SUBMIT, form=form_id))],
            [_button(_("✏️ Edit a field"), FormAction(op=FormOp.EDIT, form=form_id))],
            [_button(_("✖️ Cancel"), FormAction(op=FormOp.CANCEL, form=form_id))],
        ]
    )


def field_label(step: str) -> str:
    return {
        TOPIC: _("Topic"),
        CONTENT: _("Content"),
        FILES: _("Attachments"),
        NAME: _("Full name"),
        CONTACT: _("Phone or e-mail"),
        ADDRESS: _("Address"),
    }.get(step, step)


def edit_keyboard(form_id: str, channel: str) -> InlineKeyboardMarkup:
    editable = [s for s in EDITABLE if s in steps_for(channel)]
    rows = [
        [_button("✏️ " + field_label(s), FormAction(op=FormOp.EDIT_FIELD, form=form_id, arg=s))]
        for s in editable
    ]
    rows.append([_button(_("↩️ Back to the review"), FormAction(op=FormOp.REVIEW, form=form_id))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def my_petitions_keyboard(petitions: Sequence[Any]) -> InlineKeyboardMarkup:
    rows = [
        [
            _button(
                f"{status_icon(p.status)} {p.tracking_code} · {status_label(p.status)}",
                PetitionView(id=p.id),
            )
        ]
        for p in petitions
    ]
    rows.append([_button(_("↩️ Petitions menu"), PetitionMenu(action=PetitionMenuAction.MENU))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def petition_keyboard(petition: Any) -> InlineKeyboardMarkup:
    rows = []
    if petition.status == "info_requested":
        rows.append(
            [_button(_("✍️ Reply with the information"), PetitionReply(petition_id=petition.id))]
        )
    rows.append([_button(_("🔄 Refresh"), PetitionView(id=petition.id))])
    rows.append([_button(_("📋 My petitions"), PetitionMenu(action=PetitionMenuAction.MINE))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def reply_keyboard(petition_id: int, files: int) -> InlineKeyboardMarkup:
    rows = []
    if files:
        rows.append(
            [
                _button(
                    _("📨 Send the {count} files without text").format(count=format_number(files)),
                    ReplyOp(op=ReplyAction.SEND, petition_id=petition_id),
                )
            ]
        )
    rows.append([_button(_("✖️ Cancel"), ReplyOp(op=ReplyAction.CANCEL, petition_id=petition_id))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


PUBLIC_PAGE_SIZE = 5


@dataclass(frozen=True)
class PublicItem:
    """What a published petition shows: built only from its redacted public copies, so the
    sender's data cannot reach these renderers."""

    id: int
    tracking_code: str
    topic: str
    agency: str
    received_at: datetime | None
    published_at: datetime | None
    content: str
    answer: str


def public_list_keyboard(
    items: Sequence[PublicItem], page: int, total: int
) -> InlineKeyboardMarkup:
    rows = [
        [_button(f"📄 {p.tracking_code} · {shorten(p.topic, 30)}", PublicOpen(id=p.id, page=page))]
        for p in items
    ]
    pages = max(1, -(-total // PUBLIC_PAGE_SIZE))
    nav = []
    if page > 0:
        nav.append(_button(_("‹ Previous"), PublicList(page=page - 1)))
    if page < pages - 1:
        nav.append(_button(_("Next ›"), PublicList(page=page + 1)))
    if nav:
        rows.append(nav)
    rows.append([_button(_("↩️ Petitions menu"), PetitionMenu(action=PetitionMenuAction.MENU))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def public_item_keyboard(page: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("↩️ Back to the list"), PublicList(page=page))],
            [_button(_("↩️ Petitions menu"), PetitionMenu(action=PetitionMenuAction.MENU))],
        ]
    )


# --- texts of the menu -----------------------------------------------------------------------------


def menu_text() -> str:
    return "\n\n".join(
        [
            "<b>" + _("✍️ Feedback and petitions (phản ánh, kiến nghị)") + "</b>",
            _(
                "Tell the administration about a problem with an administrative procedure or "
                "regulation, or with the service at a public service centre, and propose how to "
                "fix it. You get a tracking code, and I tell you here when the agency answers."
            ),
            _(
                "Complaints and denunciations (khiếu nại, tố cáo) and requests for legal advice "
                "follow other procedures; I will tell you where to send them."
            ),
        ]
    )


def private_only_text() -> str:
    return _(
        "🔐 Petitions hold your name, phone number and address, so they are sent only in a "
        "private chat with me. Please open a private chat with me and send /phananh there."
    )


def cancelled_text() -> str:
    return _("✖️ Your petition was cancelled; nothing was sent.")


def stale_form_text() -> str:
    return _("This form is no longer open. Send /phananh to start again.")


# --- texts of the steps ----------------------------------------------------------------------------


def ask_topic_text(channel: str) -> str:
    return "\n\n".join(
        [
            step_line(TOPIC, channel),
            "<b>" + _("What is your feedback about?") + "</b>",
            _(
                "Type the name of the administrative procedure (for example “đăng ký khai sinh”) "
                "and pick it from the list, or choose one of the options below."
            ),
        ]
    )


def topic_results_text(query: str, count: int, channel: str) -> str:
    if count:
        body = _("Procedures matching “{query}”: tap the one your feedback is about.").format(
            query=quote(shorten(query, 80))
        )
    else:
        body = _(
            "I found no procedure matching “{query}”. Try other words, or choose one of the "
            "options below."
        ).format(query=quote(shorten(query, 80)))
    return step_line(TOPIC, channel) + "\n\n" + body


def topic_chosen_line(form: FormData) -> str:
    return _("Topic: {topic}").format(
        topic="<b>" + quote(topic_label(form.topic_kind, form.topic)) + "</b>"
    )


def ask_content_text(form: FormData, channel: str) -> str:
    parts = [
        step_line(CONTENT, channel),
        topic_chosen_line(form),
        "<b>" + _("Describe your feedback") + "</b>",
        _(
            "In one message, in Vietnamese: what happened (where and when), what the problem "
            "with the procedure or regulation is, and what you propose. At least {words} words, "
            "at most {limit} characters."
        ).format(words=format_number(CONTENT_MIN_WORDS), limit=format_number(CONTENT_MAX_CHARS)),
    ]
    if form.content:
        parts.append(
            _("Your current text (send a new one to replace it):")
            + "\n<i>"
            + quote(shorten(form.content, 300))
            + "</i>"
        )
    return "\n\n".join(parts)


def ask_files_text(form: FormData, channel: str) -> str:
    parts = [
        step_line(FILES, channel),
        "<b>" + _("Photos or documents (optional)") + "</b>",
        _(
            "You can attach up to {count} photos or files (JPG, PNG, PDF, DOC(X), XLS(X), up to "
            "{size} MB each). Send them now, or skip this step."
        ).format(
            count=format_number(MAX_FILES), size=format_number(MAX_FILE_BYTES // (1024 * 1024))
        ),
    ]
    if form.files:
        parts.append(attached_list(form.files))
    return "\n\n".join(parts)


def attached_list(files: Sequence[dict[str, Any]]) -> str:
    lines = [
        _("Attached ({count} of {limit}):").format(
            count=format_number(len(files)), limit=format_number(MAX_FILES)
        )
    ]
    lines += [f"{format_number(i)}. {quote(file_label(f))}" for i, f in enumerate(files, 1)]
    return "\n".join(lines)


def file_added_text(files: Sequence[dict[str, Any]]) -> str:
    text = "📎 " + attached_list(files)
    if len(files) < MAX_FILES:
        text += "\n\n" + _("Send more, or tap “Done”.")
    return text


def files_text_hint() -> str:
    return _("Please send a photo or a file, or tap the button below to continue without one.")


def ask_name_text(form: FormData, channel: str) -> str:
    parts = [
        step_line(NAME, channel),
        "<b>" + _("Your full name") + "</b>",
        _("As on your ID card, for example Nguyễn Văn An. The agency needs it to answer you."),
    ]
    if form.name:
        parts.append(_("Now: {value}").format(value=quote(form.name)))
    return "\n\n".join(parts)


def ask_contact_text(form: FormData, channel: str) -> str:
    parts = [
        step_line(CONTACT, channel),
        "<b>" + _("Your phone number or e-mail") + "</b>",
        _("Type a Vietnamese phone number (for example 0912 345 678) or an e-mail address."),
    ]
    if channel == "telegram":
        parts.append(_("Or tap “Share my phone number” below."))
    if form.phone or form.email:
        parts.append(_("Now: {value}").format(value=quote(form.phone or form.email or "")))
    parts.append(
        "🔐 " + _("Only the agency handling your petition sees it; it is never published.")
    )
    return "\n\n".join(parts)


def contact_saved_text(value: str) -> str:
    return _("✅ Contact saved: {value}").format(value=quote(value))


def not_own_contact_text() -> str:
    return _("Please share your own phone number with the button, not someone else's contact.")


def ask_address_text(form: FormData, channel: str) -> str:
    parts = [
        step_line(ADDRESS, channel),
        "<b>" + _("Your address") + "</b>",
        _(
            "House number, street, ward or commune, district, province — where the agency can "
            "send you a written answer."
        ),
    ]
    if form.address:
        parts.append(_("Now: {value}").format(value=quote(form.address)))
    return "\n\n".join(parts)


def text_expected() -> str:
    return _("Please type your answer as text.")


def photo_too_early_text() -> str:
    return _(
        "Please type the requested information first; you can attach photos and files in a later step."
    )


def files_step_passed_text(*, at_review: bool) -> str:
    """A photo or a file sent after the attachments step: say how to add it (never "later")."""
    if at_review:
        return _("To add photos or files, tap “Edit a field”, then “Attachments”.")
    return _(
        "Please type the requested information first. You can add photos and files when you "
        "check your petition at the end: “Edit a field”, then “Attachments”."
    )


def review_hint_text() -> str:
    return _("Please use the buttons: submit the petition, edit a field, or cancel.")


def edit_prompt_text() -> str:
    return _("Which field do you want to change?")


_DONE_WORDS = frozenset(
    {
        "xong",
        "xong roi",
        "done",
        "skip",
        "bo qua",
        "khong",
        "khong co",
        "ko",
        "ok",
        "tiep",
        "tiep tuc",
        "next",
    }
)


def means_done(text: str) -> bool:
    """A typed "done" / "skip" at the attachments step ("xong", "bỏ qua", "không có", "skip")."""
    folded = strip_diacritics(clean_text(text).lower()).replace("đ", "d").strip(" .!")
    return folded in _DONE_WORDS


def problem_text(problem: Problem) -> str:
    """A helpful explanation of one validation problem (knowledge.petitions codes)."""
    code = problem.code
    if code == "content_empty":
        return _("Your message has no text. Please describe your feedback in words.")
    if code == "content_too_long":
        return _("Your text is too long. Please keep it under {limit} characters.").format(
            limit=format_number(CONTENT_MAX_CHARS)
        )
    if code == "content_unclear":
        return _(
            "I could not read a clear content in your message. Please describe in words what "
            "happened and what you propose."
        )
    if code == "content_too_short":
        return _(
            "Please describe it in a little more detail (at least {words} words): what "
            "happened, where, and what you propose."
        ).format(words=format_number(CONTENT_MIN_WORDS))
    if code == "content_not_vietnamese":
        return _(
            "Petitions are received in Vietnamese only. Please write your text in Vietnamese "
            "(typing without accents is fine)."
        )
    if code in ("name_missing", "name_invalid"):
        return _(
            "Please type your full name: at least two words, letters only, for example "
            "Nguyễn Văn An."
        )
    if code == "phone_invalid":
        return _(
            "This is not a valid Vietnamese phone number. Please type a number such as "
            "0912 345 678, or an e-mail address."
        )
    if code == "email_invalid":
        return _(
            "This e-mail address does not look right. Please check it, or type a phone number "
            "instead."
        )
    if code == "contact_missing":
        return _("Please type a phone number or an e-mail address.")
    if code == "address_too_long":
        return _("The address is too long. Please keep it under {limit} characters.").format(
            limit=format_number(ADDRESS_MAX_CHARS)
        )
    return _(
        "Please type your full address (house number, street, ward or commune, district, "
        "province), at least {count} characters."
    ).format(count=format_number(ADDRESS_MIN_CHARS))


def redirect_text(classification: Classification) -> str:
    """Why a complaint, a denunciation or a legal-advice request is not taken as a petition,
    and where to go instead (Decree 20/2008, as amended by Decree 92/2017)."""
    words = quote(shorten(classification.matched or "", 60))
    if classification.kind is RequestKind.COMPLAINT:
        head = _("⚖️ Your text looks like a complaint (khiếu nại): you wrote “{words}”.").format(
            words=words
        )
        where = _(
            "A complaint about a decision or an act of an agency or an official follows the Law "
            "on Complaints (Luật Khiếu nại), not the petition procedure. Please send it in "
            "writing, or bring it in person, to the citizen reception office (Ban tiếp công dân) "
            "of the agency that made the decision or employs the official."
        )
    elif classification.kind is RequestKind.DENUNCIATION:
        head = _("⚖️ Your text looks like a denunciation (tố cáo): you wrote “{words}”.").format(
            words=words
        )
        where = _(
            "Reporting a violation of the law by an official follows the Law on Denunciations "
            "(Luật Tố cáo), not the petition procedure. Please send it to the citizen reception "
            "office (Ban tiếp công dân) or the inspectorate (thanh tra) of the agency that "
            "manages the person concerned. Your identity is protected by that law."
        )
    else:
        head = _("⚖️ Your text looks like a request for legal advice: you wrote “{words}”.").format(
            words=words
        )
        where = _(
            "Agencies do not give legal advice through petitions. For free legal aid, please "
            "contact the state legal aid centre (Trung tâm trợ giúp pháp lý nhà nước) or the "
            "Department of Justice (Sở Tư pháp) of your province."
        )
    return "\n\n".join(
        [
            head,
            where,
            _(
                "Your text was not sent. If your feedback is about an administrative procedure "
                "or regulation, or the service you received, tap “Rewrite my text” and describe "
                "it that way."
            ),
        ]
    )


# --- review and thanks -------------------------------------------------------------------------------


def _contact_value(form: FormData) -> str:
    return form.phone or form.email or "—"


def render_review(form: FormData, channel: str) -> list[str]:
    """The review screen; when the content is long it goes in messages of its own before the
    card (the last message, which carries the buttons), so every field is shown in full."""
    steps = steps_for(channel)
    head = step_line(REVIEW, channel) + "\n<b>" + _("📋 Please check your petition") + "</b>"
    fields_block: list[tuple[str | None, str]] = [
        (
            field_label(TOPIC),
            topic_label(form.topic_kind, form.topic)
            + (f" ({form.procedure_code})" if form.procedure_code else ""),
        ),
    ]
    tail: list[tuple[str | None, str]] = []
    if FILES in steps:
        tail.append(
            (
                field_label(FILES),
                "\n".join(f"{i}. {file_label(f)}" for i, f in enumerate(form.files, 1))
                if form.files
                else _("none"),
            )
        )
    tail += [
        (field_label(NAME), form.name or "—"),
        (field_label(CONTACT), _contact_value(form)),
        (field_label(ADDRESS), form.address or "—"),
    ]
    footer = _("If everything is right, tap “Submit the petition”.")
    whole = split_blocks(
        [*fields_block, (field_label(CONTENT), form.content or "—"), *tail, (None, footer)],
        head=head,
    )
    if len(whole) == 1:
        return whole
    content = split_blocks(
        [(field_label(CONTENT), form.content or "—")],
        head="<b>" + _("📋 Your petition, content in full:") + "</b>",
    )
    card = split_blocks(
        [*fields_block, (field_label(CONTENT), _("(in full above)")), *tail, (None, footer)],
        head=head,
    )
    return content + card


def thanks_text(tracking_code: str, agency_name: str, answer_by: date) -> str:
    return "\n\n".join(
        [
            "✅ <b>" + _("Thank you! Your petition has been received.") + "</b>",
            _("Tracking code: {code}").format(code=f"<code>{quote(tracking_code)}</code>"),
            _("Sent to: {agency}").format(agency=quote(agency_name)),
            _("The agency answers by {date} at the latest (15 working days).").format(
                date=format_date(answer_by)
            ),
            _(
                "I will message you here when the agency takes it up, asks for more information "
                "or answers. To check it yourself, send me the tracking code at any time."
            ),
        ]
    )


# --- my petitions ----------------------------------------------------------------------------------


def my_petitions_text(petitions: Sequence[Any]) -> str:
    if not petitions:
        return "\n\n".join(
            [
                "<b>" + _("📋 My petitions") + "</b>",
                _("You have not sent any petition from this chat yet."),
                _("If you have a tracking code (PAKN-2026-000123), send it to me."),
            ]
        )
    lines = [
        f"{status_icon(p.status)} <code>{quote(p.tracking_code)}</code> · "
        f"{_local_date(p.received_at)} — {quote(status_label(p.status))}\n"
        f"    {quote(shorten(topic_label(p.topic_kind, p.topic), 70))}"
        for p in petitions
    ]
    return "\n\n".join(
        [
            "<b>" + _("📋 My petitions") + "</b>",
            "\n".join(lines),
            _("Tap one to see its details, or send me a tracking code."),
        ]
    )


def bad_tracking_code_text() -> str:
    return _(
        "This does not look like a tracking code. A tracking code looks like PAKN-2026-000123 "
        "(PAKN, the year, the number); spaces and dashes do not matter."
    )


def petition_not_found_text() -> str:
    return _(
        "I found no petition sent from this chat with this tracking code. Please check the code; "
        "the status of a petition is shown only in the chat it was sent from."
    )


def render_petition(
    petition: Any,
    agency_name: str,
    *,
    question: str | None = None,
    attachments: int = 0,
    now: datetime | None = None,
) -> list[str]:
    """The sender's own view of their petition (their own data, in their own chat)."""
    head_lines = [
        f"{status_icon(petition.status)} <b>"
        + _("Petition {code}").format(code=quote(petition.tracking_code))
        + "</b>",
        _("Status: {status}").format(status="<b>" + quote(status_label(petition.status)) + "</b>"),
        _("Topic: {topic}").format(
            topic=quote(shorten(topic_label(petition.topic_kind, petition.topic), 200))
        ),
        _("Received: {date}").format(date=_local_date(petition.received_at)),
        _("Handled by: {agency}").format(agency=quote(agency_name)),
    ]
    if petition.status in ("received", "in_progress", "info_requested"):
        head_lines.append(_("Answer due by: {date}").format(date=_local_date(petition.answer_by)))
    if attachments:
        head_lines.append(_("Attachments: {count}").format(count=format_number(attachments)))
    blocks: list[tuple[str | None, str]] = [(_("Your feedback"), petition.content or "")]
    if petition.status == "info_requested" and question:
        blocks.append((_("The agency asks for more information"), question))
    if petition.status == "refused" and petition.refusal_reason:
        blocks.append((_("Reason"), petition.refusal_reason))
    if petition.status in ("answered", "published") and petition.answer:
        blocks.append((_("The agency's answer"), petition.answer))
    tail = []
    if petition.status == "info_requested":
        tail.append((None, _("Tap “Reply with the information” to answer.")))
    return split_blocks([*blocks, *tail], head="\n".join(head_lines))


# --- replying to a request for information -----------------------------------------------------------


def ask_reply_text(petition: Any, question: str | None, channel: str) -> list[str]:
    head = (
        "<b>"
        + _("✍️ Reply about petition {code}").format(code=quote(petition.tracking_code))
        + "</b>"
    )
    blocks: list[tuple[str | None, str]] = []
    if question:
        blocks.append((_("The agency asks"), question))
    hint = _("Type your answer in one message.")
    if channel == "telegram":
        hint += " " + _(
            "You can send photos or files (JPG, PNG, PDF, DOC(X), XLS(X)) before your text."
        )
    blocks.append((None, hint))
    return split_blocks(blocks, head=head)


def reply_sent_text(tracking_code: str) -> str:
    return _(
        "✅ Your information was sent to the agency handling petition {code}. I will tell you "
        "when there is news."
    ).format(code=f"<code>{quote(tracking_code)}</code>")


def reply_not_waiting_text() -> str:
    return _("This petition is not waiting for information from you any more.")


def reply_cancelled_text() -> str:
    return _("Your reply was not sent.")


def reply_empty_text() -> str:
    return _("Please type your answer in words.")


def reply_after_file_text() -> str:
    return _("Now type your answer, or send the files without text.")


# --- published answers -------------------------------------------------------------------------------


def _first_lines(text: str, limit: int) -> str:
    return quote(shorten(" ".join(text.split()), limit))


def public_list_text(items: Sequence[PublicItem], page: int, total: int) -> str:
    if not items:
        return "\n\n".join(
            [
                "<b>" + _("📢 Published answers") + "</b>",
                _("No answer has been published yet."),
            ]
        )
    pages = max(1, -(-total // PUBLIC_PAGE_SIZE))
    entries = [
        "\n".join(
            [
                f"📄 <b>{quote(p.tracking_code)}</b> · {_local_date(p.published_at)}",
                quote(shorten(p.topic, 120)),
                _("Agency: {agency}").format(agency=quote(shorten(p.agency, 100))),
                "❓ " + _first_lines(p.content, 160),
                "💬 " + _first_lines(p.answer, 160),
            ]
        )
        for p in items
    ]
    return "\n\n".join(
        [
            "<b>"
            + _("📢 Published answers")
            + "</b> · "
            + _("page {page} of {pages}").format(
                page=format_number(page + 1), pages=format_number(pages)
            ),
            *entries,
            _("Personal data is removed before publication. Tap one to read it in full."),
        ]
    )


def render_public(item: PublicItem) -> list[str]:
    """A published petition in full: only its public (redacted) copies."""
    head = "\n".join(
        [
            "📢 <b>" + _("Petition {code}").format(code=quote(item.tracking_code)) + "</b>",
            _("Topic: {topic}").format(topic=quote(shorten(item.topic, 300))),
            _("Agency: {agency}").format(agency=quote(item.agency)),
            _("Received: {date}").format(date=_local_date(item.received_at)),
            _("Published: {date}").format(date=_local_date(item.published_at)),
        ]
    )
    return split_blocks([(_("Feedback"), item.content), (_("Answer"), item.answer)], head=head)


def public_not_found_text() -> str:
    return _("This answer is not published (any more).")
