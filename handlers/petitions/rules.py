"""The pure rules of the citizen's petition form: how a typed text is cleaned, which files may
be attached, when a chat may send its next petition, and what a typed "done" looks like.
Nothing here does I/O or renders a text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta

from knowledge.normalize import clean_text, strip_diacritics

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
