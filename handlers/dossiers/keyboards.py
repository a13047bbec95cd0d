"""Keyboards of the dossier dialogs: the contact share, a dossier card's buttons, the buttons
under a pushed status change, and the rating scale."""

from __future__ import annotations

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _

from handlers.common.keyboards import main_menu_button

from . import render
from .callbacks import DossierAction, DossierOp, RateService


def contact_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def _action_button(text: str, op: DossierOp, dossier_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=DossierAction(op=op, id=dossier_id).pack())


def _follow_button(dossier_id: int, following: bool) -> InlineKeyboardButton:
    if following:
        return _action_button(_("🔕 Stop following"), DossierOp.UNFOLLOW, dossier_id)
    return _action_button(_("🔔 Notify me of changes"), DossierOp.FOLLOW, dossier_id)


def dossier_keyboard(dossier_id: int, following: bool) -> InlineKeyboardMarkup:
    """Under a dossier card: follow (or stop), refresh, back to the menu."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_follow_button(dossier_id, following)],
            [_action_button(_("🔄 Refresh"), DossierOp.VIEW, dossier_id)],
            [main_menu_button()],
        ]
    )


def push_keyboard(dossier_id: int) -> InlineKeyboardMarkup:
    """Under a pushed status change: the details, or stop following."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _action_button(_("📄 Details"), DossierOp.VIEW, dossier_id),
                _follow_button(dossier_id, following=True),
            ]
        ]
    )


def rating_keyboard(dossier_id: int) -> InlineKeyboardMarkup:
    """The satisfaction scale, best first, one level per row."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=render.rating_label(level),
                    callback_data=RateService(id=dossier_id, level=level).pack(),
                )
            ]
            for level in render.RATING_LEVELS
        ]
    )
