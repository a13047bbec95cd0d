"""The inline and reply keyboards of the citizen's petition dialogs; every button's callback
data stays under Telegram's 64 bytes and its text under BUTTON_TEXT_LIMIT characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _

from handlers.common.callbacks import MenuAction, MenuCallback
from handlers.formatting import format_number
from handlers.markup import shorten
from knowledge.models import Procedure

from .callbacks import (
    FormAction,
    FormOp,
    PetitionMenu,
    PetitionMenuAction,
    PetitionReply,
    PetitionTopic,
    PetitionView,
    PublicList,
    PublicOpen,
    ReplyAction,
    ReplyOp,
)
from .form_data import EDITABLE, TOPIC_OTHER, TOPIC_SERVICE, steps_for
from .labels import (
    back_label,
    cancel_label,
    field_label,
    keep_label,
    share_contact_label,
    status_icon,
    status_label,
    topic_label,
)
from .public_item import PublicItem, page_count

BUTTON_TEXT_LIMIT = 60


def _button(text: str, data: Any) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=shorten(text, BUTTON_TEXT_LIMIT), callback_data=data.pack())


def _nav_row(form_id: str, *, back: bool = True) -> list[InlineKeyboardButton]:
    row = []
    if back:
        row.append(_button(back_label(), FormAction(op=FormOp.BACK, form=form_id)))
    row.append(_button(cancel_label(), FormAction(op=FormOp.CANCEL, form=form_id)))
    return row


def _keep_row(form_id: str, editing: bool) -> list[InlineKeyboardButton]:
    if editing:
        return [_button(_("↩️ Back to the review"), FormAction(op=FormOp.REVIEW, form=form_id))]
    return [_button(keep_label(), FormAction(op=FormOp.NEXT, form=form_id))]


def nav_keyboard(
    form_id: str, *, back: bool = True, keep: bool = False, editing: bool = False
) -> InlineKeyboardMarkup:
    """Back and Cancel; with ``keep``, a first row to keep the value already given."""
    rows = [_keep_row(form_id, editing)] if keep else []
    rows.append(_nav_row(form_id, back=back))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def petitions_menu(*, resume_step: int | None = None, total_steps: int = 0) -> InlineKeyboardMarkup:
    rows = []
    if resume_step is not None:
        rows.append(
            [
                _button(
                    _("▶️ Continue my unfinished petition (step {step} of {total})").format(
                        step=format_number(resume_step), total=format_number(total_steps)
                    ),
                    PetitionMenu(action=PetitionMenuAction.RESUME),
                )
            ]
        )
    rows += [
        [_button(_("✍️ Send a new petition"), PetitionMenu(action=PetitionMenuAction.NEW))],
        [_button(_("📋 My petitions"), PetitionMenu(action=PetitionMenuAction.MINE))],
        [_button(_("📢 Published answers"), PublicList(page=0))],
        [_button(_("🏠 Main menu"), MenuCallback(action=MenuAction.START))],
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def back_to_petitions() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("↩️ Petitions menu"), PetitionMenu(action=PetitionMenuAction.MENU))],
            [_button(_("🏠 Main menu"), MenuCallback(action=MenuAction.START))],
        ]
    )


def topic_keyboard(
    form_id: str,
    procedures: Sequence[Procedure] = (),
    *,
    keep: bool = False,
    editing: bool = False,
) -> InlineKeyboardMarkup:
    names = [p.name for p in procedures]
    rows = []
    for i, p in enumerate(procedures, 1):
        label = f"{format_number(i)}. "
        if names.count(p.name) > 1:  # the same name at several levels: say which one
            suffix = " · " + (", ".join(p.levels) if p.levels else p.code)
            label += shorten(p.name, BUTTON_TEXT_LIMIT - len(label) - len(suffix)) + suffix
        else:
            label += p.name
        rows.append([_button(label, PetitionTopic(code=p.code, form=form_id))])
    rows.append(
        [
            _button(
                "🏢 " + topic_label(TOPIC_SERVICE, None),
                FormAction(op=FormOp.SERVICE, form=form_id),
            )
        ]
    )
    rows.append(
        [_button("📜 " + topic_label(TOPIC_OTHER, None), FormAction(op=FormOp.OTHER, form=form_id))]
    )
    if keep:
        rows.append(_keep_row(form_id, editing))
    rows.append(_nav_row(form_id))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def files_keyboard(form_id: str, count: int) -> InlineKeyboardMarkup:
    label = (
        _("✅ Done ({count} attached)").format(count=format_number(count))
        if count
        else _("⏭ Skip, no attachments")
    )
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(label, FormAction(op=FormOp.FILES_DONE, form=form_id))],
            _nav_row(form_id),
        ]
    )


def redirect_keyboard(form_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("✏️ Rewrite my text"), FormAction(op=FormOp.REWRITE, form=form_id))],
            _nav_row(form_id),
        ]
    )


def contact_reply_keyboard(*, keep: bool = False) -> ReplyKeyboardMarkup:
    """Telegram only: share the own number with one tap; Back / Cancel (and Keep) as typed
    buttons, since one message cannot carry both a reply keyboard and inline buttons."""
    keyboard = [[KeyboardButton(text=share_contact_label(), request_contact=True)]]
    if keep:
        keyboard.append([KeyboardButton(text=keep_label())])
    keyboard.append([KeyboardButton(text=back_label()), KeyboardButton(text=cancel_label())])
    return ReplyKeyboardMarkup(
        keyboard=keyboard,
        resize_keyboard=True,
        one_time_keyboard=False,
        input_field_placeholder=_("0912 345 678 or name@example.com"),
    )


def review_keyboard(form_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("📨 Submit the petition"), FormAction(op=FormOp.SUBMIT, form=form_id))],
            [_button(_("✏️ Edit a field"), FormAction(op=FormOp.EDIT, form=form_id))],
            [_button(_("✖️ Cancel"), FormAction(op=FormOp.CANCEL, form=form_id))],
        ]
    )


def edit_keyboard(form_id: str, channel: str) -> InlineKeyboardMarkup:
    editable = [s for s in EDITABLE if s in steps_for(channel)]
    rows = [
        [_button("✏️ " + field_label(s), FormAction(op=FormOp.EDIT_FIELD, form=form_id, arg=s))]
        for s in editable
    ]
    rows.append([_button(_("↩️ Back to the review"), FormAction(op=FormOp.REVIEW, form=form_id))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def my_petitions_keyboard(petitions: Sequence[Any]) -> InlineKeyboardMarkup:
    rows = [
        [
            _button(
                f"{status_icon(p.status)} {p.tracking_code} · {status_label(p.status)}",
                PetitionView(id=p.id),
            )
        ]
        for p in petitions
    ]
    rows.append([_button(_("↩️ Petitions menu"), PetitionMenu(action=PetitionMenuAction.MENU))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def petition_keyboard(petition: Any) -> InlineKeyboardMarkup:
    rows = []
    if petition.status == "info_requested":
        rows.append(
            [_button(_("✍️ Reply with the information"), PetitionReply(petition_id=petition.id))]
        )
    rows.append([_button(_("🔄 Refresh"), PetitionView(id=petition.id))])
    rows.append([_button(_("📋 My petitions"), PetitionMenu(action=PetitionMenuAction.MINE))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def reply_keyboard(petition_id: int, files: int) -> InlineKeyboardMarkup:
    rows = []
    if files:
        rows.append(
            [
                _button(
                    _("📨 Send the {count} files without text").format(count=format_number(files)),
                    ReplyOp(op=ReplyAction.SEND, petition_id=petition_id),
                )
            ]
        )
    rows.append([_button(_("✖️ Cancel"), ReplyOp(op=ReplyAction.CANCEL, petition_id=petition_id))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def public_list_keyboard(
    items: Sequence[PublicItem], page: int, total: int
) -> InlineKeyboardMarkup:
    rows = [
        [_button(f"📄 {p.tracking_code} · {shorten(p.topic, 30)}", PublicOpen(id=p.id, page=page))]
        for p in items
    ]
    pages = page_count(total)
    nav = []
    if page > 0:
        nav.append(_button(_("‹ Previous"), PublicList(page=page - 1)))
    if page < pages - 1:
        nav.append(_button(_("Next ›"), PublicList(page=page + 1)))
    if nav:
        rows.append(nav)
    rows.append([_button(_("↩️ Petitions menu"), PetitionMenu(action=PetitionMenuAction.MENU))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def public_item_keyboard(page: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("↩️ Back to the list"), PublicList(page=page))],
            [_button(_("↩️ Petitions menu"), PetitionMenu(action=PetitionMenuAction.MENU))],
        ]
    )
