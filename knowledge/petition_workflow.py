"""The petition life cycle as vocabulary and rules: statuses, actions, officials' roles, which
step an official may take in which status, who may see a sender's personal data, what a public
copy masks, and which agency answers for a petition.

Pure, no I/O: ``storage.repositories`` asks these functions before it writes, and the handlers
ask the same ones before they show a button. The enum values are the strings stored in the
database (``petitions.status``, ``petition_events.action``, ``officials.role``), so comparing
a stored string with a member works either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from knowledge.petitions import redact_personal_data, sender_strings


class PetitionStatus(StrEnum):
    """Where a petition is (``petitions.status``)."""

    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    INFO_REQUESTED = "info_requested"
    ANSWERED = "answered"
    PUBLISHED = "published"
    REFUSED = "refused"


STATUSES = tuple(PetitionStatus)
OPEN_STATUSES = (
    PetitionStatus.RECEIVED,
    PetitionStatus.IN_PROGRESS,
    PetitionStatus.INFO_REQUESTED,
)
CLOSED_STATUSES = (PetitionStatus.ANSWERED, PetitionStatus.PUBLISHED, PetitionStatus.REFUSED)


class PetitionAction(StrEnum):
    """What happened to a petition (``petition_events.action``, also the "action" of the
    citizen's notification)."""

    SUBMITTED = "submitted"
    TAKEN = "taken"
    INFO_REQUEST = "info_requested"
    INFO_PROVIDED = "info_provided"
    ANSWER = "answered"
    REFUSAL = "refused"
    PUBLICATION = "published"
    REROUTED = "rerouted"


# Which actions the citizen is told about (through the outbox).
CITIZEN_NOTIFIED = frozenset(
    {
        PetitionAction.TAKEN,
        PetitionAction.INFO_REQUEST,
        PetitionAction.ANSWER,
        PetitionAction.REFUSAL,
        PetitionAction.PUBLICATION,
    }
)


class AuditAction(StrEnum):
    """What the audit log records besides the petition steps (``PetitionAction``): looks at
    personal data, sign-ins, exports, administration. Values are the stored strings."""

    VIEW = "view"
    VIEW_DENIED = "view_denied"
    SEARCH = "search"
    EXPORT = "export"
    LOGIN_LINK = "login_link"
    LOGIN = "login"
    LOGOUT = "logout"
    SUBMIT = "submit"  # filed through Open311
    REROUTE = "reroute"
    AGENCY_SAVE = "agency_save"
    INVITE_CREATE = "invite_create"
    ENROLL = "enroll"
    ENROLL_FAILED = "enroll_failed"
    DEACTIVATE = "deactivate"


class EventActor(StrEnum):
    """Who caused an event (``petition_events.actor``)."""

    CITIZEN = "citizen"
    OFFICIAL = "official"
    SYSTEM = "system"  # the command line, or the bot itself


class AttachmentKind(StrEnum):
    """What a petition's attachment is (``petition_attachments.kind``)."""

    PHOTO = "photo"
    DOCUMENT = "document"
    URL = "url"  # a media URL given through Open311


class OfficialRole(StrEnum):
    """An official's role in their agency (``officials.role``)."""

    ADMIN = "admin"
    OFFICER = "officer"


ROLES = tuple(OfficialRole)


class Refusal(StrEnum):
    """Why a change is not allowed (``PetitionError.code``, for a message to the official)."""

    NOT_ALLOWED = "not_allowed"
    WRONG_STATUS = "wrong_status"
    SAME_AGENCY = "same_agency"
    EMPTY_TEXT = "empty_text"
    BAD_ROLE = "bad_role"
    INVITATION_INVALID = "invitation_invalid"


class PetitionError(Exception):
    """A change that is not allowed: ``code`` says why (for a message to the official)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or str(code))
        self.code = str(code)


@dataclass(frozen=True)
class Step:
    """One move of the life cycle: the statuses it starts from and the one it leads to."""

    allowed_from: tuple[PetitionStatus, ...]
    new_status: PetitionStatus


# The steps an official takes with a button or a command, by the event they record.
OFFICIAL_STEPS: dict[PetitionAction, Step] = {
    PetitionAction.TAKEN: Step((PetitionStatus.RECEIVED,), PetitionStatus.IN_PROGRESS),
    PetitionAction.INFO_REQUEST: Step(
        (PetitionStatus.RECEIVED, PetitionStatus.IN_PROGRESS), PetitionStatus.INFO_REQUESTED
    ),
    PetitionAction.ANSWER: Step(OPEN_STATUSES, PetitionStatus.ANSWERED),
    PetitionAction.REFUSAL: Step(OPEN_STATUSES, PetitionStatus.REFUSED),
    PetitionAction.PUBLICATION: Step((PetitionStatus.ANSWERED,), PetitionStatus.PUBLISHED),
}
# The citizen's reply to a request for information.
CITIZEN_REPLY = Step((PetitionStatus.INFO_REQUESTED,), PetitionStatus.IN_PROGRESS)
# Sending a petition to another agency: it starts again there.
REROUTE = Step(OPEN_STATUSES, PetitionStatus.RECEIVED)


class OfficialLike(Protocol):
    """What the rules read of an official (``storage.records.OfficialRecord`` has it)."""

    @property
    def agency_id(self) -> int: ...

    @property
    def active(self) -> bool: ...

    @property
    def role(self) -> str: ...


class PetitionLike(Protocol):
    """What the rules read of a petition (``storage.records.PetitionRecord`` has it)."""

    @property
    def agency_id(self) -> int: ...

    @property
    def status(self) -> str: ...


class SenderLike(Protocol):
    """The sender's personal data on a petition."""

    @property
    def sender_name(self) -> str | None: ...

    @property
    def address(self) -> str | None: ...

    @property
    def phone(self) -> str | None: ...

    @property
    def email(self) -> str | None: ...


# --- who may see and act -------------------------------------------------------------------


def can_see_personal_data(official: OfficialLike | None, petition: PetitionLike) -> bool:
    """Officials see the sender's name, phone, e-mail and address only for their own agency."""
    return official is not None and official.active and official.agency_id == petition.agency_id


def can_act_on(official: OfficialLike | None, petition: PetitionLike) -> bool:
    """Officials act only on their own agency's petitions (the same rule as seeing them)."""
    return can_see_personal_data(official, petition)


def step_refusal(
    official: OfficialLike | None, petition: PetitionLike, action: PetitionAction
) -> Refusal | None:
    """Why ``official`` may not take the step ``action`` (one of ``OFFICIAL_STEPS``) on the
    petition now, or None when they may. Not their agency's petition comes first."""
    if not can_act_on(official, petition):
        return Refusal.NOT_ALLOWED
    if petition.status not in OFFICIAL_STEPS[action].allowed_from:
        return Refusal.WRONG_STATUS
    return None


def reply_refusal(petition: PetitionLike) -> Refusal | None:
    """Why the citizen's reply with more information is not accepted now, or None."""
    if petition.status not in CITIZEN_REPLY.allowed_from:
        return Refusal.WRONG_STATUS
    return None


def reroute_refusal(
    official: OfficialLike | None, petition: PetitionLike, to_agency_id: int
) -> Refusal | None:
    """Why the petition may not go to agency ``to_agency_id`` now, or None. Only an admin of
    its current agency may send it on (``official`` None: the command line, always allowed);
    only an open petition moves, and never to the agency it is at."""
    if official is not None and (
        official.role != OfficialRole.ADMIN or not can_act_on(official, petition)
    ):
        return Refusal.NOT_ALLOWED
    if petition.status not in REROUTE.allowed_from:
        return Refusal.WRONG_STATUS
    if to_agency_id == petition.agency_id:
        return Refusal.SAME_AGENCY
    return None


def invitation_refusal(
    role: str, agency_id: int, created_by: OfficialLike | None
) -> Refusal | None:
    """Why an enrolment code for ``role`` in agency ``agency_id`` may not be made, or None.
    Only an admin of that agency (or the command line, ``created_by`` None) invites."""
    if role not in ROLES:
        return Refusal.BAD_ROLE
    if created_by is not None and (
        created_by.role != OfficialRole.ADMIN or created_by.agency_id != agency_id
    ):
        return Refusal.NOT_ALLOWED
    return None


def inviter_still_entitled(creator: OfficialLike | None, agency_id: int) -> bool:
    """An admin's codes are good only while the admin still is one of that agency: a removed
    (or moved) admin must not get back in with a code kept for later."""
    return (
        creator is not None
        and creator.active
        and creator.role == OfficialRole.ADMIN
        and creator.agency_id == agency_id
    )


# --- what public copies mask ---------------------------------------------------------------


def public_names(petition: SenderLike) -> list[str]:
    """The strings :func:`redact_personal_data` must mask in anything public about it."""
    return sender_strings(petition.sender_name, petition.address, petition.phone, petition.email)


def public_copies(petition: SenderLike, content: str, answer: str | None) -> tuple[str, str]:
    """The published copies of a petition's text and its answer: every personal string of the
    sender (name, address and its house number, phone however written, e-mail) masked, in the
    petition and in the official's answer alike."""
    names = public_names(petition)
    return (
        redact_personal_data(content, names=names),
        redact_personal_data(answer or "", names=names),
    )


def public_topic(topic: str | None, sender_name: str | None) -> str:
    """A published petition's topic with the sender's name masked."""
    return redact_personal_data(str(topic or ""), names=[str(sender_name)] if sender_name else [])


# --- which agency answers ------------------------------------------------------------------


class AgencyLike(Protocol):
    """What routing reads of an agency."""

    @property
    def procedure_codes(self) -> Sequence[str]: ...

    @property
    def sectors(self) -> Sequence[str]: ...


AgencyT = TypeVar("AgencyT", bound=AgencyLike)


def base_procedure_code(code: str) -> str:
    """A procedure code without its province suffix: 1.012753.H19 -> 1.012753."""
    parts = code.strip().split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 and parts[0].isdigit() else code.strip()


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def answering_agency(
    agencies: Iterable[AgencyT], procedure_code: str | None, sector: str | None
) -> AgencyT | None:
    """The agency answering for a procedure (exact code, then national code without the
    province suffix), else for its sector, in the given order; None: the default agency."""
    candidates = list(agencies)
    if procedure_code:
        wanted = procedure_code.strip().upper()
        for agency in candidates:
            if wanted in (c.upper() for c in agency.procedure_codes):
                return agency
        base = base_procedure_code(wanted)
        for agency in candidates:
            if base in (base_procedure_code(c.upper()) for c in agency.procedure_codes):
                return agency
    if sector:
        wanted_sector = _fold(sector)
        for agency in candidates:
            if wanted_sector in (_fold(s) for s in agency.sectors):
                return agency
    return None
