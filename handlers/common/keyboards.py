"""The main menu, the "back to the menu" button and the language choice (inline keyboards)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from .callbacks import LanguageCallback, MenuAction, MenuCallback

LANGUAGES: dict[str, str] = {"vi": "🇻🇳 Tiếng Việt", "en": "🇬🇧 English"}


def main_menu() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("📚 Administrative procedures"),
        callback_data=MenuCallback(action=MenuAction.PROCEDURES),
    )
    kb.button(text=_("🔍 Dossier status"), callback_data=MenuCallback(action=MenuAction.DOSSIERS))
    kb.button(
        text=_("✍️ Feedback and petitions"), callback_data=MenuCallback(action=MenuAction.FEEDBACK)
    )
    kb.button(text=_("ℹ️ Help"), callback_data=MenuCallback(action=MenuAction.HELP))
    kb.button(text=_("🌐 Language"), callback_data=MenuCallback(action=MenuAction.LANGUAGE))
    kb.adjust(1, 2, 2)
    return kb.as_markup()


def main_menu_button() -> InlineKeyboardButton:
    """The button back to the main menu, also under other features' cards."""
    return InlineKeyboardButton(
        text=_("🏠 Main menu"), callback_data=MenuCallback(action=MenuAction.START).pack()
    )


def back_to_menu() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[main_menu_button()]])


def language_menu(current: str | None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code, label in LANGUAGES.items():
        kb.button(
            text=("✓ " if code == current else "") + label,
            callback_data=LanguageCallback(code=code),
        )
    kb.adjust(2)
    return kb.as_markup()
