"""gettext catalogs of the dialogs (Vietnamese default, English second) and locale choice."""

from __future__ import annotations

from pathlib import Path

from aiogram import Bot
from aiogram.utils.i18n import I18n

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "vi"
SUPPORTED_LOCALES = ("vi", "en")
DEFAULT_CHANNEL = "telegram"


def create_i18n(default_locale: str = DEFAULT_LOCALE) -> I18n:
    """A fresh I18n over the compiled catalogs in handlers/locales."""
    return I18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


def channel_of(bot: Bot | None) -> str:
    """The channel a bot instance serves; adapters set `channel_name` on their Bot subclass."""
    return str(getattr(bot, "channel_name", DEFAULT_CHANNEL) or DEFAULT_CHANNEL)


def locale_from_language_code(language_code: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Telegram's `language_code` ("en", "en-US", "vi") to a supported locale."""
    if language_code and language_code.lower().startswith("en"):
        return "en"
    if language_code and language_code.lower().startswith("vi"):
        return "vi"
    return default
