"""Photos and documents a citizen attaches to a petition or a reply: as kept in the
conversation state, and as the repository stores them.
"""

from __future__ import annotations

from typing import Any

from aiogram.types import Message

from knowledge.normalize import clean_text
from storage.repositories.petitions import AttachmentDraft

from .rules import MAX_FILE_BYTES, MAX_FILES, attachment_problem


def attachment_of(message: Message) -> tuple[dict[str, Any] | None, str | None]:
    """(the file as kept in the form, None) or (None, the reason it is refused)."""
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
