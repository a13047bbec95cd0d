"""Callback data of the main menu, the language switch and display-only buttons.

Every packed value of every feature must fit Telegram's 64-byte limit (`CALLBACK_DATA_LIMIT`);
prefixes are short on purpose, so the longest procedure codes ("2.002307.000.00.00.H35") still
fit with a page number.
"""

from __future__ import annotations

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


class Noop(CallbackData, prefix="x"):
    """Buttons that only display something (the page counter)."""


class ZnsStop(CallbackData, prefix="zs"):
    """Stop ZNS messages: forget the phone they go to (``handlers.common.zns``)."""
