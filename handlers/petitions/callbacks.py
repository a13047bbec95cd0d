"""Callback data of the citizen's petition dialogs (phản ánh, kiến nghị).

Every packed value must fit Telegram's 64-byte limit (tests/unit/test_petition_render.py packs
the longest values). Prefixes are short and start with "p"; the ones taken elsewhere ("po", "pp")
are avoided.

Buttons carry ids, never personal data. A form's buttons carry the form id (``form``): a button
of a form that was submitted or cancelled no longer does anything, and a petition's buttons are
checked against the chat that pressed them (only the sender's own chat may open or answer it).
"""

from __future__ import annotations

from enum import Enum

from aiogram.filters.callback_data import CallbackData


class PetitionMenuAction(str, Enum):
    MENU = "m"  # the petitions submenu
    NEW = "n"  # start a new petition
    RESUME = "c"  # continue the unfinished one
    MINE = "y"  # my petitions
    PUBLIC = "p"  # published answers (first page)


class PetitionMenu(CallbackData, prefix="pm"):
    action: PetitionMenuAction


class FormOp(str, Enum):
    CANCEL = "x"
    BACK = "b"
    SERVICE = "s"  # topic: the service at a centre (attitude, waiting, fees...)
    OTHER = "o"  # topic: another regulation
    FILES_DONE = "f"  # done with (or skip) attachments
    SUBMIT = "ok"
    EDIT = "e"  # show the "which field?" keyboard
    EDIT_FIELD = "ef"  # edit the field named in ``arg``
    REVIEW = "r"  # back to the review screen
    REWRITE = "w"  # write the content again (after a redirect)
    NEXT = "n"  # keep the value already given and go on


class FormAction(CallbackData, prefix="pf"):
    """A button of the petition form; ``form`` is the form's random id (stale forms do nothing)."""

    op: FormOp
    form: str
    arg: str = ""


class PetitionTopic(CallbackData, prefix="pt"):
    """Pick a procedure from the topic search results (the code is looked up in the catalog)."""

    code: str
    form: str


class PetitionView(CallbackData, prefix="pv"):
    """Open one of my petitions (only from the chat that sent it)."""

    id: int


class PetitionReply(CallbackData, prefix="pr"):
    """Answer an agency's request for more information about petition ``petition_id``.

    Put on the citizen's "more information needed" notification (rendered by the officials'
    side) and on the petition's status card; only the petition's own chat may use it.
    """

    petition_id: int


class ReplyAction(str, Enum):
    SEND = "s"  # send the files collected so far (no text)
    CANCEL = "x"


class ReplyOp(CallbackData, prefix="pq"):
    op: ReplyAction
    petition_id: int


class PublicList(CallbackData, prefix="pl"):
    """Page ``page`` (0-based) of the published answers."""

    page: int


class PublicOpen(CallbackData, prefix="pu"):
    """Read one published answer in full; ``page`` is the list page to go back to."""

    id: int
    page: int = 0
