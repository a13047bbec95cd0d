"""The petition form as data: its steps (per channel), its topic kinds, and the FormData
kept in the conversation state so that a half-filled form survives a restart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

TOPIC = "topic"
CONTENT = "content"
FILES = "files"
NAME = "name"
CONTACT = "contact"
ADDRESS = "address"
REVIEW = "review"
ALL_STEPS = (TOPIC, CONTENT, FILES, NAME, CONTACT, ADDRESS, REVIEW)
EDITABLE = (TOPIC, CONTENT, FILES, NAME, CONTACT, ADDRESS)

TOPIC_PROCEDURE = "procedure"
TOPIC_SERVICE = "service"
TOPIC_OTHER = "other"
# What officials read as the topic when the citizen did not pick a procedure (officials work in
# Vietnamese; the citizen sees the label in their own language, see topic_label()).
SERVICE_TOPIC_TEXT = "Chất lượng phục vụ tại bộ phận một cửa (thái độ, thời gian chờ, phí…)"
OTHER_TOPIC_TEXT = "Quy định hành chính khác"


FILE_CHANNELS = frozenset({"telegram", "zalo"})
"""Where a citizen can send photos and files: Telegram (by file id) and Zalo (as links)."""


def steps_for(channel: str) -> tuple[str, ...]:
    """The form's steps: attachments only where files can be sent (not the web chat)."""
    return ALL_STEPS if channel in FILE_CHANNELS else tuple(s for s in ALL_STEPS if s != FILES)


@dataclass
class FormData:
    """A petition being written, kept in the conversation state (JSON) so it survives a restart.

    ``id`` is random per form: it makes the submission idempotent (a double tap or a re-delivered
    update finds the petition already stored under ``<channel>:<chat>:<id>``) and lets a form's
    buttons ignore presses that belong to an older form.
    """

    id: str
    topic_kind: str | None = None
    topic: str | None = None
    procedure_code: str | None = None
    sector: str | None = None
    content: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    files_done: bool = False
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    editing: bool = False  # came from the review screen: go back there after this field

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: object) -> FormData | None:
        """The form from the stored state; None when there is none or it is unreadable."""
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
            return None
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        if not isinstance(values.get("files", []), list):
            values["files"] = []
        values["files"] = [f for f in values.get("files", []) if isinstance(f, dict)]
        try:
            return cls(**values)
        except TypeError:
            return None

    def next_missing(self, channel: str) -> str:
        """The first step still to fill in (REVIEW when everything is there)."""
        for step in steps_for(channel):
            if step == TOPIC and not self.topic:
                return TOPIC
            if step == CONTENT and not self.content:
                return CONTENT
            if step == FILES and not (self.files_done or self.files):
                return FILES
            if step == NAME and not self.name:
                return NAME
            if step == CONTACT and not (self.phone or self.email):
                return CONTACT
            if step == ADDRESS and not self.address:
                return ADDRESS
        return REVIEW


def step_before(step: str, channel: str) -> str | None:
    steps = steps_for(channel)
    if step not in steps or steps.index(step) == 0:
        return None
    return steps[steps.index(step) - 1]
