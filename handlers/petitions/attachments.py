"""Photos and documents a citizen attaches to a petition or a reply: as kept in the
conversation state, and as the repository stores them.

Where the file lives decides its kind. A Telegram photo or document has a Telegram file id
(kind ``photo`` / ``document``: the bytes stay with Telegram, an official's Telegram chat
re-sends them by that id). A channel that hands over the file as a link — Zalo's photo and
document messages carry the media URL as their file id — gives kind ``url``: no Telegram
file id, so it is always shown as a link (the officials' inbox page, an official's chat on any
channel). Telegram file ids never start with a scheme, so the file id alone says which it is;
a link must be an https URL of at most :data:`MAX_URL_CHARS` printable ASCII characters.
"""

from __future__ import annotations

import re
from typing import Any

from aiogram.types import Message

from knowledge.normalize import clean_text
from storage.repositories.petitions import AttachmentDraft

from .rules import MAX_FILE_BYTES, MAX_FILES, attachment_problem

MAX_URL_CHARS = 512  # petition_attachments.file_id
_URL_RE = re.compile(r"https://[A-Za-z0-9.-]+(?::\d{1,5})?(?:[/?#][!-~]*)?")


def is_link(file_id: str) -> bool:
    """The "file id" is a URL (a channel that hands files over as links), not Telegram's."""
    return file_id.lower().startswith(("https://", "http://"))


def link_problem(url: str) -> str | None:
    """Why a link cannot be kept as an attachment ("link"), or None: https, a host, printable
    ASCII only (no spaces), at most :data:`MAX_URL_CHARS` characters."""
    if len(url) > MAX_URL_CHARS or not _URL_RE.fullmatch(url):
        return "link"
    return None


def _linked(message: Message, url: str) -> tuple[dict[str, Any] | None, str | None]:
    """A photo or document whose file id is its URL ``url``, as kind ``url``."""
    if (problem := link_problem(url)) is not None:
        return None, problem
    file: dict[str, Any] = {"kind": "url", "file_id": url, "name": None, "mime": None}
    if message.photo:
        photo = message.photo[-1]
        if photo.file_size is not None and photo.file_size > MAX_FILE_BYTES:
            return None, "too_big"
        return {**file, "media": "photo", "unique": photo.file_unique_id, "size": None}, None
    document = message.document
    if document is None:
        return None, "type"
    problem = attachment_problem(document.file_name, document.mime_type, document.file_size, 0)
    if problem is not None:
        return None, problem
    return {
        **file,
        "media": "document",
        "unique": document.file_unique_id,
        "name": clean_text(document.file_name or "")[:255] or None,
        "mime": document.mime_type,
        "size": document.file_size,
    }, None


def attachment_of(message: Message) -> tuple[dict[str, Any] | None, str | None]:
    """(the file as kept in the form, None) or (None, the reason it is refused)."""
    file_id = message.photo[-1].file_id if message.photo else ""
    file_id = file_id or (message.document.file_id if message.document else "")
    if is_link(file_id):
        return _linked(message, file_id)
    if message.photo:
        photo = message.photo[-1]  # the largest size Telegram made
        if photo.file_size is not None and photo.file_size > MAX_FILE_BYTES:
            return None, "too_big"
        return {
            "kind": "photo",
            "file_id": photo.file_id,
            "unique": photo.file_unique_id,
            "name": None,
            "mime": "image/jpeg",
            "size": photo.file_size,
        }, None
    document = message.document
    if document is None:
        return None, "type"
    problem = attachment_problem(document.file_name, document.mime_type, document.file_size, 0)
    if problem is not None:
        return None, problem
    return {
        "kind": "document",
        "file_id": document.file_id,
        "unique": document.file_unique_id,
        "name": clean_text(document.file_name or "")[:255] or None,
        "mime": document.mime_type,
        "size": document.file_size,
    }, None


def attachment_drafts(files: list[dict[str, Any]]) -> tuple[AttachmentDraft, ...]:
    """The files kept in the conversation state, as the repository stores them."""
    return tuple(
        AttachmentDraft(
            kind=str(f.get("kind") or "document"),
            file_id=str(f["file_id"]),
            file_name=(str(f["name"])[:255] if f.get("name") else None),
            mime_type=(str(f["mime"])[:127] if f.get("mime") else None),
            size=f.get("size") if isinstance(f.get("size"), int) else None,
        )
        for f in files
        if f.get("file_id")
    )


def add_file(files: list[dict[str, Any]], file: dict[str, Any]) -> str | None:
    """Add ``file`` unless it is already there; the reason it was refused, or None."""
    if any(f.get("unique") and f.get("unique") == file.get("unique") for f in files):
        return None  # the same file twice (an album re-sent): keep one
    if len(files) >= MAX_FILES:
        return "too_many"
    files.append(file)
    return None
