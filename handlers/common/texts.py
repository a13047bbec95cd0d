"""Texts of the start of a conversation: the welcome, the menu, the help, the language choice,
the generic error and the channels' command menu (HTML, current locale)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from handlers.markup import quote, shorten
from handlers.procedures.render import search_examples


def welcome(first_name: str | None) -> str:
    greeting = (
        _("Hello {name}!").format(name=quote(shorten(first_name, 64)))
        if first_name
        else _("Hello!")
    )
    return "\n\n".join(
        [
            "👋 " + greeting,
            _(
                "I am the citizen assistant for public administrative procedures. I can tell you "
                "which documents to prepare, the steps, where to submit, the time limit and the fees."
            ),
            _("Type your question, for example “register a birth”, or choose below:"),
        ]
    )


def menu_prompt() -> str:
    return _("What can I help you with? Choose below or type your question.")


def help_text() -> str:
    return "\n\n".join(
        [
            "<b>" + _("ℹ️ How to use the assistant") + "</b>",
            _(
                "Describe what you need to do, and I will find the matching administrative procedures."
            ),
            _(
                "To check a dossier you submitted, send the code printed on your receipt; I will "
                "ask for the last 4 digits of your phone or ID number to protect your data."
            ),
            search_examples(),
            _(
                "Tap a result to see its card: documents to bring, steps, time limit and fees for "
                "each way of applying, the agency and the legal basis. Long cards have several pages."
            ),
            _(
                "To send feedback or a petition on an administrative procedure or regulation, or "
                "to follow one you sent, send /phananh (or tap “Feedback and petitions” in the menu)."
            ),
            _(
                "Commands:\n/start — main menu\n/hoso — dossier status by receipt code\n"
                "/phananh — feedback and petitions\n/help — this help\n/language — change the language"
            ),
            _(
                "This assistant gives information only; the agency that receives your dossier has the final say."
            ),
        ]
    )


def procedures_prompt() -> str:
    return "\n\n".join(
        [
            _("📚 Type the name of the procedure or describe what you need to do."),
            search_examples(),
        ]
    )


def language_prompt() -> str:
    return _("🌐 Choose your language:")


def language_changed() -> str:
    return _("✅ Language changed.")


def generic_error() -> str:
    return _("⚠️ Sorry, something went wrong on our side. Please try again in a moment.")


def bot_commands() -> list[tuple[str, str]]:
    """(command, description) pairs for the channel's command menu, in the current locale."""
    return [
        ("start", _("Main menu")),
        ("hoso", _("Dossier status by receipt code")),
        ("phananh", _("Feedback and petitions")),
        ("help", _("How to use the assistant")),
        ("language", _("Change the language")),
    ]
