"""Keyboards of the procedure search: results, "did you mean" phrases and a card's pages.
Button texts are shortened so they read well on a phone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.common.callbacks import Noop
from handlers.common.keyboards import main_menu_button
from handlers.formatting import format_number
from handlers.markup import shorten
from knowledge.models import Procedure

from .callbacks import CardPage, OpenProcedure, Suggestion, phrase_check
from .render import case_label, portal_url

BUTTON_TEXT_LIMIT = 60


def _result_label(i: int, p: Procedure, duplicate_names: set[str]) -> str:
    name = p.name
    if name in duplicate_names and p.levels:
        suffix = " · " + ", ".join(p.levels)
        return f"{format_number(i)}. " + shorten(name, BUTTON_TEXT_LIMIT - len(suffix)) + suffix
    return f"{format_number(i)}. " + shorten(name, BUTTON_TEXT_LIMIT)


def results(
    procedures: Sequence[Procedure], cases: Mapping[str, str] | None = None
) -> InlineKeyboardMarkup:
    """A button per procedure; one whose code is in ``cases`` is labelled by its case (a
    sibling: "Cấp lại", "Có yếu tố nước ngoài") before its name."""
    names = [p.name for p in procedures]
    duplicates = {n for n in names if names.count(n) > 1}
    kb = InlineKeyboardBuilder()
    for i, p in enumerate(procedures, 1):
        if cases and p.code in cases:
            label = f"{format_number(i)}. {case_label(cases[p.code])} · "
            text = label + shorten(p.name, max(10, BUTTON_TEXT_LIMIT - len(label)))
        else:
            text = _result_label(i, p, duplicates)
        kb.button(text=text, callback_data=OpenProcedure(code=p.code))
    kb.adjust(1)
    return kb.as_markup()


def suggestions(phrases: Sequence[str]) -> InlineKeyboardMarkup | None:
    if not phrases:
        return None
    kb = InlineKeyboardBuilder()
    for i, phrase in enumerate(phrases):
        kb.button(
            text="🔎 " + shorten(phrase, BUTTON_TEXT_LIMIT),
            callback_data=Suggestion(index=i, check=phrase_check(phrase)),
        )
    kb.adjust(1)
    return kb.as_markup()


def _page_button(text: str, p: Procedure, page: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=CardPage(code=p.code, page=page).pack())


def _page_row(p: Procedure, page: int, total: int) -> list[InlineKeyboardButton]:
    """‹ Previous · the page counter (display only) · Next ›"""
    counter = InlineKeyboardButton(
        text=f"{format_number(page + 1)}/{format_number(total)}", callback_data=Noop().pack()
    )
    row = [_page_button(_("‹ Previous"), p, page - 1)] if page > 0 else []
    row.append(counter)
    if page < total - 1:
        row.append(_page_button(_("Next ›"), p, page + 1))
    return row


def card(p: Procedure, page: int, total: int) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if total > 1:
        rows.append(_page_row(p, page, total))
    url = portal_url(p)
    if url:
        rows.append([InlineKeyboardButton(text=_("🔗 National portal"), url=url)])
    rows.append([main_menu_button()])
    return InlineKeyboardMarkup(inline_keyboard=rows)
