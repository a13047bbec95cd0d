"""What the repositories hand to the layers above: frozen snapshots of stored rows.

Handlers and web pages read these, never the SQLAlchemy rows: a record does not lazy-load, is
not expired by a rollback, and cannot be changed behind the repository's back (every change of a
petition goes through ``PetitionRepository``, which writes its event, audit entry and messages
with it). Field names are the column names, so the ``knowledge`` rules' Protocols fit them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Self


class _Record:
    """``of(row)``: the record of a row, field by field (the fields are column names)."""

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, Any]]

    @classmethod
    def of(cls, row: object) -> Self:
        return cls(**_columns(cls, row))


def _columns(cls: type[_Record], row: object) -> dict[str, Any]:
    return {name: getattr(row, name) for name in cls.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class AgencyRecord(_Record):
    """An agency that answers petitions (its routing lists as tuples)."""

    id: int
    code: str
    name: str
    sectors: tuple[str, ...]
    procedure_codes: tuple[str, ...]
    dossier_agency: str | None
    is_default: bool

    @classmethod
    def of(cls, row: object) -> Self:
        columns = _columns(cls, row)
        columns["sectors"] = tuple(columns["sectors"] or ())
        columns["procedure_codes"] = tuple(columns["procedure_codes"] or ())
        return cls(**columns)


@dataclass(frozen=True, slots=True)
class OfficialRecord(_Record):
    """An official of an agency, and the chat they work from."""

    id: int
    agency_id: int
    channel: str
    chat_id: str
    display_name: str
    role: str
    language: str | None
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class InvitationRecord(_Record):
    """A one-time enrolment invitation (its code is shown once and never stored)."""

    id: int
    agency_id: int
    role: str
    created_by: int | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by: int | None


@dataclass(frozen=True, slots=True)
class PetitionRecord(_Record):
    """A petition as stored: the sender's personal data included, so whoever shows it applies
    ``knowledge.petition_workflow.can_see_personal_data`` first."""

    id: int
    tracking_code: str
    year: int
    seq: int
    idempotency_key: str | None
    source: str
    channel: str | None
    chat_id: str | None
    language: str | None
    topic_kind: str
    procedure_code: str | None
    sector: str | None
    topic: str
    content: str
    sender_name: str
    phone: str | None
    email: str | None
    address: str
    latitude: float | None
    longitude: float | None
    agency_id: int
    status: str
    assigned_to: int | None
    received_at: datetime
    refuse_by: date
    info_by: date
    answer_by: date
    taken_at: datetime | None
    answered_at: datetime | None
    answer: str | None
    publish_by: date | None
    refused_at: datetime | None
    refusal_reason: str | None
    published_at: datetime | None
    public_content: str | None
    public_answer: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AttachmentRecord(_Record):
    """A photo, document or media URL sent with a petition (the bytes stay with the channel)."""

    id: int
    petition_id: int
    kind: str
    file_id: str
    file_name: str | None
    mime_type: str | None
    size: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EventRecord(_Record):
    """One step of a petition's life."""

    id: int
    petition_id: int
    action: str
    actor: str
    official_id: int | None
    note: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class AuditRecord(_Record):
    """One entry of the audit log: who viewed or did what, when, through which channel."""

    id: int
    at: datetime
    official_id: int | None
    actor: str
    action: str
    petition_id: int | None
    via: str
    details: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class PetitionChange:
    """What a step of the life cycle left: the petition as it is now, and the step's event."""

    petition: PetitionRecord
    event: EventRecord


@dataclass(frozen=True, slots=True)
class ZaloUserRecord(_Record):
    """A Zalo user of the OA and the chat id the dialogs know them by (``id``)."""

    id: int
    user_id: str
    display_name: str
    phone: str | None
    last_inbound_at: datetime | None
    window_replies: int
    last_message_id: int
    followed: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ZaloTokenRecord(_Record):
    """The Zalo OA's token pair as stored. The tokens stay out of ``repr`` (and so out of logs and
    test failure messages)."""

    app_id: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: datetime
    version: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SearchMissRecord(_Record):
    """One counted miss of the search (a text without personal data, its kind and channel)."""

    id: int
    text_key: str
    text: str
    kind: str
    channel: str
    count: int
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class LearnedPhrasingRecord(_Record):
    """A wording an official mapped to a procedure."""

    id: int
    text_key: str
    text: str
    code: str
    official_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MissGroup:
    """The misses of one text, every kind and channel together (what the inbox lists)."""

    text_key: str
    text: str
    count: int
    kinds: tuple[str, ...]  # most counted first
    channels: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
