"""Every text of the inbox's "Unanswered questions" page (``bot/web/inbox/misses.py``), in the
current locale (the page calls these inside the inbox's locale context). Plain text: the page
escapes it."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from knowledge.misses import MissKind


@dataclass(frozen=True)
class MissTexts:
    heading: str
    intro: str
    filter_kind: str
    filter_all_kinds: str
    col_question: str
    col_count: str
    col_kinds: str
    col_last_seen: str
    col_map: str
    map_code_label: str
    map_code_hint: str
    map_button: str
    map_pick_hint: str
    map_admins_only: str
    no_misses: str
    done_mapped: str  # {code}
    error_unknown_code: str  # {code}
    error_no_code: str
    error_too_general: str
    error_gone: str
    error_not_admin: str
    learned_now: str
    learned_later: str


def miss_texts() -> MissTexts:
    return MissTexts(
        heading=_("Unanswered questions"),
        intro=_(
            "Questions citizens asked that the assistant answered with nothing, with a weak "
            "result, or where they chose a lower result or asked again. Personal data is removed "
            "before a question is kept; who asked is not kept. Map a question to the procedure it "
            "asks for: the search learns the wording at once."
        ),
        filter_kind=_("Kind"),
        filter_all_kinds=_("All kinds"),
        col_question=_("Question"),
        col_count=_("Times"),
        col_kinds=_("Kind"),
        col_last_seen=_("Last asked"),
        col_map=_("Procedure it asks for"),
        map_code_label=_("Procedure code"),
        map_code_hint=_("e.g. 1.001193"),
        map_button=_("Map"),
        map_pick_hint=_("or pick a result of the search:"),
        map_admins_only=_("Only the agency's administrators can map questions."),
        no_misses=_("No unanswered questions."),
        done_mapped=_("The question is mapped to procedure {code}."),
        error_unknown_code=_("There is no procedure with the code “{code}” in the catalog."),
        error_no_code=_("Type a procedure code or pick one of the results."),
        error_too_general=_(
            "This question is too general (or too long) to become a wording of one procedure: "
            "the search would give that procedure to every question holding these words."
        ),
        error_gone=_("This question is no longer in the list."),
        error_not_admin=_("Only the agency's administrators can map questions."),
        learned_now=_("The search answers it with this procedure from now on."),
        learned_later=_("The search will use it from the next restart."),
    )


def kind_label(kind: str) -> str:
    labels = {
        MissKind.NOTHING.value: _("no result"),
        MissKind.LOW_CONFIDENCE.value: _("weak result"),
        MissKind.LOWER_PICK.value: _("lower result chosen"),
        MissKind.ASKED_AGAIN.value: _("asked again"),
    }
    return labels.get(kind, kind)


def times_text(count: int) -> str:
    return ngettext("{count} time", "{count} times", count).format(count=count)


def questions_text(count: int) -> str:
    return ngettext("{count} question", "{count} questions", count).format(count=count)
