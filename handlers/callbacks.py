"""Callback data factories. Every packed value must fit Telegram's 64-byte limit.

Prefixes are short on purpose: the longest procedure codes ("2.002307.000.00.00.H35") must
still fit with a page number.
"""

from __future__ import annotations

import zlib
from enum import Enum

from aiogram.filters.callback_data import CallbackData

CALLBACK_DATA_LIMIT = 64


class MenuAction(str, Enum):
    PROCEDURES = "proc"
    DOSSIERS = "dos"
    FEEDBACK = "fb"
    HELP = "help"
    LANGUAGE = "lang"
    START = "start"


class MenuCallback(CallbackData, prefix="m"):
    action: MenuAction


class LanguageCallback(CallbackData, prefix="l"):
    code: str  # "vi" | "en"


class OpenProcedure(CallbackData, prefix="po"):
    """Open a procedure card from a list of results (sends a new message)."""

    code: str


class CardPage(CallbackData, prefix="pp"):
    """Show page `page` (0-based) of a card, editing the message in place."""

    code: str
    page: int


class Suggestion(CallbackData, prefix="sg"):
    """Search again with the n-th "did you mean" phrase (phrases are kept in the FSM data;
    `check` is a short hash of the phrase, so a stale button cannot run a newer phrase)."""

    index: int
    check: str


def phrase_check(phrase: str) -> str:
    """8 hex digits identifying a phrase (CRC-32; not security, just staleness)."""
    return format(zlib.crc32(phrase.encode("utf-8")), "08x")


class Noop(CallbackData, prefix="x"):
    """Buttons that only display something (the page counter)."""


class DossierOp(str, Enum):
    VIEW = "v"
    FOLLOW = "f"
    UNFOLLOW = "u"


class DossierAction(CallbackData, prefix="d"):
    """Show, follow or stop following a dossier; `id` is the dossier's database id. The
    handler checks that the chat verified or follows it, so a forged id opens nothing."""

    op: DossierOp
    id: int


class RateService(CallbackData, prefix="r"):
    """Rate the service of a returned dossier: level 1 (very satisfied) .. 5."""

    id: int
    level: int
