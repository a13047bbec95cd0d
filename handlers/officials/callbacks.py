"""Callback data of the officials' buttons. Every packed value fits Telegram's 64 bytes.

Buttons carry only ids and short codes: the official behind the chat is looked up again
(``filters.IsOfficial``) and each handler loads the petition again and checks the agency, so a
forged or stale button opens and changes nothing.
"""

from __future__ import annotations

from enum import Enum

from aiogram.filters.callback_data import CallbackData


class PetitionOp(str, Enum):
    OPEN = "o"  # show the card (a new message)
    REFRESH = "r"  # show the card again in place
    FILES = "f"  # re-send the attachments
    TEXT = "t"  # the full texts (content, answer, notes), split into messages
    TAKE = "k"
    ASK = "a"  # ask the citizen for more information (typed, previewed, confirmed)
    ANSWER = "n"
    REFUSE = "x"
    PUBLISH = "p"  # preview of the redacted public copy, then confirm
    REROUTE = "g"  # admins: choose another agency


class OfficialPetition(CallbackData, prefix="op"):
    """An action on petition ``id`` from its card or a notification."""

    op: PetitionOp
    id: int


class ListFilter(str, Enum):
    OPEN = "all"  # every open petition (received, in progress, waiting for the citizen)
    NEW = "new"  # received, nobody took it yet
    IN_PROGRESS = "prog"
    WAITING = "wait"  # waiting for the citizen's information
    ANSWERED = "ans"  # answered, awaiting publication


class OfficialList(CallbackData, prefix="ol"):
    """Page ``page`` (0-based) of the agency's petitions under ``kind``."""

    kind: ListFilter
    page: int


class ConfirmOp(str, Enum):
    SEND = "s"  # carry out the typed text (question, answer, refusal) kept in the FSM data
    EDIT = "e"  # type the text again
    CANCEL = "c"
    PUBLISH = "p"  # publish after the preview


class OfficialConfirm(CallbackData, prefix="oc"):
    """The confirm step of a typed action or of publishing petition ``id``."""

    op: ConfirmOp
    id: int


class OfficialReroute(CallbackData, prefix="og"):
    """Re-route petition ``id`` to agency ``agency``: ``confirm`` False asks, True does it."""

    id: int
    agency: int
    confirm: bool = False
