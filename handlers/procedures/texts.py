"""What the procedure search says when there is nothing to search, nothing found behind a
button, or a message it cannot read (HTML, current locale)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from .render import search_examples


def non_text_message() -> str:
    return "\n\n".join(
        [
            _("📝 I can only read text messages for now, not stickers, photos, files or contacts."),
            _("Please type your question, for example “register a birth”."),
        ]
    )


def empty_message() -> str:
    return "\n\n".join([_("📝 Your message is empty."), search_examples()])


def no_words_message() -> str:
    return "\n\n".join(
        [
            _("🙂 I could not find any words in your message. Please type your question in words."),
            search_examples(),
        ]
    )


def unknown_command() -> str:
    return _("I do not know this command. Try /start for the menu or /help.")


def procedure_not_found() -> str:
    return _("This procedure is no longer in the catalog. Please search again.")


def suggestion_expired() -> str:
    return _("This suggestion has expired. Please type your question again.")


def stale_button() -> str:
    return _("This button is no longer valid. Please send /start to open the menu again.")
