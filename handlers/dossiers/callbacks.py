"""Callback data of the dossier buttons: view, follow, stop following, rate the service.

Buttons carry only a dossier id; the handlers check that the chat verified or follows the
dossier, so forged data opens nothing. Packed values fit Telegram's 64-byte limit.
"""

from __future__ import annotations

from enum import Enum

from aiogram.filters.callback_data import CallbackData


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
