"""Pieces of the officials' texts that the petition notifications reuse too
(``handlers/petitions/notifications.py``): the deadline mark, long texts split into messages
that fit Telegram, and the "Open" button of a notification to an official."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from handlers.markup import text_length
from knowledge.petitions import DeadlineStatus

from .callbacks import OfficialPetition, PetitionOp


def deadline_mark(status: DeadlineStatus) -> str:
    if status is DeadlineStatus.OVERDUE:
        return "🔴 " + _("overdue")
    if status is DeadlineStatus.DUE_SOON:
        return "⚠️ " + _("due soon")
    return ""


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


def _longest_prefix(text: str, budget: int) -> int:
    """The length of the longest prefix of ``text`` that fits ``budget`` (binary search)."""
    low, high = 1, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if text_length(text[:mid]) <= budget:
            low = mid
        else:
            high = mid - 1
    return low


def _natural_break(text: str, cut: int) -> int:
    """Back off from ``cut`` to a paragraph break, else a line break, else a space in its second
    half; ``cut`` itself when there is none."""
    for separator in ("\n\n", "\n", " "):
        at = text.rfind(separator, 0, cut)
        if at > cut // 2:
            return at
    return cut


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
        low = _longest_prefix(text, budget)
        cut = _natural_break(text, low)
        piece = text[:cut].rstrip()
        if not piece:  # only white space before the break: cut hard
            piece, cut = text[:low], low
        parts.append(piece)
        text = text[cut:].strip()
    return parts
